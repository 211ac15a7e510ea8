import { BmError, ErrorCode } from '../errors.js';
import { stateDirPath } from '../local/state-dir.js';
import type { PlanOp } from '../reconcile/plan-sync.js';
import type { ResolveRequest, SyncReport } from '../reconcile/run-sync.js';
import { executeFolderSync } from '../api/folder-sync.js';
import type { ClientSession } from '../client/client-session.js';
import { clientNames, withClient } from '../client/client-queries.js';
import { executeConflictNotice, takeNewConflicts } from './conflict-notice.js';
import { describeOp } from '../client/describe-records.js';
import { computeSyncExitCode } from './exit-codes.js';
import { computeRestoreHints } from '../client/hints.js';
import { renderJsonWithList } from './json-document.js';
import type { FolderOptions } from './options.js';
import type { Output } from './output.js';
import { SpilledList } from './spilled-list.js';
import {
  describeOpLine,
  EMPTY_WATCH_MEMORY,
  isShownOp,
  MAX_LISTED_OPS,
  renderSyncJson,
  summarizeSync,
  summarizeWatchRound,
  type Verbosity,
  type WatchMemory,
} from './sync-report.js';
import { executeWatch, type RoundOutcome } from './watch-loop.js';

/** A sync as `sync`, `resolve`, `subscribe` and `init` run it. */
export interface SyncCommandOptions extends FolderOptions {
  readonly dryRun?: boolean;
  readonly maxDelete?: number | undefined;
  readonly force?: boolean;
  readonly watch?: boolean;
  readonly interval?: number;
  readonly resolve?: ResolveRequest;
  /** `--quiet`: only errors, what the exit code means, and a short line for open conflicts. */
  readonly quiet?: boolean;
  /** `--verbose`: one line per file action, as it is carried out. */
  readonly verbose?: boolean;
  /** `init`'s own report: with `--json`, the document holds it beside the sync's. */
  readonly init?: unknown;
}

function verbosityOf(o: SyncCommandOptions): Verbosity {
  if (o.quiet && o.verbose) throw new BmError(ErrorCode.usage, '--quiet and --verbose do not go together', 'drop one of them');
  return o.quiet ? 'quiet' : o.verbose ? 'verbose' : 'normal';
}

/** What one sync of a watch leaves for the next (undefined: not in a watch). */
interface WatchState {
  memory: WatchMemory;
}

/** One sync on an open session (each round of the watch loop opens its own, ADR-0028). */
async function syncWithSession(s: ClientSession, o: SyncCommandOptions, out: Output, watch?: WatchState): Promise<RoundOutcome> {
  const verbosity = verbosityOf(o);
  // A progress display on a terminal, never with --json or --quiet (ADR-0025).
  const progress = o.json || verbosity === 'quiet' ? undefined : out.startProgress();
  // `--json` lists every op carried out: they go to a file as they are done, not into the
  // report (ADR-0013). Human output lists at most MAX_LISTED_OPS ops (and every local
  // delete): the report keeps only those, not one op per file of a first sync.
  const spill = o.json ? SpilledList.open(stateDirPath(s.root)) : undefined;
  const onApplied = spill
    ? (op: PlanOp) => spill.add(describeOp(op))
    : verbosity === 'verbose'
      ? (op: PlanOp) => isShownOp(op) && out.line(describeOpLine(op))
      : undefined;
  try {
    const report = await executeFolderSync(s, {
      dryRun: o.dryRun === true,
      force: o.force === true,
      ...(o.maxDelete !== undefined ? { maxDelete: o.maxDelete } : {}),
      ...(o.resolve ? { resolve: o.resolve } : {}),
      keepApplied: spill ? 0 : MAX_LISTED_OPS,
      ...(onApplied ? { onApplied } : {}),
      ...(progress ? { progress } : {}),
    });
    out.endProgress();
    const names = await clientNames(s);
    const fresh = report.dryRun ? [] : await takeNewConflicts(s.ctx.index, report.conflicts);
    const place = { cwd: process.cwd(), root: s.root };
    let lines: string[] = [];
    if (spill) {
      const sync = renderSyncJson(report, names, spill.marker);
      out.document(renderJsonWithList(o.init ? { init: o.init, sync } : sync, spill.marker, spill.items()));
    } else {
      const hints = await computeRestoreHints(s, report.dryRun ? [] : report.applied, place);
      if (watch === undefined) out.result(false, undefined, () => summarizeSync(report, names, hints, place, verbosity));
      else if (verbosity !== 'quiet' || report.skipped.length + report.faults.length + fresh.length > 0) {
        const round = summarizeWatchRound(report, watch.memory, { conflicts: fresh, names, restoreHints: hints }, place);
        watch.memory = round.memory;
        lines = round.lines;
      }
    }
    await executeConflictNotice(fresh, s.root, out);
    return { code: computeSyncExitCode(report), lines, ...computeFolderState(report) };
  } finally {
    out.endProgress();
    spill?.close();
  }
}

/** What a finished sync says of the folder, for the watch's last word. */
function computeFolderState(report: SyncReport): Pick<RoundOutcome, 'openConflicts' | 'skipped'> {
  return { openConflicts: report.conflicts.length, skipped: report.skipped.length };
}

/** `bm-log sync [--dry-run] [--max-delete N] [--force] [--quiet|--verbose] [--watch [--interval S]]`. */
export async function runSyncCommand(o: SyncCommandOptions, out: Output): Promise<number> {
  verbosityOf(o);
  if (!o.watch) return withClient(o.dir, async (s) => (await syncWithSession(s, o, out)).code);
  if (o.dryRun) throw new BmError(ErrorCode.usage, '--watch and --dry-run do not go together', 'drop one of them');
  const watch: WatchState = { memory: EMPTY_WATCH_MEMORY };
  return executeWatch(o.dir, o.interval ?? 60, (s) => syncWithSession(s, { ...o, watch: false }, out, watch), out, {
    json: o.json === true,
  });
}
