import type { ByteParts } from '../../events/codec.js';
import { isAckDue } from '../../projections/project-vault.js';
import type { CleanState } from '../clean-state.js';
import { checkOwnCheckpointDue, executeOwnCheckpoint, executeOwnCheckpointInRanges } from '../own-checkpoint.js';
import type { Plan } from '../plan-sync.js';
import { CLEAN_STATE_KEY, type ScanResult } from '../ports.js';
import { publishOwnSegment } from '../sync-log.js';
import { computeConflictsWithReasons } from './merge-stage.js';
import type { SyncTally } from './report.js';
import type { SyncState } from './sync-state.js';

/*
 * The stages after the rounds (ADR-0023): acknowledge, checkpoint this client's own log, and
 * commit the clean-state record.
 */

/**
 * A sync that folded other clients' events its own log has not yet shown as seen says so with
 * an empty segment, so GC can learn that every active client has them (ADR-0007).
 */
export async function acknowledgeStage(state: SyncState, tally: SyncTally): Promise<void> {
  const { ctx, log } = state;
  if (state.dryRun || !isAckDue(log.state.vault, ctx.identity.client)) return;
  await publishOwnSegment(ctx, log, [], log.baseline);
  tally.segmentsPublished++;
  tally.ackPublished = true;
}

/**
 * Checkpoints this client's own log once it has grown enough since the last one, so that a new
 * client reads that instead of the log (ADR-0014). It needs every path's state: a lazy sync
 * reads them from the index a range at a time (ADR-0029), or folds everything when the index
 * cannot serve that; a first sync still in stages leaves it to a later sync.
 */
export async function checkpointStage(state: SyncState, tally: SyncTally): Promise<void> {
  const { ctx } = state;
  if (state.dryRun || state.mode.kind === 'staged') return;
  if (!(await checkOwnCheckpointDue(ctx, ctx.identity.client, state.fetched.fetched.fetchedEvents, ctx.checkpointEvery))) return;
  if (state.mode.kind !== 'full') {
    const ranged = await executeOwnCheckpointInRanges(ctx, state.log);
    if (ranged !== undefined) {
      tally.checkpoint = ranged;
      return;
    }
    await state.foldEverything();
  }
  tally.checkpoint = await executeOwnCheckpoint(ctx, state.log);
}

/** What the sync's last plan (or its stages' plans together) says of every path. */
export type SettledPlan = Pick<Plan, 'ops' | 'conflicts' | 'notices'>;

/**
 * Remembers a state with nothing to do, so that the next sync can tell it is unchanged without
 * folding or planning (ADR-0008), or plan only what changed since (ADR-0009). Written after
 * everything else this sync wrote: any later change to the index deletes it in the same batch.
 */
export async function commitStage(state: SyncState, settled: SettledPlan | undefined, scan: ScanResult | undefined): Promise<void> {
  const { ctx } = state;
  if (state.dryRun) return;
  const witness = scan?.witnessParts ?? scan?.witness;
  const faultless = state.log.faults.length === 0 && state.lateFaults.length === 0;
  const clean = settled !== undefined && settled.ops.length === 0 && witness !== undefined && faultless && ctx.scopeKey !== undefined;
  let record: CleanState<Uint8Array | ByteParts> | undefined;
  if (clean) {
    const lazy = await state.mode.lazyBase(state, scan!);
    // The conflicts with why they were not merged, so that the clean shortcut reports them alike.
    const conflicts = computeConflictsWithReasons(settled.conflicts, state.merges);
    const notes = { conflicts, planNotices: [...settled.notices], scanNotices: [...scan!.notices] };
    record = { v: 2, scope: ctx.scopeKey!, witness: witness!, ...notes, ...(lazy === undefined ? {} : { lazy }) };
  }
  await ctx.index.commitBatch({
    meta: { lastSyncAt: ctx.now().toISOString(), ...(record === undefined ? {} : { [CLEAN_STATE_KEY]: record }) },
  });
}
