import type { SyncPath } from '../events/sync-path.js';
import type { MergePolicy } from '../merge/merge-policy.js';
import type { Projection } from '../projections/project-paths.js';
import { computeOpenConflicts, type ConflictNote } from '../reconcile/conflict-notes.js';
import { computeMergeCandidate } from '../reconcile/path-merge.js';
import { computeVaultMergePolicy } from '../reconcile/sync/merge-stage.js';
import { clientNames, loadProjection, withLocal } from './client-queries.js';
import { describeConflict } from './describe-records.js';
import { ExitCode } from './exit-codes.js';
import { pasteable, pathArg, type CommandPlace } from './hints.js';
import { displayName } from './human-text.js';
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

/**
 * Why a conflict's heads were not merged, from the log alone (no bytes are read, so this works
 * offline): the policy, a delete, the size, the ancestry or the modes; otherwise their lines
 * (overlapping or adjacent changes, or not text: a sync reports which).
 */
function withMergeReason(c: ConflictNote, projection: Projection, policy: MergePolicy): ConflictNote {
  const st = projection.get(c.path);
  if (c.heads.length < 2 || st === undefined || c.kind === 'file-versus-folder') return c;
  const r = computeMergeCandidate(c.path, st, c.heads, policy);
  const why =
    'kind' in r && r.kind === 'refused'
      ? { notMerged: r.reason, notMergedDetail: r.detail }
      : {
          notMerged: 'content' as const,
          notMergedDetail: `the versions overlap or are not text (\`bm-log diff ${pathArg(c.path)}\` shows each against their ancestor)`,
        };
  return { ...c, ...why };
}

/** `bm-log conflicts`: the open conflicts with their versions. */
export async function runConflictsCommand(o: FolderOptions, out: Output): Promise<number> {
  return withLocal(o.dir, async (s) => {
    const { projection } = await loadProjection(s);
    const names = await clientNames(s);
    const policy = computeVaultMergePolicy();
    const list = computeOpenConflicts(projection).map((c) => describeConflict(withMergeReason(c, projection, policy), names));
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
