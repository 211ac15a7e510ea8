import type { VersionId } from '../events/ids.js';
import type { PathState } from './project-paths.js';
import type { VersionRecord } from './version-record.js';

/**
 * The common ancestor of concurrent heads of one path (ADR-0020): the nearest version every
 * head descends from through the `replaces` links of the path's history. Pure, and the same on
 * every client that folded the same events.
 *
 * Versions that replace the same set of versions with the same bytes are one node here: two
 * clients that merged the same heads at once wrote two such versions, and an edit of one of
 * them still descends from the other (its merge base is that content, not the heads before).
 */
export type MergeBase =
  | { readonly kind: 'base'; readonly base: VersionRecord }
  /** No version every head descends from (two new files at one path). */
  | { readonly kind: 'none' }
  /** Several nearest common ancestors with different contents (a criss-cross): no merge. */
  | { readonly kind: 'criss-cross'; readonly nearest: readonly VersionRecord[] };

/** The node a version counts as: itself, or its class of same-bytes versions replacing one set. */
function computeNodeKey(v: VersionRecord): string {
  if (v.content === null || v.replaces.length < 2) return v.id;
  return `${v.content.hash}:${v.content.mode}:${[...v.replaces].sort().join(',')}`;
}

/** Every node reached from `from` (themselves included), walking `replaces` within the path. */
function computeAncestry(state: PathState, from: readonly VersionRecord[]): Set<string> {
  const out = new Set<string>();
  const seen = new Set<VersionId>();
  const stack: VersionRecord[] = [...from];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (seen.has(v.id)) continue;
    seen.add(v.id);
    out.add(computeNodeKey(v));
    for (const r of v.replaces) {
      const parent = state.versions.get(r);
      if (parent !== undefined && !seen.has(r)) stack.push(parent);
    }
  }
  return out;
}

/** Pure: the merge base of `heads` (two or more versions of the path `state` holds). */
export function computeMergeBase(state: PathState, heads: readonly VersionRecord[]): MergeBase {
  const [first, ...rest] = heads.map((h) => computeAncestry(state, [h]));
  const common = new Set([...first!].filter((k) => rest.every((a) => a.has(k))));
  // The common nodes' versions, and a representative of each (the smallest id: the same everywhere).
  const members: VersionRecord[] = [];
  const byNode = new Map<string, VersionRecord>();
  for (const v of state.versions.values()) {
    const k = computeNodeKey(v);
    if (!common.has(k)) continue;
    members.push(v);
    const had = byNode.get(k);
    if (had === undefined || v.id < had.id) byNode.set(k, v);
  }
  // Nearest: a common node no common node descends from (reached from none of their parents).
  const parents = members.flatMap((v) => v.replaces.map((r) => state.versions.get(r)).filter((p) => p !== undefined));
  const below = computeAncestry(state, parents);
  const nearest = [...byNode.entries()].filter(([k]) => !below.has(k)).map(([, v]) => v);
  if (nearest.length === 0) return { kind: 'none' };
  const contents = new Set(nearest.map((v) => (v.content === null ? 'deleted' : `${v.content.hash}:${v.content.mode}`)));
  const sorted = nearest.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return contents.size === 1 ? { kind: 'base', base: sorted[0]! } : { kind: 'criss-cross', nearest: sorted };
}
