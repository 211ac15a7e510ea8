import { ErrorCode, isBmError } from '../errors.js';
import type { SnapshotPort } from '../events/store/snapshot-port.js';
import type { SyncIndex } from './ports.js';

/**
 * The bucket snapshot a sync syncs against (ADR-0034, ADR-0019 §5): taken right after its
 * fetch's reads, so it holds every object the fetch read, and recorded in every segment the
 * run publishes (sync, acknowledgement, checkpoint claim, GC, retire). A fetch that brought
 * nothing new from anyone keeps the last one: it still holds everything this client has seen
 * of the others (its own later objects it holds itself). So a sync with nothing new costs no
 * snapshot request.
 */

/** Meta key of the last baseline this client took: `{ version }`. */
export const BASELINE_KEY = 'snapshot-baseline';

/** Whether a fetch takes a new snapshot or keeps `held` (pure). */
export function planBaseline(held: string | undefined, o: { readonly broughtNews: boolean; readonly dryRun: boolean }): 'take' | 'keep' {
  if (o.dryRun) return 'keep'; // a dry run writes nothing, a snapshot included
  return held === undefined || o.broughtNews ? 'take' : 'keep';
}

/** The baseline this client last took, if any. */
export async function readHeldBaseline(index: Pick<SyncIndex, 'getMeta'>): Promise<string | undefined> {
  const v = await index.getMeta?.<{ version?: unknown }>(BASELINE_KEY).catch(() => undefined);
  return typeof v?.version === 'string' ? v.version : undefined;
}

/**
 * The baseline of this fetch: null where the remote has no snapshots. A snapshot that could
 * not be taken now (the remote failing) leaves this run's baseline null and is taken again by
 * the next fetch (the held one is dropped: it lacks what this fetch brought); the sync goes on.
 */
export async function executeBaseline(
  ctx: { readonly snapshots?: SnapshotPort | undefined; readonly index: Pick<SyncIndex, 'commitBatch'> },
  held: string | undefined,
  o: { readonly broughtNews: boolean; readonly dryRun: boolean },
): Promise<string | null> {
  if (ctx.snapshots === undefined) return null;
  if (planBaseline(held, o) === 'keep') return held ?? null;
  let version: string | undefined;
  try {
    version = await ctx.snapshots.take();
  } catch (e) {
    if (!isBmError(e, ErrorCode.remoteUnavailable)) throw e;
  }
  await ctx.index.commitBatch({ meta: { [BASELINE_KEY]: version === undefined ? undefined : { version } } });
  return version ?? null;
}
