import type { ClientId, VersionId } from '../events/ids.js';
import type { SegmentBody } from '../events/schema.js';
import type { SyncPath } from '../events/sync-path.js';
import type { VersionRecord } from './version-record.js';

/**
 * The state of one path: every version ever seen there (its history) and the ids that
 * some event at this path names as replaced. The heads are the versions nobody replaced.
 * Both parts only grow (set union), which is what makes the fold order-independent and
 * duplicate-tolerant: the same events in any order give the same sets.
 */
export interface PathState {
  readonly versions: ReadonlyMap<VersionId, VersionRecord>;
  readonly replaced: ReadonlySet<VersionId>;
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
  if (v.replaces.length === 0) return { versions, replaced: state.replaced };
  const replaced = new Set(state.replaced);
  for (const r of v.replaces) replaced.add(r);
  return { versions, replaced };
}

/** Folds versions into `into` (a fresh projection by default) and returns it. */
export function projectVersions(versions: Iterable<VersionRecord>, into: Projection = new Map()): Projection {
  for (const v of versions) into.set(v.path, evolvePath(into.get(v.path) ?? emptyPathState, v));
  return into;
}

/** Flattens a segment's events into version records carrying the segment's context. */
export function computeSegmentVersions(body: SegmentBody): VersionRecord[] {
  return body.events.map((e) => ({
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
  }));
}

function seenWeight(v: VersionRecord): number {
  let n = 0;
  for (const s of Object.values(v.seen)) n += s;
  return n + v.seq;
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
 * The heads of a path, winner first. Empty only for a path with no versions: when every
 * version is replaced (a replace cycle, which only a hostile writer can build), the single
 * best version by `compareHeads` stands as the head, so the path never silently vanishes.
 */
export function computeHeads(state: PathState): VersionRecord[] {
  const heads: VersionRecord[] = [];
  for (const v of state.versions.values()) if (!state.replaced.has(v.id)) heads.push(v);
  if (heads.length === 0 && state.versions.size > 0) return [[...state.versions.values()].sort(compareHeads)[0]!];
  return heads.sort(compareHeads);
}

/** Per-client highest seq folded into the projection: this client's `seen` frontier. */
export function computeFrontier(versions: Iterable<VersionRecord>): Map<ClientId, number> {
  const out = new Map<ClientId, number>();
  for (const v of versions) if ((out.get(v.client) ?? 0) < v.seq) out.set(v.client, v.seq);
  return out;
}
