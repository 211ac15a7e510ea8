import { BmError, ErrorCode } from '../errors.js';
import { stateDirPath } from '../local/state-dir.js';
import type { PlanOp } from '../reconcile/plan-sync.js';
import { runSync, type ResolveRequest } from '../reconcile/run-sync.js';
import type { ClientSession } from '../client/client-session.js';
import { clientNames, withClient } from '../client/client-queries.js';
import { describeOp } from '../client/describe-records.js';
import { computeSyncExitCode } from './exit-codes.js';
import { computeRestoreHints } from '../client/hints.js';
import { renderJsonWithList } from './json-document.js';
import type { FolderOptions } from './options.js';
import type { Output } from './output.js';
import { SpilledList } from './spilled-list.js';
import { MAX_LISTED_OPS, renderSyncJson, summarizeSync } from './sync-report.js';
import { executeWatch } from './watch-loop.js';

/** A sync as `sync`, `resolve`, `subscribe` and `init` run it. */
export interface SyncCommandOptions extends FolderOptions {
  readonly dryRun?: boolean;
  readonly maxDelete?: number | undefined;
  readonly force?: boolean;
  readonly watch?: boolean;
  readonly interval?: number;
  readonly resolve?: ResolveRequest;
  /** `init`'s own report: with `--json`, the document holds it beside the sync's. */
  readonly init?: unknown;
}

/** One sync on an open session (each round of the watch loop opens its own, ADR-0028). */
async function syncWithSession(s: ClientSession, o: SyncCommandOptions, out: Output): Promise<number> {
  const ctx = { ...s.ctx, onProgress: (d: number, t: number) => out.progress(d, t, 'files') };
  // `--json` lists every op carried out: they go to a file as they are done, not into the
  // report (ADR-0013). Human output lists at most MAX_LISTED_OPS ops (and every local
  // delete): the report keeps only those, not one op per file of a first sync.
  const spill = o.json ? SpilledList.open(stateDirPath(s.root)) : undefined;
  try {
    const report = await runSync(ctx, {
      dryRun: o.dryRun === true,
      force: o.force === true,
      ...(o.maxDelete !== undefined ? { maxDelete: o.maxDelete } : {}),
      ...(o.resolve ? { resolve: o.resolve } : {}),
      ...(spill ? { keepApplied: 0, onApplied: (op: PlanOp) => spill.add(describeOp(op)) } : { keepApplied: MAX_LISTED_OPS }),
    });
    const names = await clientNames(s);
    if (spill) {
      const sync = renderSyncJson(report, names, spill.marker);
      out.document(renderJsonWithList(o.init ? { init: o.init, sync } : sync, spill.marker, spill.items()));
    } else {
      const place = { cwd: process.cwd(), root: s.root };
      const hints = await computeRestoreHints(s, report.dryRun ? [] : report.applied, place);
      out.result(false, undefined, () => summarizeSync(report, names, hints, place));
    }
    return computeSyncExitCode(report);
  } finally {
    spill?.close();
  }
}

/** `bm-log sync [--dry-run] [--max-delete N] [--force] [--watch [--interval S]]`. */
export async function runSyncCommand(o: SyncCommandOptions, out: Output): Promise<number> {
  if (!o.watch) return withClient(o.dir, (s) => syncWithSession(s, o, out));
  if (o.dryRun) throw new BmError(ErrorCode.usage, '--watch and --dry-run do not go together', 'drop one of them');
  return executeWatch(o.dir, o.interval ?? 60, (s) => syncWithSession(s, { ...o, watch: false }, out), out);
}
