import { BmError, ErrorCode } from '../errors.js';
import { mustSyncPath } from '../events/sync-path.js';
import { withClient } from '../client/client-queries.js';
import { executeDiff, type DiffTarget } from '../api/diff-versions.js';
import { ExitCode } from './exit-codes.js';
import type { FolderOptions } from './options.js';
import type { Output } from './output.js';

/*
 * `bm-log diff` (issue 22): a shell over the API's diff (src/api/diff-versions.ts). `diff
 * PATH`: the file here against the version it was synced from; for an open conflict, each
 * head against the heads' common ancestor. `diff PATH --from V --to V` (either defaults as
 * before); `diff V1 V2`: any two versions.
 */

export interface DiffFlags extends FolderOptions {
  readonly from?: string;
  readonly to?: string;
}

/** `bm-log diff PATH [--from V] [--to V]` or `bm-log diff V1 V2`. */
export async function runDiffCommand(args: readonly string[], o: DiffFlags, out: Output): Promise<number> {
  if (args.length < 1 || args.length > 2)
    throw new BmError(ErrorCode.usage, 'diff takes a PATH, or two versions', 'for example: bm-log diff notes/plan.md');
  return withClient(o.dir, async (s) => {
    const target: DiffTarget =
      args.length === 2
        ? { versions: [args[0]!, args[1]!] }
        : { path: mustSyncPath(args[0]!.replace(/^\.\//, '')), from: o.from, to: o.to };
    const diffs = await executeDiff(s, target);
    out.result(o.json, { diffs }, () =>
      diffs.flatMap((d) => (d.binary ? [`binary files ${d.from} and ${d.to} differ`] : d.text.split('\n'))),
    );
    return ExitCode.ok;
  });
}
