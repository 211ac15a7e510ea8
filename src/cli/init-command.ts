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
 * `bm-log init --remote URL [--create]`: make a folder a client of the vault the remote holds
 * (or of a new one; the API's `initFolder`), then run the first sync unless `--no-sync`.
 */
export async function runInitCommand(o: InitFlags, out: Output): Promise<number> {
  const remote = o.join === undefined ? o.remote : computeInitRemote(o).remote;
  const createCommand = remote === undefined ? undefined : shellCommand(initArgs({ ...o, remote, create: true }));
  const info = await initFolder(o.dir ?? process.cwd(), { ...o, ...(createCommand !== undefined ? { createCommand } : {}) });
  const initialised = `initialised ${info.root} as client ${info.name} (${info.client}) of ${info.remote}`;
  if (!o.sync) {
    out.result(o.json, info, () => [initialised]);
    return ExitCode.ok;
  }
  if (!o.json) out.line(`${initialised}${info.newRemote ? ' (a new vault)' : ''}`);
  return runSyncCommand({ dir: info.root, json: o.json === true, init: info }, out);
}
