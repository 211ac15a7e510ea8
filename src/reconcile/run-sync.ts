import type { VersionId } from '../events/ids.js';
import { createSnapshotFallback, planContentSnapshots } from './snapshot-reads.js';
import type { SyncPath } from '../events/sync-path.js';
import { computeHeads } from '../projections/project-paths.js';
import { AppliedOps } from './applied-ops.js';
import { DETACHED_OWN_KEY } from './ports.js';
import type { SyncContext } from './sync-context.js';
import type { ExecuteEnv } from './sync/execute-plan.js';
import { fetchStage, tryCleanShortcut } from './sync/fetch.js';
import { acknowledgeStage, checkpointStage, commitStage } from './sync/finish.js';
import { isBeingCollected, publishEvents, publishResolve, publishRestore, type PublishEnv } from './sync/publish.js';
import { createTally, type SyncOptions, type SyncReport } from './sync/report.js';
import { computeConflictsWithReasons, rememberRefusals } from './sync/merge-stage.js';
import { runRounds } from './sync/rounds.js';
import { openSyncState, StagedMode } from './sync/sync-state.js';
import { computeHeldBack } from '../members/counted-events.js';
import type { OpenLog } from './sync-log.js';
import { executeNoticePending } from './member-state.js';
import type { ClientKey } from '../events/log.js';
import type { MemberState } from '../members/project-members.js';

export { openUploadSource } from './sync/execute-plan.js';
export { DEFAULT_MAX_DELETE, DEFAULT_MAX_DELETE_RATIO } from './sync/report.js';
export type { ExpectedVersion, ResolveRequest, RestoreRequest, Skipped, SyncOptions, SyncReport } from './sync/report.js';

/**
 * One sync, as a pipeline of stages (ADR-0023; docs/architecture.md): fetch and verify new
 * events → the clean-state shortcut, or open the state (full, lazy or staged) → publish a
 * resolve or restore → plan and execute in rounds until the plan is empty → acknowledge →
 * checkpoint → commit the clean-state record. Each stage is a function in src/reconcile/sync/.
 */
export async function runSync(ctx: SyncContext, options: SyncOptions = {}): Promise<SyncReport> {
  const dryRun = options.dryRun === true;
  const publishing = options.resolve !== undefined || options.restore !== undefined;
  ctx.onProgress?.({ kind: 'phase', phase: 'fetch' });
  const fetched = await fetchStage(ctx, { dryRun, publishing });
  const clean = await tryCleanShortcut(ctx, fetched, dryRun);
  const newKeys = [...fetched.fetched.joinKeys, ...fetched.fetched.fetched.newKeys];
  if (clean !== undefined) return withPendingJoiners(ctx, clean, newKeys, undefined);

  const opened = await openSyncState(ctx, fetched.record, fetched.fetched, { dryRun, publishing });
  const { state } = opened;
  for (const id of (await ctx.index.getMeta?.<string[]>(DETACHED_OWN_KEY)) ?? []) state.detachedOwn.add(id);
  if (fetched.record !== undefined) rememberRefusals(state.merges, fetched.record.conflicts);
  const tally = createTally();
  const applied = new AppliedOps(options.keepApplied, options.onApplied);
  const publishEnv: PublishEnv = { ctx, log: state.log, tally, detached: state.detachedOwn };
  if (options.resolve && !dryRun) await publishResolve(publishEnv, options.resolve);
  if (options.restore && !dryRun) await publishRestore(publishEnv, options.restore);

  const exec: ExecuteEnv = {
    ctx,
    publish: (events) => publishEvents(publishEnv, events),
    isBeingCollected: (hash) => isBeingCollected(publishEnv, hash),
    fallbackFor: (p, content) =>
      createSnapshotFallback(ctx.snapshots, planContentSnapshots(state.log.baseline, state.projection.get(p), content.hash)),
    headIds: (p: SyncPath): VersionId[] => {
      const st = state.projection.get(p);
      return st ? computeHeads(st).map((h) => h.id) : [];
    },
    tally,
    applied,
    ...computeHeldBackOf(ctx, state.log),
  };
  const run = await runRounds({ opened, exec, options }, fetched.record);
  // A sync in stages that never folded everything: its last plan covered one stage.
  const mode = state.mode;
  const settled =
    mode instanceof StagedMode && run.lastScan !== undefined ? mode.computeSettledPlan(run.lastPlan!, run.lastScan) : run.lastPlan;

  ctx.onProgress?.({ kind: 'phase', phase: 'finish' });
  await acknowledgeStage(state, tally);
  await checkpointStage(state, tally);
  await commitStage(state, settled, run.lastScan);
  return withPendingJoiners(
    ctx,
    {
      clean: false,
      lazy: state.openedAs === 'lazy' && state.mode.kind === 'lazy',
      staged: mode.kind === 'staged',
      plan: run.firstPlan!,
      rounds: run.rounds,
      ...tally,
      applied: applied.kept,
      appliedCounts: applied.counts,
      appliedOmitted: applied.omitted,
      conflicts: computeConflictsWithReasons(settled?.conflicts ?? [], state.merges),
      faults: state.lateFaults.length === 0 ? state.log.faults : [...state.log.faults, ...state.lateFaults],
      restored: state.fetched.restored,
      fetchRequests: state.log.requests,
      joinedFromCheckpoint: state.log.joinedNow,
      dryRun,
    },
    newKeys,
    state.log.state.members,
  );
}

/** The report with the pending joiners this sync shows (ADR-0032). */
async function withPendingJoiners(
  ctx: SyncContext,
  report: SyncReport,
  newKeys: readonly ClientKey[],
  members: MemberState | undefined,
): Promise<SyncReport> {
  const pendingJoiners = await executeNoticePending(ctx.index, newKeys, { members, dryRun: report.dryRun });
  return pendingJoiners.length === 0 ? report : { ...report, pendingJoiners };
}

/** `ExecuteEnv.heldBack` for this client's next segment, in a vault with members (ADR-0021). */
function computeHeldBackOf(ctx: SyncContext, log: OpenLog): { heldBack?: string } {
  const self = ctx.identity.client;
  const held = computeHeldBack(log.state.members, self, (log.frontier.get(self)?.seq ?? 0) + 1, ctx.identity.name);
  return held === undefined ? {} : { heldBack: held };
}
