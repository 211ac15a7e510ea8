import { readFolderStatus, type FolderStatus } from '../api/folder-status.js';
import { openLocal } from '../client/client-session.js';
import { displayName, shellCommand } from '../client/human-text.js';
import { computeExitCode, computeFaultsExitCode, ExitCode } from './exit-codes.js';
import type { FolderOptions } from './options.js';
import type { Output } from './output.js';

/**
 * `bm-log status`: client, remote, last sync, pending changes, conflicts, other clients.
 * When the remote cannot be reached (or refuses), it still reports the local half from this
 * client's own records, says the remote part is unavailable and why, and exits with that
 * failure's code (3 for an unreachable remote: retry later) after printing it.
 */
export async function runStatusCommand(o: FolderOptions, out: Output): Promise<number> {
  const local = await openLocal(o.dir);
  try {
    const { remoteFailure, ...data } = await readFolderStatus(local);
    out.result(o.json === true, data, () => summarizeStatus(data));
    if (remoteFailure !== undefined) {
      out.error(remoteFailure);
      return computeExitCode(remoteFailure.code);
    }
    return computeFaultsExitCode(data.faults.map((f) => ({ error: { code: f.code } }))) ?? ExitCode.ok;
  } finally {
    await local.close();
  }
}

/** Status as human lines. Pure. */
function summarizeStatus(data: FolderStatus): string[] {
  const unavailable = data.remoteError !== null;
  const remoteLine = !unavailable
    ? `${data.pendingRemote.length} remote change(s) to apply`
    : 'remote changes unknown (the remote is unavailable)';
  return [
    `client   ${displayName(data.client.name)} (${data.client.id})`,
    `folder   ${data.root}`,
    `remote   ${data.remote}${data.remoteError === null ? '' : `  UNAVAILABLE (${data.remoteError.code}): what follows is from this folder's own records`}`,
    `last sync ${data.lastSyncAt ?? 'never'}`,
    `pending  ${data.pendingLocal.length} local change(s) to publish, ${remoteLine}`,
    ...data.pendingLocal.map((p) => `  local  ${String(p['kind'])} ${displayName(String(p['path']))}`),
    ...data.pendingRemote.map((p) => `  remote ${String(p['kind'])} ${displayName(String(p['path']))}`),
    `conflicts ${data.conflicts.length}${!unavailable ? '' : ' (known here)'}`,
    ...data.conflicts.map((c) => `  ${displayName(c.path)} (${c.kind})`),
    ...data.faults.map((f) => `INTEGRITY ${displayName(f.object)}: ${f.message}`),
    'clients',
    ...data.clients.map(
      (c) => `  ${c.self ? '*' : ' '} ${displayName(c.name).padEnd(24)} ${c.id}  seq ${c.lastSeq}  last seen ${c.lastSeen ?? 'never'}`,
    ),
    ...(data.pendingJoiners.length === 0 ? [] : ['pending joiners (an admin admits each after checking its key fingerprint)']),
    ...data.pendingJoiners.map(
      (p) => `    ${displayName(p.name).padEnd(24)} ${p.client}  ${p.fingerprint}  \`${shellCommand(['members', 'add', p.name])}\``,
    ),
  ];
}
