import type { ContentHash, VersionId } from '../events/ids.js';
import type { ContentRef } from '../events/schema.js';
import { sha256Hex } from '../events/signing.js';
import type { SyncPath } from '../events/sync-path.js';
import { computeMerge } from '../merge/compute-merge.js';
import { mayMerge, type MergePolicy } from '../merge/merge-policy.js';
import { computeMergeBase } from '../projections/merge-base.js';
import { computeHeads, type PathState } from '../projections/project-paths.js';
import type { VersionRecord } from '../projections/version-record.js';
import { computeHeadKey } from './path-merge.js';

/*
 * An edit that follows a move (ADR-0020), pure. A path P moved to Q (a tombstone of P with
 * `to: Q`, a put of Q with `from: P`) while another client, not having seen the move, edited P:
 * P's heads are the move's tombstone and that edit. The edit goes on at Q: one segment ends P
 * (a tombstone `to: Q` replacing every head of P) and puts at Q the edit, merged with what the
 * mover changed at Q since (the mover's side is Q's head, the base is the version the move
 * continued). The planner (`decidePath`) reads the outcome as one more input of P; the move
 * stage (sync/move-stage.ts) reads the bytes a candidate needs and calls `computePathFollow`.
 */

/** Why an edit of a moved path was not sent on to the new path (it then stays a conflict at the old path). */
export type FollowRefusal = 'not-after-move' | 'target-changed' | 'unavailable';

/** The outcome for an old path's heads `heads` (ids, sorted) and the new path's `toHeads`. */
export type PathFollow =
  | {
      readonly kind: 'follow';
      readonly heads: readonly VersionId[];
      readonly to: SyncPath;
      readonly toHeads: readonly VersionId[];
      /** The edit that goes on at `to` (the put's `from.version`). */
      readonly edit: VersionId;
      /**
       * What the old name's tombstone replaces: the edit and every delete among the heads. Other
       * edits concurrent with it stay heads beside the new tombstone and follow one a round.
       */
      readonly ends: readonly VersionId[];
      readonly content: ContentRef;
      /** The merged bytes when they are new (a merge of both sides' edits); null when `content` already exists. */
      readonly bytes: Uint8Array | null;
      /** False: the edits did not merge; the edit is put at `to` beside the mover's version (a conflict there). */
      readonly replacesTarget: boolean;
    }
  | {
      readonly kind: 'refused';
      readonly heads: readonly VersionId[];
      readonly to: SyncPath;
      readonly toHeads: readonly VersionId[];
      readonly reason: FollowRefusal;
      readonly detail: string;
    };

/** What the bytes step needs: the old path's edit, the version the move continued, the new path's head. */
export interface FollowCandidate {
  readonly path: SyncPath;
  /** The old name's heads the tombstone replaces (the edit and the deletes). */
  readonly ends: readonly VersionId[];
  readonly heads: readonly VersionId[];
  readonly to: SyncPath;
  readonly toHeads: readonly VersionId[];
  readonly edit: VersionRecord;
  readonly base: VersionRecord;
  readonly target: VersionRecord;
}

/** Pure: the move tombstone among `heads` that decides where an edit goes: the first in head order. */
export function computeMoveHead(heads: readonly VersionRecord[]): VersionRecord | undefined {
  return heads.find((h) => h.type === 'tombstone' && h.to !== undefined);
}

/** Pure: true when `outcome` was made for exactly these heads of both paths. */
export function isFollowOf(outcome: PathFollow, heads: readonly VersionRecord[], toHeads: readonly VersionRecord[] | undefined): boolean {
  const same = (a: readonly VersionId[], b: readonly VersionId[]) => a.length === b.length && a.every((id, i) => b[i] === id);
  return same(outcome.heads, computeHeadKey(heads)) && (toHeads === undefined || same(outcome.toHeads, computeHeadKey(toHeads)));
}

/** True when `id` is `ancestor` or reaches it through `replaces` within the path. */
function descends(state: PathState, id: VersionId, ancestor: VersionId): boolean {
  const seen = new Set<VersionId>();
  const stack = [id];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (v === ancestor) return true;
    if (seen.has(v)) continue;
    seen.add(v);
    stack.push(...(state.versions.get(v)?.replaces ?? []));
  }
  return false;
}

/**
 * Pure: the follow candidate of an old path whose heads hold a move tombstone and a live edit,
 * or why not before any byte is read, or undefined when the heads are not that at all.
 * `stateOf` gives another path's state (the new path's).
 */
export function computeFollowCandidate(
  path: SyncPath,
  state: PathState,
  stateOf: (p: SyncPath) => PathState | undefined,
): FollowCandidate | PathFollow | undefined {
  const heads = computeHeads(state);
  const move = computeMoveHead(heads);
  const edits = heads.filter((h) => h.content !== null);
  if (move?.to === undefined || edits.length === 0) return undefined;
  const to = move.to;
  const toState = stateOf(to);
  const toHeads = toState === undefined ? [] : computeHeads(toState);
  const key = { heads: computeHeadKey(heads), to, toHeads: computeHeadKey(toHeads) };
  const refuse = (reason: FollowRefusal, detail: string): PathFollow => ({ kind: 'refused', ...key, reason, detail });
  // The move's put: in the tombstone's segment, continuing a version of this path.
  const put = [...(toState?.versions.values() ?? [])].find((v) => v.from?.path === path && v.client === move.client && v.seq === move.seq);
  const moved = put === undefined ? undefined : state.versions.get(put.from!.version);
  // Several edits of the old name concurrent with the move: the winner first, the others in later rounds.
  const edit = edits[0]!;
  // The base: the nearest version the edit and the moved version both descend from (the moved
  // version itself, unless an earlier edit was sent on already and this one is concurrent with it).
  const found = moved === undefined ? undefined : computeMergeBase(state, [edit, moved]);
  const base = found?.kind === 'base' ? found.base : undefined;
  if (put === undefined || base?.content == null)
    return refuse('not-after-move', 'the edit and the moved version have no one common ancestor');
  const target = toHeads.length === 1 && toHeads[0]!.content !== null ? toHeads[0]! : undefined;
  if (target === undefined || !descends(toState!, target.id, put.id))
    return refuse('target-changed', `${to} was changed concurrently (deleted, or in conflict) since the move`);
  const ends = computeHeadKey([edit, ...heads.filter((h) => h.content === null)]);
  return { path, ends, ...key, edit, base, target };
}

/** Pure: which bytes `computePathFollow` needs (none when one side kept the moved content). */
export function needsFollowBytes(c: FollowCandidate): boolean {
  const [b, t, e] = [c.base.content!, c.target.content!, c.edit.content!];
  return b.hash !== t.hash && b.hash !== e.hash && t.hash !== e.hash;
}

/**
 * Pure: the content the edit goes on with at the new path. One side kept the moved bytes: the
 * other side's content. Both changed them: their three-way merge (the vault's policy and
 * algorithm, as any merge) from the moved version; no merge: the edit's own content, put at the
 * new path beside the mover's version (a conflict there, never at the old path).
 * `bytes` (base, target, edit) only when `needsFollowBytes`.
 */
export function computePathFollow(
  c: FollowCandidate,
  policy: MergePolicy,
  bytes?: { base: Uint8Array; target: Uint8Array; edit: Uint8Array },
): PathFollow {
  const [b, t, e] = [c.base.content!, c.target.content!, c.edit.content!];
  const key = { heads: c.heads, to: c.to, toHeads: c.toHeads, edit: c.edit.id, ends: c.ends };
  const mode = t.mode !== b.mode ? t.mode : e.mode;
  if (b.hash === t.hash) return { kind: 'follow', ...key, content: { ...e, mode }, bytes: null, replacesTarget: true };
  if (b.hash === e.hash || t.hash === e.hash) return { kind: 'follow', ...key, content: { ...t, mode }, bytes: null, replacesTarget: true };
  const apart = { kind: 'follow', ...key, content: e, bytes: null, replacesTarget: false } as const;
  if (bytes === undefined) return apart;
  const gate = mayMerge(c.to, policy, bytes.base, bytes.target, bytes.edit);
  if (!gate.merge || (t.mode !== b.mode && e.mode !== b.mode && t.mode !== e.mode)) return apart;
  const out = computeMerge(gate.algo, bytes.base, [
    { version: c.target.id, bytes: bytes.target },
    { version: c.edit.id, bytes: bytes.edit },
  ]);
  if (out.kind === 'conflict') return apart;
  const content = { hash: sha256Hex(out.bytes) as ContentHash, size: out.bytes.byteLength, mode };
  return { kind: 'follow', ...key, content, bytes: out.bytes, replacesTarget: true };
}
