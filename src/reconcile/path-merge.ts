import type { ContentHash, VersionId } from '../events/ids.js';
import type { ContentRef, MergeRecord } from '../events/schema.js';
import { sha256Hex } from '../events/signing.js';
import type { SyncPath } from '../events/sync-path.js';
import { computeMerge, type MergeConflictReason } from '../merge/compute-merge.js';
import { mayMerge, type MergePolicy } from '../merge/merge-policy.js';
import { computeMergeBase } from '../projections/merge-base.js';
import type { PathState } from '../projections/project-paths.js';
import type { VersionRecord } from '../projections/version-record.js';

/*
 * Whether concurrent heads of a path merge, and into what (ADR-0020): pure. The planner
 * (`decidePath`) reads a `PathMerge` as one more input of the path; the merge stage
 * (sync/merge-stage.ts) fetches the bytes a candidate names and calls `computePathMerge`.
 */

/** Why a path's heads were not merged (what `conflicts` says). */
export type MergeRefusal =
  | 'disabled'
  | 'pattern'
  | 'too-large'
  | 'has-nul'
  | 'not-utf8'
  | 'delete'
  | 'no-ancestor'
  | 'criss-cross'
  | 'mode'
  | 'unavailable'
  /** (`conflicts`, from the log alone:) the heads' bytes were not read; their lines or text refused. */
  | 'content'
  | MergeConflictReason;

/** The outcome of merging a path's live heads `heads` (their ids, sorted). */
export type PathMerge =
  | {
      readonly kind: 'merged';
      readonly heads: readonly VersionId[];
      readonly content: ContentRef;
      readonly bytes: Uint8Array;
      readonly record: MergeRecord;
    }
  | { readonly kind: 'refused'; readonly heads: readonly VersionId[]; readonly reason: MergeRefusal; readonly detail: string };

/** Heads worth fetching the bytes of: every one live and within the size limit, a base known. */
export interface MergeCandidate {
  readonly path: SyncPath;
  /** The live heads, sorted by id. */
  readonly heads: readonly VersionRecord[];
  /** The common ancestor (null: none, only for heads of one content, which merge trivially). */
  readonly base: VersionRecord | null;
  readonly mode: number;
}

/** Pure: the ids of `heads`, sorted (what a `PathMerge` is for). */
export function computeHeadKey(heads: readonly { readonly id: VersionId }[]): VersionId[] {
  return heads.map((h) => h.id).sort();
}

/** Pure: true when `merge` was made for exactly the heads `heads`. */
export function isMergeOf(merge: PathMerge, heads: readonly { readonly id: VersionId }[]): boolean {
  const key = computeHeadKey(heads);
  return key.length === merge.heads.length && key.every((id, i) => merge.heads[i] === id);
}

function refuse(heads: readonly VersionRecord[], reason: MergeRefusal, detail: string): PathMerge {
  return { kind: 'refused', heads: computeHeadKey(heads), reason, detail };
}

/** Pure: the mode of the merge: the one every head has, or the one side that changed it from the base. */
function computeMergedMode(heads: readonly VersionRecord[], base: VersionRecord | null): number | null {
  const modes = new Set(heads.map((h) => h.content!.mode));
  if (modes.size === 1) return [...modes][0]!;
  const baseMode = base?.content?.mode;
  const changed = [...modes].filter((m) => m !== baseMode);
  return baseMode !== undefined && changed.length === 1 ? changed[0]! : null;
}

/**
 * Pure: the merge candidate of a path's heads (two or more), or why they are not one before
 * any byte is read: policy off or path not covered, a delete among them, a head or base over
 * the size limit, no single common ancestor, modes changed differently.
 */
export function computeMergeCandidate(
  path: SyncPath,
  state: PathState,
  heads: readonly VersionRecord[],
  policy: MergePolicy,
): MergeCandidate | PathMerge {
  const gate = mayMerge(path, policy);
  if (!gate.merge)
    return refuse(heads, gate.reason, `merging is ${gate.reason === 'disabled' ? 'off in this vault' : 'off for this path'}`);
  if (heads.some((h) => h.content === null)) return refuse(heads, 'delete', 'a delete is among the versions; only edits merge');
  if (heads.some((h) => h.content!.size > policy.maxBytes))
    return refuse(heads, 'too-large', `a version is over the merge limit of ${policy.maxBytes} bytes`);
  const sameBytes = new Set(heads.map((h) => h.content!.hash)).size === 1;
  const found = computeMergeBase(state, heads);
  let base: VersionRecord | null = null;
  if (found.kind === 'base') base = found.base;
  else if (!sameBytes && found.kind === 'none') return refuse(heads, 'no-ancestor', 'the versions have no common ancestor');
  else if (!sameBytes) return refuse(heads, 'criss-cross', 'the versions have more than one nearest common ancestor');
  if ((base?.content?.size ?? 0) > policy.maxBytes)
    return refuse(heads, 'too-large', `the common ancestor is over the merge limit of ${policy.maxBytes} bytes`);
  const mode = computeMergedMode(heads, base);
  if (mode === null) return refuse(heads, 'mode', 'the versions changed the file mode differently');
  return { path, heads: [...heads].sort((a, b) => (a.id < b.id ? -1 : 1)), base, mode };
}

/**
 * Pure: the merge of a candidate from the bytes of its base (null: none, or deleted) and of
 * each head (in `candidate.heads` order). The bytes, and so the content ref, are a function of
 * the base, the heads' contents and the algorithm the policy gives the path.
 */
export function computePathMerge(
  c: MergeCandidate,
  policy: MergePolicy,
  baseBytes: Uint8Array | null,
  headBytes: readonly Uint8Array[],
): PathMerge {
  const gate = mayMerge(c.path, policy, ...(baseBytes === null ? [] : [baseBytes]), ...headBytes);
  if (!gate.merge) return refuse(c.heads, gate.reason, computeGateDetail(gate.reason));
  const out = computeMerge(
    gate.algo,
    baseBytes,
    c.heads.map((h, i) => ({ version: h.id, bytes: headBytes[i]! })),
  );
  if (out.kind === 'conflict') return refuse(c.heads, out.reason, out.detail);
  const hash = sha256Hex(out.bytes) as ContentHash;
  return {
    kind: 'merged',
    heads: computeHeadKey(c.heads),
    content: { hash, size: out.bytes.byteLength, mode: c.mode },
    bytes: out.bytes,
    record: { base: c.base?.id ?? null, parents: out.parents as VersionId[], algo: gate.algo },
  };
}

function computeGateDetail(reason: MergeRefusal): string {
  switch (reason) {
    case 'has-nul':
    case 'not-utf8':
      return 'a version is not text (binary files never merge)';
    case 'too-large':
      return 'a version is over the merge size limit';
    default:
      return `not mergeable (${reason})`;
  }
}
