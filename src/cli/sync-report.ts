import { countKinds } from '../reconcile/applied-ops.js';
import type { ConflictNote, PlanOp } from '../reconcile/plan-sync.js';
import type { SyncReport } from '../reconcile/run-sync.js';
import { describeConflict, describeFault, describeOp } from '../client/describe-records.js';
import { pasteable, type CommandPlace } from '../client/hints.js';
import { displayName } from '../client/human-text.js';

// A sync's report as `bm-log sync` prints it: human lines, or the `--json` document. Pure.

const OP_LABEL: Record<PlanOp['kind'], string> = {
  upload: 'upload',
  tombstone: 'delete for everyone',
  resolve: 'resolve conflict',
  merge: 'merge concurrent edits',
  follow: 'move an edit to the new name',
  download: 'download',
  deleteLocal: 'delete locally',
  writeCopy: 'write conflict copy',
  removeCopy: 'remove conflict copy',
  record: 'record',
  forget: 'forget',
};

/** Operations (other than local deletes) listed one per line in human output. */
export const MAX_LISTED_OPS = 200;

/** How much `sync` prints: `--quiet`, the default, `--verbose` (ADR-0025). */
export type Verbosity = 'quiet' | 'normal' | 'verbose';

/** True for the ops a person is shown (`record` and `forget` are bookkeeping). */
export function isShownOp(op: PlanOp): boolean {
  return op.kind !== 'record' && op.kind !== 'forget';
}

/** One op as a line of the report (`--verbose` prints each as it is carried out). */
export function describeOpLine(op: PlanOp, hint?: string): string {
  return `  ${OP_LABEL[op.kind].padEnd(22)} ${displayName(op.path)}${hint === undefined ? '' : `  (${hint})`}`;
}

/** The counts line of a sync that ran. */
function summarizeCounts(counts: SyncReport['appliedCounts'], eventsPublished: number): string {
  return (
    `synced: ${counts.upload} uploaded, ${counts.download} downloaded, ${counts.tombstone} deleted for everyone, ` +
    `${counts.deleteLocal} deleted locally, ${eventsPublished} event(s) published`
  );
}

/**
 * The operations, one a line: every local delete (each with its restore line), others up to
 * a screenful, then a count (`--json` lists them all). A sync keeps only those it lists
 * (`keepApplied`), so the count of the others comes from the report's counts.
 */
function summarizeOps(report: SyncReport, restoreHints: ReadonlyMap<string, string>, verbose: boolean): string[] {
  const lines: string[] = [];
  const ops = report.dryRun ? report.plan.ops : report.applied;
  const visible = ops.filter(isShownOp);
  if (report.dryRun) lines.push(`dry run: ${visible.length} operation(s) would run; nothing was changed`);
  // --verbose printed every op as it was carried out: here only local deletes, with their restore lines.
  const max = verbose && !report.dryRun ? 0 : MAX_LISTED_OPS;
  let listed = 0;
  for (const op of visible) {
    if (op.kind !== 'deleteLocal' && listed >= max) continue;
    if (op.kind !== 'deleteLocal') listed++;
    lines.push(describeOpLine(op, op.kind === 'deleteLocal' ? restoreHints.get(op.path) : undefined));
  }
  const counts = report.dryRun ? countKinds(ops) : report.appliedCounts;
  const others = counts.upload + counts.tombstone + counts.resolve + counts.download + counts.writeCopy + counts.removeCopy;
  if (others > listed && max > 0) lines.push(`  ... and ${others - listed} more (all of them: --json)`);
  if (!report.dryRun) lines.push(summarizeCounts(counts, report.eventsPublished));
  return lines;
}

/** What did not go as planned or needs the user: skipped files, notices, conflicts, restores, faults. */
function summarizeOutcome(report: SyncReport, names: ReadonlyMap<string, string>, place: CommandPlace): string[] {
  const lines: string[] = [];
  for (const s of report.skipped) lines.push(`  skipped ${displayName(s.path)}: ${s.detail}`);
  if (report.skipped.length > 0) {
    lines.push(
      `${report.skipped.length} operation(s) skipped: those files are not in sync; fix what is named above and sync again (exit 3)`,
    );
  }
  for (const n of report.notices) lines.push(`  note ${displayName(n.path)}: ${n.detail}`);
  for (const c of report.conflicts) {
    const d = describeConflict(c, names);
    const copies = d.copies.length > 0 ? `; copies: ${d.copies.map(displayName).join(', ')}` : '';
    lines.push(`  CONFLICT ${displayName(c.path)} (${c.kind}): ${c.detail}${copies}`);
  }
  if (report.conflicts.length > 0) {
    lines.push(
      `${report.conflicts.length} open conflict(s): resolve by deleting the copies and syncing, ` +
        `or see \`${pasteable(['conflicts'], place)}\` for the command that resolves each`,
    );
  }
  for (const r of report.restored)
    lines.push(`  RESTORED ${displayName(r)}: it had vanished from the remote; put back from this folder's copy`);
  const cp = report.checkpoint;
  if (cp) lines.push(`  checkpoint of this client's log written at seq ${cp.seq} (${cp.versions} version(s), ${cp.bytes} bytes)`);
  for (const f of report.faults) lines.push(`  INTEGRITY ${f.key}: ${f.error.message} (${f.error.code}); ${f.error.hint}`);
  lines.push(...describePendingJoiners(report, place));
  return lines;
}

/** Pure: a line per client that asks to join, shown by the sync that first saw its key (ADR-0032). */
export function describePendingJoiners(report: SyncReport, place: CommandPlace): string[] {
  return (report.pendingJoiners ?? []).map(
    (p) =>
      `  PENDING ${displayName(p.name)} (${p.client}, key ${p.fingerprint}) asks to join: run ` +
      `\`${pasteable(['members', 'add', p.name], place)}\` to admit it, after checking its key fingerprint (\`${pasteable(['members'], place)}\` lists pending clients)`,
  );
}

/** The human lines of a sync's report. */
export function summarizeSync(
  report: SyncReport,
  names: ReadonlyMap<string, string>,
  restoreHints: ReadonlyMap<string, string>,
  place: CommandPlace,
  verbosity: Verbosity = 'normal',
): string[] {
  if (verbosity === 'quiet') return summarizeQuiet(report, place);
  return [...summarizeOps(report, restoreHints, verbosity === 'verbose'), ...summarizeOutcome(report, names, place)];
}

/**
 * `--quiet`: only what is wrong, and what the exit code means: skipped files (exit 3),
 * integrity faults (exit 5), and open conflicts as one short line. Nothing when all went well.
 */
function summarizeQuiet(report: SyncReport, place: CommandPlace): string[] {
  const lines: string[] = [];
  for (const s of report.skipped) lines.push(`skipped ${displayName(s.path)}: ${s.detail}`);
  if (report.skipped.length > 0) lines.push(`${report.skipped.length} operation(s) skipped: those files are not in sync (exit 3)`);
  for (const f of report.faults) lines.push(`INTEGRITY ${f.key}: ${f.error.message} (${f.error.code}); ${f.error.hint}`);
  if (report.conflicts.length > 0) lines.push(`${report.conflicts.length} open conflict(s): \`${pasteable(['conflicts'], place)}\``);
  return lines;
}

/** What the rounds of a watch printed last: a round prints skipped files and faults again only when they changed. */
export interface WatchMemory {
  readonly skipped: string;
  readonly faults: string;
}

export const EMPTY_WATCH_MEMORY: WatchMemory = { skipped: '', faults: '' };

/**
 * One round of `sync --watch` as it prints: nothing when the round changed nothing and found
 * nothing new; else a line saying what happened (the watch stamps it with the time), then the
 * details: local deletes with their restore lines, new conflicts, skipped files and faults
 * when they differ from what the round before printed. Pure.
 */
export function summarizeWatchRound(
  report: SyncReport,
  memory: WatchMemory,
  fresh: { conflicts: readonly ConflictNote[]; names: ReadonlyMap<string, string>; restoreHints: ReadonlyMap<string, string> },
  place: CommandPlace,
): { lines: string[]; memory: WatchMemory } {
  const next: WatchMemory = {
    skipped: report.skipped.map((s) => `${s.path}\0${s.detail}`).join('\n'),
    faults: report.faults.map((f) => `${f.key}\0${f.error.code}`).join('\n'),
  };
  const c = report.appliedCounts;
  const changed = c.upload + c.download + c.tombstone + c.deleteLocal + c.resolve + c.writeCopy + c.removeCopy + report.restored.length > 0;
  const head: string[] = changed ? [summarizeCounts(c, report.eventsPublished)] : [];
  const details: string[] = [];
  for (const op of report.applied) if (op.kind === 'deleteLocal') details.push(describeOpLine(op, fresh.restoreHints.get(op.path)));
  for (const r of report.restored)
    details.push(`  RESTORED ${displayName(r)}: it had vanished from the remote; put back from this folder's copy`);
  if (fresh.conflicts.length > 0) {
    head.push(`${fresh.conflicts.length} new conflict(s), ${report.conflicts.length} open (\`${pasteable(['conflicts'], place)}\`)`);
    for (const k of fresh.conflicts) details.push(`  CONFLICT ${displayName(k.path)} (${k.kind}): ${k.detail}`);
  }
  if (next.skipped !== memory.skipped && report.skipped.length > 0) {
    head.push(`${report.skipped.length} operation(s) skipped: those files are not in sync`);
    for (const s of report.skipped) details.push(`  skipped ${displayName(s.path)}: ${s.detail}`);
  }
  if (next.faults !== memory.faults && report.faults.length > 0) {
    head.push(`${report.faults.length} integrity fault(s)`);
    for (const f of report.faults) details.push(`  INTEGRITY ${f.key}: ${f.error.message} (${f.error.code}); ${f.error.hint}`);
  }
  const pending = describePendingJoiners(report, place);
  if (pending.length > 0) {
    head.push(`${pending.length} client(s) ask to join`);
    details.push(...pending);
  }
  return { lines: head.length === 0 ? [] : [head.join('; '), ...details], memory: next };
}

/** The report as `--json` prints it; `applied` stands for the list of every op carried out. */
export function renderSyncJson(report: SyncReport, names: ReadonlyMap<string, string>, applied: unknown) {
  return {
    dryRun: report.dryRun,
    plan: report.plan.ops.map(describeOp),
    applied,
    appliedCounts: report.appliedCounts,
    skipped: report.skipped,
    conflicts: report.conflicts.map((c) => describeConflict(c, names)),
    notices: report.notices,
    faults: report.faults.map(describeFault),
    restored: report.restored,
    rounds: report.rounds,
    clean: report.clean,
    lazy: report.lazy,
    staged: report.staged,
    eventsPublished: report.eventsPublished,
    segmentsPublished: report.segmentsPublished,
    ackPublished: report.ackPublished,
    joinedFromCheckpoint: report.joinedFromCheckpoint,
    checkpoint: report.checkpoint,
    blobsUploaded: report.blobsUploaded,
    bytesUploaded: report.bytesUploaded,
    bytesDownloaded: report.bytesDownloaded,
    fetchRequests: report.fetchRequests,
    pendingJoiners: report.pendingJoiners ?? [],
  };
}
