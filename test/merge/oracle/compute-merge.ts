// Test oracle: src/merge/compute-merge.ts as it was at main 919b4f0, before the merge was made faster
// (issue 22's bench): the texts decoded to strings, split, merged as strings and encoded again. Frozen on
// purpose: oracle.property.test.ts checks that src/merge writes the same bytes. What the speed-up did not
// touch (front matter key blocks, the line-ending choice, the canonical order) is imported from src.
/**
 * The merge of concurrent heads of one path from their common ancestor (ADR-0020). The output
 * is a pure function of the algorithm, the base and the set of head contents: heads are put in
 * canonical order (by their bytes, then version id) and duplicates of one content count once,
 * so two clients merging the same heads write the same bytes whatever order they saw them in.
 * More than two heads are folded in that order, each step against the same base; any step
 * that conflicts makes the whole merge a conflict (no partial merge is ever written).
 */
import { computeCanonicalHeads, type MergeHead, type MergeOutcome } from '../../../src/merge/compute-merge.js';
import { computeFrontMatterMerge, computeKeyBlocks } from '../../../src/merge/front-matter.js';
import { computeMergedEol, computeMergedFlag } from '../../../src/merge/line-text.js';
import type { MergeAlgo } from '../../../src/merge/merge-policy.js';
import { computeText } from '../../../src/merge/text-content.js';
import { computeFrontMatterSplit } from './front-matter.js';
import { computeLineMerge } from './line-merge.js';
import { computeCrlf, computeEolForm, computeLf, computeLineText, type LineText, renderLineText } from './line-text.js';

type TextOutcome = { readonly kind: 'merged'; readonly text: string } | Extract<MergeOutcome, { kind: 'conflict' }>;

/**
 * Pure: `heads` (at least two) merged from `base` (null: no common ancestor, as for two new
 * files; merged from the empty text, so only identical additions merge) with algorithm `algo`.
 */
export function computeMerge(algo: MergeAlgo, base: Uint8Array | null, heads: readonly MergeHead[]): MergeOutcome {
  if (heads.length < 2)
    return { kind: 'conflict', reason: 'too-few-heads', detail: `a merge needs two heads or more, got ${heads.length}` };
  const ordered = computeCanonicalHeads(heads);
  const texts = [base ?? new Uint8Array(0), ...ordered.map((h) => h.bytes)].map(computeText);
  if (texts.some((t) => t === null))
    return { kind: 'conflict', reason: 'not-text', detail: 'a side is not UTF-8 text or holds a NUL byte' };
  const [o, first, ...rest] = texts as string[];
  let acc = first as string;
  let previous = acc;
  for (const next of rest) {
    if (next === previous) continue; // heads with the same bytes count once (they sort together)
    previous = next;
    const step = computeTextMerge(algo, o as string, acc, next);
    if (step.kind === 'conflict') return step;
    acc = step.text;
  }
  return { kind: 'merged', bytes: new TextEncoder().encode(acc), parents: ordered.map((h) => h.version) };
}

/** Pure: one three-way step on texts: line endings apart, then front matter and lines. */
export function computeTextMerge(algo: MergeAlgo, o: string, a: string, b: string): TextOutcome {
  const forms = [o, a, b].map(computeEolForm);
  if (forms.includes('mixed')) return computeBodyMerge(algo, o, a, b); // merged as they are: CR stays in the lines
  const [fo, fa, fb] = forms as ['lf' | 'crlf' | 'none', 'lf' | 'crlf' | 'none', 'lf' | 'crlf' | 'none'];
  const eol = computeMergedEol(fo, fa, fb);
  if (eol === null)
    return { kind: 'conflict', reason: 'line-endings', detail: 'one side uses LF and the other CRLF, where the base had neither' };
  const lf = (t: string, f: string) => (f === 'crlf' ? computeLf(t) : t);
  const merged = computeBodyMerge(algo, lf(o, fo), lf(a, fa), lf(b, fb));
  if (merged.kind === 'conflict' || eol === 'lf') return merged;
  return { kind: 'merged', text: computeCrlf(merged.text) };
}

function computeBodyMerge(algo: MergeAlgo, o: string, a: string, b: string): TextOutcome {
  if (algo === 'markdown/1') {
    const withFrontMatter = computeMarkdownMerge(o, a, b);
    if (withFrontMatter !== null) return withFrontMatter;
  }
  return computeLinesMerge(o, a, b);
}

/** Pure: a line merge of whole texts; the final newline is merged as a flag of its own. */
export function computeLinesMerge(o: string, a: string, b: string): TextOutcome {
  const [lo, la, lb] = [o, a, b].map(computeLineText) as [LineText, LineText, LineText];
  const lines = computeLineMerge(lo.lines, la.lines, lb.lines);
  if (lines.kind === 'conflict') {
    const what =
      lines.reason === 'overlap' ? 'both sides changed the same or adjacent lines' : 'the change is too large to merge line by line';
    return { kind: 'conflict', reason: lines.reason, detail: `${what} (near line ${lines.baseLine + 1} of the base)` };
  }
  return {
    kind: 'merged',
    text: renderLineText({ lines: lines.lines, finalNewline: computeMergedFlag(lo.finalNewline, la.finalNewline, lb.finalNewline) }),
  };
}

/** Pure: front matter key by key and the body by lines; null when any side's front matter cannot be split. */
function computeMarkdownMerge(o: string, a: string, b: string): TextOutcome | null {
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
  return body.kind === 'conflict' ? body : { kind: 'merged', text: `---\n${yaml.yaml}---\n${body.text}` };
}
