import type { ByteParts } from '../events/codec.js';
import { CLEAN_STATE_KEY } from './ports.js';
import type { ScanNotice } from './ports.js';
import { computeSegmentCollections, computeSegmentVersions } from '../projections/project-paths.js';
import type { ScanResult } from './ports.js';
import type { VaultSnapshot } from '../projections/project-vault.js';
import type { BaseEntry } from './ports.js';
import { withoutMergeReason } from './conflict-notes.js';
import type { ConflictNote, Notice, PlanFocus } from './plan-sync.js';
import type { SyncContext } from './sync-context.js';
import { holdsFetchedSegments, isPlanNeutral, type FetchedLog } from './sync-log.js';

/**
 * The clean-state record (ADR-0008): written by a sync whose last plan was empty, with what
 * that sync's report said. The index deletes it with any change to the manifest, segments,
 * cursors or pinned keys, so while it exists the base and the cloud are what that plan saw.
 */
export interface CleanState<Witness extends Uint8Array | ByteParts = Uint8Array> {
  readonly v: 2;
  /** `SyncContext.scopeKey` of that sync: the same ignore rules and subscriptions. */
  readonly scope: string;
  /**
   * The scan's witness (`ScanResult.witness`): the same local tree. Written from its parts
   * where the scan has them (`witnessParts`); always read back as one array.
   */
  readonly witness: Witness;
  readonly conflicts: readonly ConflictNote[];
  readonly planNotices: readonly Notice[];
  readonly scanNotices: readonly ScanNotice[];
  /** What a lazy sync starts from (ADR-0009); absent where the index cannot serve one. */
  readonly lazy?: LazyBase;
}

/** The state of that sync beyond the witness that a lazy sync needs instead of a full fold. */
export interface LazyBase {
  readonly vault: VaultSnapshot;
  /** Every manifest row that is a conflict copy (the planner groups them by main path). */
  readonly copies: readonly BaseEntry[];
  /** The number of manifest rows that are not conflict copies (the delete guards use it). */
  readonly tracked: number;
  /** Every path with a live head in the cloud and no local file then (`PlanInput.cloudOnly`). */
  readonly cloudOnly: readonly string[];
}

/** The record as the index holds it now (not yet checked against the tree). */
export async function readCleanRecord(ctx: Pick<SyncContext, 'index' | 'scopeKey'>): Promise<CleanState | undefined> {
  if (ctx.scopeKey === undefined || ctx.index.getMeta === undefined) return undefined;
  // Unreadable (its side file gone or damaged, see LocalIndex): as if absent, a full sync.
  const record = await ctx.index.getMeta<unknown>(CLEAN_STATE_KEY).catch(() => undefined);
  return isCleanState(record) && record.scope === ctx.scopeKey ? record : undefined;
}

/**
 * `record` (read before this sync's fetch), when a plan now is sure to be empty again: it
 * was made under the current scope, the fetch brought nothing that changes a plan (no event,
 * key, fault or join: acknowledgements only, or nothing), and the tree says a scan would
 * return what that sync's last scan returned. Otherwise undefined: the caller folds and plans.
 */
export async function confirmCleanState(
  ctx: Pick<SyncContext, 'tree'>,
  record: CleanState | undefined,
  fetched: FetchedLog,
): Promise<CleanState | undefined> {
  if (record === undefined || !isPlanNeutral(fetched)) return undefined;
  return (await ctx.tree.unchanged(record.witness)) ? record : undefined;
}

/**
 * When the clean-state record could not stand (something changed), the first plan of this
 * sync can still start from it (ADR-0009): its plan was empty, so only the paths that differ
 * from its scan, and the paths the fetched events name, are planned again. Undefined (plan in
 * full) when the fetch joined from a checkpoint or had a fault, or the tree cannot tell what
 * differs from the record's scan.
 */
export function computeRecordFocus(
  ctx: Pick<SyncContext, 'tree'>,
  record: CleanState | undefined,
  fetched: FetchedLog,
  scan: ScanResult,
): PlanFocus | undefined {
  if (record === undefined || fetched.joinedNow || fetched.faults.length > 0 || !holdsFetchedSegments(fetched)) return undefined;
  const dirty = ctx.tree.diffWitness(record.witness, scan);
  if (dirty === undefined) return undefined;
  for (const s of fetched.fetched.segments) {
    for (const v of computeSegmentVersions(s.segment.body)) dirty.add(v.path);
    for (const c of computeSegmentCollections(s.segment.body)) dirty.add(c.path);
  }
  // (The record's conflicts carry the merge stage's reasons for the report; a plan has none.)
  return { previous: { ops: [], conflicts: record.conflicts.map(withoutMergeReason), notices: record.planNotices }, dirty };
}

function isCleanState(r: unknown): r is CleanState {
  if (typeof r !== 'object' || r === null) return false;
  const c = r as Record<string, unknown>;
  return (
    c.v === 2 &&
    typeof c.scope === 'string' &&
    c.witness instanceof Uint8Array &&
    Array.isArray(c.conflicts) &&
    Array.isArray(c.planNotices) &&
    Array.isArray(c.scanNotices)
  );
}
