/**
 * The merge of concurrent heads of one path from their common ancestor (ADR-0020). The output
 * is a pure function of the algorithm, the base and the set of head contents: heads are put in
 * canonical order (by their bytes, then version id) and duplicates of one content count once,
 * so two clients merging the same heads write the same bytes whatever order they saw them in.
 * More than two heads are folded in that order, each step against the same base; any step
 * that conflicts makes the whole merge a conflict (no partial merge is ever written).
 */
import { computeFrontMatterMerge, computeFrontMatterSplit, computeKeyBlocks } from './front-matter.js';
import { computeByteLineIds, computeByteLines, renderByteLines } from './line-bytes.js';
import { computeIdMerge } from './line-merge.js';
import { computeCrlf, computeEolForm, computeLf, computeMergedEol, computeMergedFlag } from './line-text.js';
import type { MergeAlgo } from './merge-policy.js';
import { isMergeableText } from './text-content.js';

const utf8 = new TextEncoder();

/** One head to merge: its version id and its bytes. */
export interface MergeHead {
  readonly version: string;
  readonly bytes: Uint8Array;
}

/** Why a merge was not possible (what `conflicts` will say). */
export type MergeConflictReason = 'not-text' | 'overlap' | 'too-complex' | 'front-matter-key' | 'line-endings' | 'too-few-heads';

export type MergeOutcome =
  | {
      readonly kind: 'merged';
      readonly bytes: Uint8Array;
      /** The heads' version ids in canonical order: the merge event's `parents`. */
      readonly parents: readonly string[];
    }
  | { readonly kind: 'conflict'; readonly reason: MergeConflictReason; readonly detail: string };

type TextOutcome = { readonly kind: 'merged'; readonly bytes: Uint8Array } | Extract<MergeOutcome, { kind: 'conflict' }>;

/** Pure: heads in canonical order: by bytes (unsigned, lexicographic), then version id. */
export function computeCanonicalHeads(heads: readonly MergeHead[]): MergeHead[] {
  return [...heads].sort((x, y) => Buffer.compare(x.bytes, y.bytes) || (x.version < y.version ? -1 : x.version > y.version ? 1 : 0));
}

/**
 * Pure: `heads` (at least two) merged from `base` (null: no common ancestor, as for two new
 * files; merged from the empty text, so only identical additions merge) with algorithm `algo`.
 */
export function computeMerge(algo: MergeAlgo, base: Uint8Array | null, heads: readonly MergeHead[]): MergeOutcome {
  if (heads.length < 2)
    return { kind: 'conflict', reason: 'too-few-heads', detail: `a merge needs two heads or more, got ${heads.length}` };
  const ordered = computeCanonicalHeads(heads);
  const texts = [base ?? new Uint8Array(0), ...ordered.map((h) => h.bytes)];
  if (!texts.every(isMergeableText))
    return { kind: 'conflict', reason: 'not-text', detail: 'a side is not UTF-8 text or holds a NUL byte' };
  const [o, first, ...rest] = texts as [Uint8Array, Uint8Array, ...Uint8Array[]];
  let acc = first;
  let previous = acc;
  for (const next of rest) {
    if (Buffer.compare(next, previous) === 0) continue; // heads with the same bytes count once (they sort together)
    previous = next;
    const step = computeTextMerge(algo, o, acc, next);
    if (step.kind === 'conflict') return step;
    acc = step.bytes;
  }
  return { kind: 'merged', bytes: new Uint8Array(acc), parents: ordered.map((h) => h.version) };
}

/** Pure: one three-way step on texts (UTF-8): line endings apart, then front matter and lines. */
export function computeTextMerge(algo: MergeAlgo, o: Uint8Array, a: Uint8Array, b: Uint8Array): TextOutcome {
  const forms = [o, a, b].map(computeEolForm);
  if (forms.includes('mixed')) return computeBodyMerge(algo, o, a, b); // merged as they are: CR stays in the lines
  const [fo, fa, fb] = forms as ['lf' | 'crlf' | 'none', 'lf' | 'crlf' | 'none', 'lf' | 'crlf' | 'none'];
  const eol = computeMergedEol(fo, fa, fb);
  if (eol === null)
    return { kind: 'conflict', reason: 'line-endings', detail: 'one side uses LF and the other CRLF, where the base had neither' };
  const lf = (t: Uint8Array, f: string) => (f === 'crlf' ? computeLf(t) : t);
  const merged = computeBodyMerge(algo, lf(o, fo), lf(a, fa), lf(b, fb));
  if (merged.kind === 'conflict' || eol === 'lf') return merged;
  return { kind: 'merged', bytes: computeCrlf(merged.bytes) };
}

function computeBodyMerge(algo: MergeAlgo, o: Uint8Array, a: Uint8Array, b: Uint8Array): TextOutcome {
  if (algo === 'markdown/1') {
    const withFrontMatter = computeMarkdownMerge(o, a, b);
    if (withFrontMatter !== null) return withFrontMatter;
  }
  return computeLinesMerge(o, a, b);
}

/** Pure: a line merge of whole texts; the final newline is merged as a flag of its own. */
export function computeLinesMerge(o: Uint8Array, a: Uint8Array, b: Uint8Array): TextOutcome {
  const [lo, la, lb] = [computeByteLines(o), computeByteLines(a), computeByteLines(b)];
  const ids = computeByteLineIds(lo, la, lb);
  const lines = computeIdMerge(ids.o, ids.a, ids.b, ids.count);
  if (lines.kind === 'conflict') {
    const what =
      lines.reason === 'overlap' ? 'both sides changed the same or adjacent lines' : 'the change is too large to merge line by line';
    return { kind: 'conflict', reason: lines.reason, detail: `${what} (near line ${lines.baseLine + 1} of the base)` };
  }
  return {
    kind: 'merged',
    bytes: renderByteLines(lines.runs, [lo, la, lb], computeMergedFlag(lo.finalNewline, la.finalNewline, lb.finalNewline)),
  };
}

/** Pure: front matter key by key and the body by lines; null when any side's front matter cannot be split. */
function computeMarkdownMerge(o: Uint8Array, a: Uint8Array, b: Uint8Array): TextOutcome | null {
  const splits = [o, a, b].map(computeFrontMatterSplit);
  const blocks = splits.map((s) => (s === null ? null : computeKeyBlocks(s.yaml)));
  const [so, sa, sb] = splits;
  const [bo, ba, bb] = blocks;
  if (so == null || sa == null || sb == null || bo == null || ba == null || bb == null) return null;
  const yaml = computeFrontMatterMerge(bo, ba, bb);
  if (yaml.kind === 'conflict')
    return { kind: 'conflict', reason: 'front-matter-key', detail: `both sides changed front matter key ${yaml.key} differently` };
  if (computeKeyBlocks(yaml.yaml) === null) return null; // spliced text that does not parse back: merge it as lines
  const body = computeLinesMerge(so.body, sa.body, sb.body);
  if (body.kind === 'conflict') return body;
  return { kind: 'merged', bytes: Buffer.concat([utf8.encode(`---\n${yaml.yaml}---\n`), body.bytes]) };
}
