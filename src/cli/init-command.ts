import { computeInitRemote, initFolder } from '../api/init-folder.js';
import { ExitCode } from './exit-codes.js';
import { shellCommand } from '../client/human-text.js';
import type { InitFlags } from './options.js';
import type { Output } from './output.js';
import { runSyncCommand } from './sync-command.js';

/** The arguments of an `init` with these flags (for a hint that repeats the command with a change). Pure. */
function initArgs(o: InitFlags & { remote: string }): string[] {
  return [
    'init',
    ...(o.create ? ['--create'] : []),
    ...(o.encrypt === true ? ['--encrypt'] : []),
    ...['--remote', o.remote],
    ...(o.name !== undefined ? ['--name', o.name] : []),
    ...(o.endpoint !== undefined ? ['--endpoint', o.endpoint] : []),
    ...(o.region !== undefined ? ['--region', o.region] : []),
    ...(o.pathStyle ? ['--path-style'] : []),
    ...(o.sync ? [] : ['--no-sync']),
    ...(o.dir !== undefined ? ['--dir', o.dir] : []),
  ];
}

/**
/** What a joiner of an encrypted vault is told. Pure. */
function computeWaitingLine(name: string, fingerprint: string): string {
  const admit = shellCommand(['members', 'add', name]);
  const then = 'then run `bm-log sync`';
  return `this vault is end-to-end encrypted: an admin admits this client with \`${admit}\` after checking its key fingerprint ${fingerprint}; ${then}`;
}

/** Pure: what a joiner of a vault with members is told (ADR-0032): it waits for an admin, who checks this fingerprint. */
export function computePendingJoinLine(name: string, fingerprint: string): string {
  return (
    `this client waits to be admitted (its changes are held back until then): its key fingerprint is ${fingerprint}; ` +
    `give it to an admin, who checks it and runs \`${shellCommand(['members', 'add', name])}\``
  );
}

/**
 * `bm-log init --remote URL [--create]`: make a folder a client of the vault the remote holds
 * (or of a new one; the API's `initFolder`), then run the first sync unless `--no-sync`.
 */
export async function runInitCommand(o: InitFlags, out: Output): Promise<number> {
  const remote = o.join === undefined ? o.remote : computeInitRemote(o).remote;
  const createCommand = remote === undefined ? undefined : shellCommand(initArgs({ ...o, remote, create: true }));
  const { waitingFingerprint, ...info } = await initFolder(o.dir ?? process.cwd(), {
    ...o,
    ...(createCommand !== undefined ? { createCommand } : {}),
  });
  // A joiner of an encrypted vault holds no content key until an admin admits it (ADR-0031): nothing to sync yet.
  const waiting =
    waitingFingerprint !== undefined
      ? [computeWaitingLine(info.name, waitingFingerprint)]
      : info.pending
        ? [computePendingJoinLine(info.name, info.fingerprint)]
        : [];
  const admin = `this client is the vault's admin: a client that joins waits until you run \`${shellCommand(['members', 'add', 'NAME'])}\``;
  const initialised = [
    `initialised ${info.root} as client ${info.name} (${info.client}) of ${info.remote}${info.newRemote ? ' (a new vault)' : ''}`,
    ...(info.newRemote ? [admin] : []),
    ...waiting,
  ];
  if (!o.sync || waitingFingerprint !== undefined) {
    out.result(o.json, info, () => initialised);
    return ExitCode.ok;
  }
  if (!o.json) for (const line of initialised) out.line(line);
  return runSyncCommand({ dir: info.root, json: o.json === true, init: info }, out);
}
