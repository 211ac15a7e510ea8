import { type BmError, ErrorCode, isBmError } from '../errors.js';
import type { ClientId } from '../events/ids.js';
import type { LogFault } from '../events/log.js';
import { FsTree } from '../local/fs-tree.js';
import { planSync, type ConflictNote, type PlanOp } from '../reconcile/plan-sync.js';
import { runSync } from '../reconcile/run-sync.js';
import { clientNames, loadProjection } from './client-queries.js';
import { connectRemote, openLocal, readScope, type ClientSession, type LocalSession } from './client-session.js';
import { describeConflict, describeFault, describeOp } from './describe-records.js';
import { ExitCode, computeExitCode, computeFaultsExitCode } from './exit-codes.js';
import { displayName } from './human-text.js';
import type { FolderOptions } from './options.js';
import type { Output } from './output.js';

/** What status reports on: the plan of a dry run, with the faults its fetch met. */
interface StatusPlan {
  readonly ops: readonly PlanOp[];
  readonly conflicts: readonly ConflictNote[];
  readonly faults: readonly LogFault[];
}

/**
 * Failures of the remote half: it cannot be reached, or refuses (credentials, bucket,
 * permissions). The local half was read before the remote was touched, so these never
 * come from this folder's own configuration.
 */
function isRemoteFailure(e: unknown): e is BmError {
  return isBmError(e, ErrorCode.remoteUnavailable, ErrorCode.config);
}

/**
 * The plan from this client's own records alone: its manifest, the folder as it is, and the
 * log as last fetched (no remote request). Local changes to publish and the conflicts known
 * here are exact; what others published since the last fetch is unknown.
 */
async function planFromLocalRecords(local: LocalSession): Promise<StatusPlan> {
  const manifest = await local.index.getManifest();
  const scope = await readScope(local.root, local.config);
  const scan = await new FsTree(local.root).scan(manifest, scope.isIgnored);
  const { projection } = await loadProjection(local);
  const names = await clientNames(local);
  const options = {
    subscriptions: local.config.subscriptions,
    isIgnored: scope.isIgnored,
    clientName: (c: string) => names.get(c) ?? c.slice(-6),
    self: local.config.clientId,
  };
  const plan = planSync({ base: manifest, local: scan, cloud: projection, options });
  return { ops: plan.ops, conflicts: plan.conflicts, faults: [] };
}

const LOCAL_KINDS: ReadonlySet<PlanOp['kind']> = new Set(['upload', 'tombstone', 'resolve']);
const REMOTE_KINDS: ReadonlySet<PlanOp['kind']> = new Set(['download', 'deleteLocal', 'writeCopy', 'removeCopy']);

/**
 * `bm-log status`: client, remote, last sync, pending changes, conflicts, other clients.
 * When the remote cannot be reached (or refuses), it still reports the local half from this
 * client's own records, says the remote part is unavailable and why, and exits with that
 * failure's code (3 for an unreachable remote: retry later) after printing it.
 */
export async function runStatusCommand(o: FolderOptions, out: Output): Promise<number> {
  const local = await openLocal(o.dir);
  let session: ClientSession | undefined;
  try {
    let plan: StatusPlan;
    let remoteError: BmError | undefined;
    try {
      session = await connectRemote(local);
      const report = await runSync(session.ctx, { dryRun: true, force: true });
      plan = { ops: report.plan.ops, conflicts: report.conflicts, faults: report.faults };
    } catch (e) {
      if (!isRemoteFailure(e)) throw e;
      remoteError = e;
      plan = await planFromLocalRecords(local);
    }
    await printStatus(local, session?.store.description ?? local.config.remote.url, plan, remoteError, o.json === true, out);
    if (remoteError !== undefined) {
      out.error(remoteError);
      return computeExitCode(remoteError.code);
    }
    return computeFaultsExitCode(plan.faults) ?? ExitCode.ok;
  } finally {
    await (session ?? local).close();
  }
}

/** Status as data (`--json`) and as lines; the local half always, the remote half when `remoteError` is undefined. */
async function printStatus(
  local: LocalSession,
  remote: string,
  plan: StatusPlan,
  remoteError: BmError | undefined,
  json: boolean,
  out: Output,
): Promise<void> {
  const { lastSeen } = await loadProjection(local);
  const names = await clientNames(local);
  const cursors = await local.index.getCursors();
  const lastSyncAt = (await local.index.getMeta<string>('lastSyncAt')) ?? null;
  const pendingLocal = plan.ops.filter((x) => LOCAL_KINDS.has(x.kind)).map(describeOp);
  const pendingRemote = plan.ops.filter((x) => REMOTE_KINDS.has(x.kind)).map(describeOp);
  const clients = [...names].map(([id, name]) => {
    const lastSeq = cursors.get(id as ClientId)?.seq ?? 0;
    return { id, name, self: id === local.config.clientId, lastSeq, lastSeen: lastSeen.get(id) ?? null };
  });
  const data = {
    root: local.root,
    client: { id: local.config.clientId, name: local.config.name },
    remote,
    /** False when the remote could not be reached: `pendingRemote` then holds only what the last fetch brought. */
    remoteAvailable: remoteError === undefined,
    remoteError: remoteError === undefined ? null : { code: remoteError.code, message: remoteError.message, hint: remoteError.hint },
    vault: local.config.vaultId,
    lastSyncAt,
    subscriptions: local.config.subscriptions,
    unsubscribed: local.config.unsubscribed,
    pendingLocal,
    pendingRemote,
    conflicts: plan.conflicts.map((c) => describeConflict(c, names)),
    faults: plan.faults.map(describeFault),
    clients,
  };
  const remoteLine =
    remoteError === undefined ? `${pendingRemote.length} remote change(s) to apply` : 'remote changes unknown (the remote is unavailable)';
  out.result(json, data, () => [
    `client   ${displayName(local.config.name)} (${local.config.clientId})`,
    `folder   ${local.root}`,
    `remote   ${remote}${remoteError === undefined ? '' : `  UNAVAILABLE (${remoteError.code}): what follows is from this folder's own records`}`,
    `last sync ${lastSyncAt ?? 'never'}`,
    `pending  ${pendingLocal.length} local change(s) to publish, ${remoteLine}`,
    ...pendingLocal.map((p) => `  local  ${String(p['kind'])} ${displayName(String(p['path']))}`),
    ...pendingRemote.map((p) => `  remote ${String(p['kind'])} ${displayName(String(p['path']))}`),
    `conflicts ${data.conflicts.length}${remoteError === undefined ? '' : ' (known here)'}`,
    ...data.conflicts.map((c) => `  ${displayName(c.path)} (${c.kind})`),
    ...data.faults.map((f) => `INTEGRITY ${displayName(f.object)}: ${f.message}`),
    'clients',
    ...clients.map(
      (c) => `  ${c.self ? '*' : ' '} ${displayName(c.name).padEnd(24)} ${c.id}  seq ${c.lastSeq}  last seen ${c.lastSeen ?? 'never'}`,
    ),
  ]);
}
