import { countKinds } from '../reconcile/applied-ops.js';
import type { PlanOp } from '../reconcile/plan-sync.js';
import type { SyncReport } from '../reconcile/run-sync.js';
import { describeConflict, describeFault, describeOp } from './describe-records.js';
import { pasteable, type CommandPlace } from './hints.js';
import { displayName } from './human-text.js';

// A sync's report as `bm-log sync` prints it: human lines, or the `--json` document. Pure.

const OP_LABEL: Record<PlanOp['kind'], string> = {
  upload: 'upload',
  tombstone: 'delete for everyone',
  resolve: 'resolve conflict',
  merge: 'merge concurrent edits',
  download: 'download',
  deleteLocal: 'delete locally',
  writeCopy: 'write conflict copy',
  removeCopy: 'remove conflict copy',
  record: 'record',
  forget: 'forget',
};

/** Operations (other than local deletes) listed one per line in human output. */
export const MAX_LISTED_OPS = 200;

/**
 * The operations, one a line: every local delete (each with its restore line), others up to
 * a screenful, then a count (`--json` lists them all). A sync keeps only those it lists
 * (`keepApplied`), so the count of the others comes from the report's counts.
 */
function summarizeOps(report: SyncReport, restoreHints: ReadonlyMap<string, string>): string[] {
  const lines: string[] = [];
  const ops = report.dryRun ? report.plan.ops : report.applied;
  const visible = ops.filter((o) => o.kind !== 'record' && o.kind !== 'forget');
  if (report.dryRun) lines.push(`dry run: ${visible.length} operation(s) would run; nothing was changed`);
  let listed = 0;
  for (const op of visible) {
    if (op.kind !== 'deleteLocal' && listed >= MAX_LISTED_OPS) continue;
    if (op.kind !== 'deleteLocal') listed++;
    const hint = op.kind === 'deleteLocal' ? restoreHints.get(op.path) : undefined;
    lines.push(`  ${OP_LABEL[op.kind].padEnd(22)} ${displayName(op.path)}${hint === undefined ? '' : `  (${hint})`}`);
  }
  const counts = report.dryRun ? countKinds(ops) : report.appliedCounts;
  const others = counts.upload + counts.tombstone + counts.resolve + counts.download + counts.writeCopy + counts.removeCopy;
  if (others > listed) lines.push(`  ... and ${others - listed} more (all of them: --json)`);
  if (!report.dryRun) {
    lines.push(
      `synced: ${counts.upload} uploaded, ${counts.download} downloaded, ${counts.tombstone} deleted for everyone, ` +
        `${counts.deleteLocal} deleted locally, ${report.eventsPublished} event(s) published`,
    );
  }
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
  return lines;
}

/** The human lines of a sync's report. */
export function summarizeSync(
  report: SyncReport,
  names: ReadonlyMap<string, string>,
  restoreHints: ReadonlyMap<string, string>,
  place: CommandPlace,
): string[] {
  return [...summarizeOps(report, restoreHints), ...summarizeOutcome(report, names, place)];
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
  };
}
