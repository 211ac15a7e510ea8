import type { ClientId, VersionId } from '../events/ids.js';
import { isPathEvent, type SegmentBody } from '../events/schema.js';
import type { SyncPath } from '../events/sync-path.js';
import type { VersionRecord } from './version-record.js';
import { computeSegmentWeight } from './project-vault.js';

/**
 * The state of one path: every version ever seen there (its history), the ids that some
 * event at this path names as replaced, and the ids a `gc` event collected (ADR-0007). The
 * heads are the versions nobody replaced and no GC collected. All parts only grow (set
 * union), which is what makes the fold order-independent and duplicate-tolerant: the same
 * events in any order give the same sets.
 */
export interface PathState {
  readonly versions: ReadonlyMap<VersionId, VersionRecord>;
  readonly replaced: ReadonlySet<VersionId>;
  /** Versions a GC collected: never heads again. Absent means none. */
  readonly collected?: ReadonlySet<VersionId>;
}

/** All paths. The fold owns this map and mutates it; path states themselves are immutable. */
export type Projection = Map<SyncPath, PathState>;

export const emptyPathState: PathState = { versions: new Map(), replaced: new Set() };

/**
 * Pure: the path state after one more version. A version already present changes nothing.
 * Two different events claiming one id (only a faulty or hostile writer does that) keep the
 * one from the smaller (client, seq), whatever the arrival order; the replaced set is the
 * union over every event received, which is order-independent too.
 */
export function evolvePath(state: PathState, v: VersionRecord): PathState {
  const existing = state.versions.get(v.id);
  if (existing !== undefined && (existing === v || (existing.client === v.client && existing.seq === v.seq))) return state;
  const versions = new Map(state.versions);
  if (existing === undefined || v.client < existing.client || (v.client === existing.client && v.seq < existing.seq)) versions.set(v.id, v);
  const rest = state.collected === undefined ? {} : { collected: state.collected };
  if (v.replaces.length === 0) return { versions, replaced: state.replaced, ...rest };
  const replaced = new Set(state.replaced);
  for (const r of v.replaces) replaced.add(r);
  return { versions, replaced, ...rest };
}

/** Pure: the path state with `ids` collected by a GC (set union; order-independent). */
export function collectPath(state: PathState, ids: Iterable<VersionId>): PathState {
  const collected = new Set(state.collected);
  const before = collected.size;
  for (const id of ids) collected.add(id);
  return collected.size === before && state.collected !== undefined
    ? state
    : { versions: state.versions, replaced: state.replaced, collected };
}

/** True when a GC collected `id` at this path. */
export function isCollected(state: PathState | undefined, id: VersionId | null): boolean {
  return id !== null && state?.collected?.has(id) === true;
}

/** Folds versions into `into` (a fresh projection by default) and returns it. */
export function projectVersions(versions: Iterable<VersionRecord>, into: Projection = new Map()): Projection {
  for (const v of versions) into.set(v.path, evolvePath(into.get(v.path) ?? emptyPathState, v));
  return into;
}

/**
 * Flattens a segment's path events into version records carrying the segment's context.
 * `retire` and `gc` events create no version (see project-vault.ts and
 * `computeSegmentCollections`).
 */
export function computeSegmentVersions(body: SegmentBody): VersionRecord[] {
  const out: VersionRecord[] = [];
  for (const e of body.events) {
    if (!isPathEvent(e)) continue;
    out.push({
      id: e.id,
      path: e.path,
      type: e.type,
      client: body.client,
      seq: body.seq,
      time: body.time,
      replaces: e.replaces,
      content: e.type === 'tombstone' ? null : e.content,
      seen: body.seen,
      snapshot: body.snapshot,
      ...(e.type === 'put' && e.merge !== undefined ? { merge: e.merge } : {}),
      ...(e.type === 'put' && e.from !== undefined ? { from: e.from } : {}),
      ...(e.type === 'tombstone' && e.to !== undefined ? { to: e.to } : {}),
    });
  }
  return out;
}

/** The paths and versions the `gc` events of a segment collected. */
export function computeSegmentCollections(body: SegmentBody): { path: SyncPath; versions: readonly VersionId[] }[] {
  const out: { path: SyncPath; versions: readonly VersionId[] }[] = [];
  for (const e of body.events) if (e.type === 'gc') out.push(...e.collected);
  return out;
}

/** Folds one segment's versions and collections into `into` and returns it. */
export function projectSegment(body: SegmentBody, into: Projection = new Map()): Projection {
  projectVersions(computeSegmentVersions(body), into);
  for (const c of computeSegmentCollections(body)) into.set(c.path, collectPath(into.get(c.path) ?? emptyPathState, c.versions));
  return into;
}

function seenWeight(v: VersionRecord): number {
  return computeSegmentWeight(v.seen, v.seq);
}

/**
 * The deterministic winner order among concurrent heads, the same on every client and
 * never based on wall-clock time: content beats deletion (an edit survives a concurrent
 * delete); then the head whose writer had seen more of the log (a logical clock: the sum
 * of its `seen` frontier plus its own seq); then client id, then version id.
 */
export function compareHeads(a: VersionRecord, b: VersionRecord): number {
  const live = Number(b.content !== null) - Number(a.content !== null);
  if (live !== 0) return live;
  const w = seenWeight(b) - seenWeight(a);
  if (w !== 0) return w;
  if (a.client !== b.client) return a.client < b.client ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The heads of a path, winner first: the versions nobody replaced and no GC collected.
 * Empty for a path with no versions, or whose versions were all collected (it left the live
 * state). When every other version is replaced (a replace cycle, which only a hostile writer
 * can build), the single best of them by `compareHeads` stands as the head, so the path
 * never silently vanishes.
 */
export function computeHeads(state: PathState): VersionRecord[] {
  if (state.versions.size === 1 && state.collected === undefined) return [...state.versions.values()]; // replaced or not, it stands
  const heads: VersionRecord[] = [];
  const collected = state.collected;
  let uncollected = 0;
  for (const v of state.versions.values()) {
    if (collected?.has(v.id)) continue;
    uncollected++;
    if (!state.replaced.has(v.id)) heads.push(v);
  }
  if (heads.length === 0 && uncollected > 0)
    return [[...state.versions.values()].filter((v) => !collected?.has(v.id)).sort(compareHeads)[0]!];
  return heads.sort(compareHeads);
}

/** Per-client highest seq folded into the projection: this client's `seen` frontier. */
export function computeFrontier(versions: Iterable<VersionRecord>): Map<ClientId, number> {
  const out = new Map<ClientId, number>();
  for (const v of versions) if ((out.get(v.client) ?? 0) < v.seq) out.set(v.client, v.seq);
  return out;
}
