// Test oracle: src/merge/line-merge.ts as it was at main 919b4f0, before the merge was made faster
// (issue 22's bench). Frozen on purpose: oracle.property.test.ts checks that src/merge writes the same bytes.
/**
 * Three-way merge of line lists from their common ancestor (ADR-0020). node-diff3 does the
 * diff3 step (Khanna, Kunal and Pierce: hunks of base→a and base→b that overlap or touch are a
 * conflict unless both made the same change). Its LCS scans candidates linearly, which is cubic
 * on repeated lines (blank lines, "- [ ]"): 465 ms for a 1,000-line note, 50 s for 4,000. So the
 * inputs are first cut at anchors, lines that occur exactly once in each of the three and in the
 * same order in all three (as patience diff does). An anchor is a line neither head changed, so
 * cutting there never joins or splits a hunk: the conflict rule is the same as diff3 over the
 * whole text. Within a piece, a deterministic work estimate bounds node-diff3's cost; a merge
 * over the budget is refused ('too-complex'), the same way on every client.
 */
import { diff3Merge } from 'node-diff3';

/** Upper bound on node-diff3's LCS steps for one merge (about 60 ms of work on a slow core). */
export const LINE_MERGE_BUDGET = 20_000_000;

/** The result of merging line lists. */
export type LineMergeOutcome =
  | { readonly kind: 'merged'; readonly lines: readonly string[] }
  | { readonly kind: 'conflict'; readonly reason: 'overlap' | 'too-complex'; readonly baseLine: number };

interface Piece {
  readonly o: readonly string[];
  readonly a: readonly string[];
  readonly b: readonly string[];
  /** Index in the base of the piece's first line (for reporting a conflict). */
  readonly oStart: number;
}

/** Pure: merge `a` and `b`, both derived from `base`. Symmetric in `a` and `b`. */
export function computeLineMerge(base: readonly string[], a: readonly string[], b: readonly string[]): LineMergeOutcome {
  const out: string[] = [];
  let budget = LINE_MERGE_BUDGET;
  let [io, ia, ib] = [0, 0, 0];
  for (const [ao, aa, ab] of [...computeAnchors(base, a, b), [base.length, a.length, b.length] as const]) {
    // Most gaps between anchors are empty in all three (an unchanged run of unique lines).
    if (ao > io || aa > ia || ab > ib) {
      const merged = mergeGap(base.slice(io, ao), a.slice(ia, aa), b.slice(ib, ab), io, budget);
      if (merged.kind === 'conflict') return merged;
      budget -= merged.cost;
      for (const line of merged.lines) out.push(line);
    }
    if (ao < base.length) out.push(base[ao] as string);
    [io, ia, ib] = [ao + 1, aa + 1, ab + 1];
  }
  return { kind: 'merged', lines: out };
}

/** A gap between anchors: the lines all three share at its start and end are kept, the rest merged. */
function mergeGap(o: string[], a: string[], b: string[], oStart: number, budget: number): PieceResult {
  let head = 0;
  while (head < o.length && head < a.length && head < b.length && o[head] === a[head] && o[head] === b[head]) head++;
  let tail = 0;
  const room = Math.min(o.length, a.length, b.length) - head;
  while (tail < room && o[o.length - 1 - tail] === a[a.length - 1 - tail] && o[o.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const piece = {
    o: o.slice(head, o.length - tail),
    a: a.slice(head, a.length - tail),
    b: b.slice(head, b.length - tail),
    oStart: oStart + head,
  };
  const merged = mergePiece(piece, budget);
  if (merged.kind === 'conflict') return merged;
  return { kind: 'merged', lines: [...o.slice(0, head), ...merged.lines, ...o.slice(o.length - tail)], cost: merged.cost };
}

/**
 * Pure: the same merge by node-diff3 over the whole inputs, without anchors (no budget: for
 * tests and benchmarks only, which check that cutting at anchors changes no outcome).
 */
export function computePlainLineMerge(base: readonly string[], a: readonly string[], b: readonly string[]): LineMergeOutcome {
  const merged = mergePiece({ o: base, a, b, oStart: 0 }, Number.POSITIVE_INFINITY);
  return merged.kind === 'merged' ? { kind: 'merged', lines: merged.lines } : merged;
}

type PieceResult =
  | { readonly kind: 'merged'; readonly lines: readonly string[]; readonly cost: number }
  | Extract<LineMergeOutcome, { kind: 'conflict' }>;

function mergePiece(p: Piece, budget: number): PieceResult {
  const { o, a, b } = p;
  if (sameLines(o, a)) return { kind: 'merged', lines: b, cost: 0 };
  if (sameLines(o, b) || sameLines(a, b)) return { kind: 'merged', lines: a, cost: 0 };
  const cost = computeLcsCost(o, a) + computeLcsCost(o, b);
  if (cost > budget) return { kind: 'conflict', reason: 'too-complex', baseLine: p.oStart };
  const lines: string[] = [];
  for (const region of diff3Merge<string>([...a], [...o], [...b], { excludeFalseConflicts: true })) {
    if (region.conflict !== undefined) return { kind: 'conflict', reason: 'overlap', baseLine: p.oStart + region.conflict.oIndex };
    lines.push(...(region.ok ?? []));
  }
  return { kind: 'merged', lines, cost };
}

/**
 * An upper bound on the steps of node-diff3's LCS(o, x): for each base line, the lines of `x`
 * equal to it, each scanning at most the candidate list (no longer than the shorter input).
 */
function computeLcsCost(o: readonly string[], x: readonly string[]): number {
  const counts = new Map<string, number>();
  for (const line of x) counts.set(line, (counts.get(line) ?? 0) + 1);
  let pairs = 0;
  for (const line of o) pairs += counts.get(line) ?? 0;
  return pairs * (Math.min(o.length, x.length) + 1) + o.length + x.length;
}

const sameLines = (x: readonly string[], y: readonly string[]): boolean => x.length === y.length && x.every((l, i) => l === y[i]);

/** Pure: positions [inBase, inA, inB] of anchor lines, increasing in all three. */
function computeAnchors(o: readonly string[], a: readonly string[], b: readonly string[]): (readonly [number, number, number])[] {
  const ua = uniquePositions(a);
  const ub = uniquePositions(b);
  const triples: [number, number, number][] = [];
  uniquePositions(o).forEach((io, line) => {
    const ia = ua.get(line);
    const ib = ub.get(line);
    if (ia !== undefined && ib !== undefined) triples.push([io, ia, ib]);
  });
  triples.sort((x, y) => x[0] - y[0]);
  // Longest run increasing in a, then within it the longest increasing in b: deterministic.
  const inA = longestIncreasing(triples, (t) => t[1]);
  return longestIncreasing(inA, (t) => t[2]);
}

/** Lines occurring exactly once in `lines`, with their position. */
function uniquePositions(lines: readonly string[]): Map<string, number> {
  const seen = new Map<string, number>();
  for (const [i, line] of lines.entries()) seen.set(line, seen.has(line) ? -1 : i);
  for (const [line, i] of seen) if (i < 0) seen.delete(line);
  return seen;
}

/** Patience sorting: the longest subsequence of `items` whose keys strictly increase (O(n log n)). */
function longestIncreasing<T>(items: readonly T[], key: (t: T) => number): T[] {
  const tails: number[] = []; // index into items of the smallest tail of each length
  const prev: number[] = new Array<number>(items.length).fill(-1);
  items.forEach((item, i) => {
    const k = key(item);
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (key(items[tails[mid] as number] as T) < k) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) prev[i] = tails[lo - 1] as number;
    tails[lo] = i;
  });
  const out: T[] = [];
  for (let i = tails.length > 0 ? (tails[tails.length - 1] as number) : -1; i >= 0; i = prev[i] as number) out.push(items[i] as T);
  return out.reverse();
}
