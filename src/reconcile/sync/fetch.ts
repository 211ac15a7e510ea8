import type { CleanState } from '../clean-state.js';
import { confirmCleanState, readCleanRecord } from '../clean-state.js';
import { isClaimRewriteDue } from '../own-checkpoint.js';
import { CLEAN_STATE_KEY } from '../ports.js';
import type { SyncContext } from '../sync-context.js';
import { fetchNewSegments, type FetchedLog } from '../sync-log.js';
import { cleanReport, type SyncReport } from './report.js';

/*
 * The fetch stage and the clean-state shortcut (ADR-0023, ADR-0008).
 */

/** What the fetch stage hands on: the clean-state record as it was before the fetch, and the fetch. */
export interface Fetched {
  readonly record: CleanState | undefined;
  readonly fetched: FetchedLog;
}

/**
 * Fetches what is new and verifies it (a new client joins from the newest checkpoint). The
 * clean-state record is read first: committing fetched acknowledgements deletes it. A sync that
 * publishes (resolve, restore) reads none.
 */
export async function fetchStage(ctx: SyncContext, o: { dryRun: boolean; publishing: boolean }): Promise<Fetched> {
  const record = o.publishing ? undefined : await readCleanRecord(ctx);
  // Without a record the sync folds (or, in stages, reads) what it fetched from the index, so
  // the fetch commits it as it comes instead of keeping it decoded (only a lazy sync, which
  // starts from a record, folds its fetched segments from memory).
  // The fetch holds little either way (a window of segments, or the few new ones of a
  // lazy sync): V8's young generation is held small until a sync has to fold everything.
  ctx.onWorkingSet?.('small');
  const fetched = await fetchNewSegments(ctx, { dryRun: o.dryRun, stream: record === undefined });
  return { record, fetched };
}

/**
 * The clean-state shortcut: nothing new on either side since a sync that ended with nothing to
 * do, so its plan stands and this sync neither folds nor plans. Undefined when it does not
 * apply (or this client's checkpoint can now shed claims: then the sync goes on and rewrites
 * it, ADR-0014).
 */
export async function tryCleanShortcut(ctx: SyncContext, { record, fetched }: Fetched, dryRun: boolean): Promise<SyncReport | undefined> {
  const clean = await confirmCleanState(ctx, record, fetched);
  if (clean === undefined || (!dryRun && (await isClaimRewriteDue(ctx, ctx.checkpointEvery)))) return undefined;
  // (Written again when committing fetched acknowledgements or keys deleted it: they change
  // nothing it says.)
  const committedSomething = fetched.fetched.fetchedSegments > 0 || fetched.fetched.newKeys.length > 0;
  if (!dryRun)
    await ctx.index.commitBatch({
      meta: { lastSyncAt: ctx.now().toISOString(), ...(committedSomething ? { [CLEAN_STATE_KEY]: clean } : {}) },
    });
  return { ...cleanReport(clean, fetched.requests, dryRun), restored: fetched.restored };
}
