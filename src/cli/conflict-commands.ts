import type { SyncPath } from '../events/sync-path.js';
import { listConflicts } from '../api/folder-queries.js';
import { withLocal } from '../client/client-queries.js';
import type { describeConflict } from '../client/describe-records.js';
import { ExitCode } from './exit-codes.js';
import { pasteable, pathArg, type CommandPlace } from '../client/hints.js';
import { displayName } from '../client/human-text.js';
import type { FolderOptions, ResolveFlags } from './options.js';
import type { Output } from './output.js';
import { runSyncCommand } from './sync-command.js';

type DescribedConflict = ReturnType<typeof describeConflict>;

/** The human lines of one open conflict: its versions, its copies and the commands that end it. Pure. */
function summarizeConflict(c: DescribedConflict, place: CommandPlace): string[] {
  const keepNow = pasteable(['resolve', pathArg(c.path)], place);
  const keepWinner = pasteable(['resolve', pathArg(c.path), '--keep', c.heads[0]!.version], place);
  return [
    `${displayName(c.path)} (${c.kind})`,
    ...(c.kind === 'file-versus-folder' ? [`  ${c.detail}`] : []),
    ...(c.notMerged === undefined ? [] : [`  not merged: ${c.notMergedDetail}`]),
    ...c.heads.map(
      (h, i) =>
        `  ${i === 0 ? 'winner' : 'other '} ${h.version}  ${h.type.padEnd(9)} by ${displayName(h.clientName ?? h.client)}  ${h.hash ?? '(deleted)'}  ${h.time}`,
    ),
    ...c.copies.map((p) => `  copy   ${displayName(p)}`),
    `  resolve: delete the copies and sync; or keep the file as it is now: \`${keepNow}\`; ` +
      `or keep one version: \`${keepWinner}\` (or another id above)`,
  ];
}

/** `bm-log conflicts`: the open conflicts with their versions. */
export async function runConflictsCommand(o: FolderOptions, out: Output): Promise<number> {
  return withLocal(o.dir, async (s) => {
    const list = await listConflicts(s);
    const place = { cwd: process.cwd(), root: s.root };
    out.result(o.json, { conflicts: list }, () =>
      list.length === 0 ? ['no open conflicts'] : list.flatMap((c) => summarizeConflict(c, place)),
    );
    return ExitCode.ok;
  });
}

/** `bm-log resolve PATH [--keep VERSION]`: a sync that ends the conflict at PATH. */
export async function runResolveCommand(path: SyncPath, o: ResolveFlags, out: Output): Promise<number> {
  return runSyncCommand({ dir: o.dir, json: o.json === true, resolve: { path, keep: o.keep ?? 'local' } }, out);
}
