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
 *
 * For speed (a 1 MiB note in well under 50 ms, docs/performance.md) lines are numbered first:
 * equal lines get equal ids, and anchors, trimming and the unchanged-side shortcuts compare
 * ids in typed arrays; only the few pieces both sides changed reach node-diff3, as strings.
 * The outcome is byte for byte the one of the string version kept as a test oracle
 * (test/merge/oracle, checked by test/merge/oracle.property.test.ts).
 */
import { diff3Merge } from 'node-diff3';

/** Upper bound on node-diff3's LCS steps for one merge (about 60 ms of work on a slow core). */
export const LINE_MERGE_BUDGET = 20_000_000;

/** The result of merging line lists. */
export type LineMergeOutcome =
  | { readonly kind: 'merged'; readonly lines: readonly string[] }
  | { readonly kind: 'conflict'; readonly reason: 'overlap' | 'too-complex'; readonly baseLine: number };

type Conflict = Extract<LineMergeOutcome, { kind: 'conflict' }>;

/** One side's line ids, which side it is (0 base, 1 a, 2 b), and a range of its lines [start, end). */
interface Span {
  readonly ids: Int32Array;
  readonly side: 0 | 1 | 2;
  start: number;
  end: number;
}

/**
 * The merged lines as runs of consecutive lines of one side: flat triples (side, first line,
 * end line exclusive), so a caller copies an unchanged stretch of a note in one piece.
 */
export class LineRuns {
  readonly triples: number[] = [];

  /** Appends lines [start, end) of `side`, joined to the last run when they continue it. */
  push(side: number, start: number, end: number): void {
    if (end <= start) return;
    const t = this.triples;
    const n = t.length;
    if (n > 0 && t[n - 3] === side && t[n - 1] === start) t[n - 1] = end;
    else t.push(side, start, end);
  }
}

/** The result of merging lines given as ids. */
export type IdMergeOutcome = { readonly kind: 'merged'; readonly runs: LineRuns } | Conflict;

/**
 * Pure: merge `a` and `b`, both derived from `base`, all three as line ids (equal lines have
 * equal ids, each below `count`). Symmetric in `a` and `b`.
 */
export function computeIdMerge(base: Int32Array, a: Int32Array, b: Int32Array, count: number): IdMergeOutcome {
  const anchors = computeAnchors(base, a, b, count);
  const so: Span = { ids: base, side: 0, start: 0, end: 0 };
  const sa: Span = { ids: a, side: 1, start: 0, end: 0 };
  const sb: Span = { ids: b, side: 2, start: 0, end: 0 };
  const out = new LineRuns();
  let budget = LINE_MERGE_BUDGET;
  for (let k = 0; k <= anchors.o.length; k++) {
    so.end = k < anchors.o.length ? (anchors.o[k] as number) : base.length;
    sa.end = k < anchors.o.length ? (anchors.a[k] as number) : a.length;
    sb.end = k < anchors.o.length ? (anchors.b[k] as number) : b.length;
    // Most gaps between anchors are empty in all three (an unchanged run of unique lines).
    if (so.end > so.start || sa.end > sa.start || sb.end > sb.start) {
      const cost = mergeGap(so, sa, sb, budget, out);
      if (typeof cost !== 'number') return cost;
      budget -= cost;
    }
    if (so.end < base.length) out.push(0, so.end, so.end + 1);
    so.start = so.end + 1;
    sa.start = sa.end + 1;
    sb.start = sb.end + 1;
  }
  return { kind: 'merged', runs: out };
}

/** Pure: `computeIdMerge` for lines given as strings. */
export function computeLineMerge(base: readonly string[], a: readonly string[], b: readonly string[]): LineMergeOutcome {
  const table = new Map<string, number>();
  const lines: string[] = [];
  const idsOf = (xs: readonly string[]) =>
    Int32Array.from(xs, (line) => {
      let id = table.get(line);
      if (id === undefined) table.set(line, (id = lines.push(line) - 1));
      return id;
    });
  const sides = [base, a, b];
  const [io, ia, ib] = sides.map(idsOf) as [Int32Array, Int32Array, Int32Array];
  const merged = computeIdMerge(io, ia, ib, lines.length);
  if (merged.kind === 'conflict') return merged;
  const out: string[] = [];
  const t = merged.runs.triples;
  for (let k = 0; k < t.length; k += 3) out.push(...(sides[t[k] as number] as readonly string[]).slice(t[k + 1], t[k + 2]));
  return { kind: 'merged', lines: out };
}

/**
 * A gap between anchors, merged onto `out`: the lines all three share at its start and end are
 * kept, the rest merged. Returns the work spent, or the conflict. Leaves the spans' ends as found.
 */
function mergeGap(o: Span, a: Span, b: Span, budget: number, out: LineRuns): number | Conflict {
  const oStart = o.start; // plain locals, not an array: this runs once per gap, tens of thousands of times a note
  const oEnd = o.end;
  const aEnd = a.end;
  const bEnd = b.end;
  while (o.start < o.end && a.start < a.end && b.start < b.end && same3(o, a, b, o.start, a.start, b.start)) {
    o.start++;
    a.start++;
    b.start++;
  }
  while (o.start < o.end && a.start < a.end && b.start < b.end && same3(o, a, b, o.end - 1, a.end - 1, b.end - 1)) {
    o.end--;
    a.end--;
    b.end--;
  }
  out.push(0, oStart, o.start);
  const cost = mergePiece(o, a, b, budget, out);
  out.push(0, o.end, oEnd);
  o.end = oEnd; // the caller reads the anchor at the gap's end and starts the next gap after it
  a.end = aEnd;
  b.end = bEnd;
  return cost;
}

const same3 = (o: Span, a: Span, b: Span, i: number, j: number, k: number): boolean => o.ids[i] === a.ids[j] && o.ids[i] === b.ids[k];

/** A piece both sides may have changed, merged onto `out`; its work, or the conflict. */
function mergePiece(o: Span, a: Span, b: Span, budget: number, out: LineRuns): number | Conflict {
  const unchanged = sameSpan(o, a) ? b : sameSpan(o, b) || sameSpan(a, b) ? a : null;
  if (unchanged !== null) {
    out.push(unchanged.side, unchanged.start, unchanged.end);
    return 0;
  }
  const cost = computeLcsCost(o, a) + computeLcsCost(o, b);
  if (cost > budget) return { kind: 'conflict', reason: 'too-complex', baseLine: o.start };
  const [io, ia, ib] = [o, a, b].map((s) => Array.from(s.ids.subarray(s.start, s.end))) as [number[], number[], number[]];
  const merged = computeDiff3(io, ia, ib, o.start);
  if (merged.kind === 'conflict') return merged;
  const where = new Map<number, readonly [number, number]>(); // a place each id of the piece is at
  for (const s of [o, a, b])
    for (let i = s.start; i < s.end; i++) if (!where.has(s.ids[i] as number)) where.set(s.ids[i] as number, [s.side, i]);
  for (const id of merged.lines) {
    const [side, i] = where.get(id) as readonly [number, number];
    out.push(side, i, i + 1);
  }
  return cost;
}

/** node-diff3 over one piece (lines or their ids): its lines, or the first conflicting region. */
function computeDiff3<T>(o: T[], a: T[], b: T[], oStart: number): { kind: 'merged'; lines: T[] } | Conflict {
  const lines: T[] = [];
  for (const region of diff3Merge<T>(a, o, b, { excludeFalseConflicts: true })) {
    if (region.conflict !== undefined) return { kind: 'conflict', reason: 'overlap', baseLine: oStart + region.conflict.oIndex };
    lines.push(...(region.ok ?? []));
  }
  return { kind: 'merged', lines };
}

/**
 * Pure: the same merge by node-diff3 over the whole inputs, without anchors (no budget: for
 * tests and benchmarks only, which check that cutting at anchors changes no outcome).
 */
export function computePlainLineMerge(base: readonly string[], a: readonly string[], b: readonly string[]): LineMergeOutcome {
  const same = (x: readonly string[], y: readonly string[]) => x.length === y.length && x.every((l, i) => l === y[i]);
  if (same(base, a)) return { kind: 'merged', lines: b };
  if (same(base, b) || same(a, b)) return { kind: 'merged', lines: a };
  return computeDiff3([...base], [...a], [...b], 0);
}

const sameSpan = (x: Span, y: Span): boolean => {
  if (x.end - x.start !== y.end - y.start) return false;
  for (let i = 0; i < x.end - x.start; i++) if (x.ids[x.start + i] !== y.ids[y.start + i]) return false;
  return true;
};

/**
 * An upper bound on the steps of node-diff3's LCS(o, x): for each base line, the lines of `x`
 * equal to it, each scanning at most the candidate list (no longer than the shorter input).
 */
function computeLcsCost(o: Span, x: Span): number {
  const counts = new Map<number, number>();
  for (let i = x.start; i < x.end; i++) counts.set(x.ids[i] as number, (counts.get(x.ids[i] as number) ?? 0) + 1);
  let pairs = 0;
  for (let i = o.start; i < o.end; i++) pairs += counts.get(o.ids[i] as number) ?? 0;
  const [on, xn] = [o.end - o.start, x.end - x.start];
  return pairs * (Math.min(on, xn) + 1) + on + xn;
}

/** Pure: anchors as positions in the base, in a and in b, increasing in all three. */
function computeAnchors(o: Int32Array, a: Int32Array, b: Int32Array, count: number): { o: Int32Array; a: Int32Array; b: Int32Array } {
  const [uo, ua, ub] = [o, a, b].map((x) => uniquePositions(x, count)) as [Int32Array, Int32Array, Int32Array];
  const to = new Int32Array(o.length);
  const ta = new Int32Array(o.length);
  const tb = new Int32Array(o.length);
  let n = 0;
  for (let i = 0; i < o.length; i++) {
    const id = o[i] as number;
    if (uo[id] !== i || (ua[id] as number) < 0 || (ub[id] as number) < 0) continue;
    to[n] = i;
    ta[n] = ua[id] as number;
    tb[n++] = ub[id] as number;
  }
  // Longest run increasing in a, then within it the longest increasing in b: deterministic.
  const inA = longestIncreasing(ta.subarray(0, n));
  const inB = longestIncreasing(select(tb, inA));
  const chosen = select(inA, inB);
  return { o: select(to, chosen), a: select(ta, chosen), b: select(tb, chosen) };
}

/** `xs` at positions `at` (a loop: typed arrays' map with a callback is slow in V8). */
function select(xs: Int32Array, at: Int32Array): Int32Array {
  const out = new Int32Array(at.length);
  for (let i = 0; i < at.length; i++) out[i] = xs[at[i] as number] as number;
  return out;
}

/** Each id's position in `ids` when it occurs exactly once; -1 absent, -2 repeated. */
function uniquePositions(ids: Int32Array, count: number): Int32Array {
  const at = new Int32Array(count).fill(-1);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as number;
    at[id] = at[id] === -1 ? i : -2;
  }
  return at;
}

/** Patience sorting: indexes of the longest subsequence of `keys` that strictly increases (O(n log n)). */
function longestIncreasing(keys: Int32Array): Int32Array {
  const tails = new Int32Array(keys.length); // index into keys of the smallest tail of each length
  let length = 0;
  const prev = new Int32Array(keys.length).fill(-1);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as number;
    let lo = 0;
    let hi = length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((keys[tails[mid] as number] as number) < k) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) prev[i] = tails[lo - 1] as number;
    tails[lo] = i;
    if (lo === length) length++;
  }
  const out = new Int32Array(length);
  for (let i = length > 0 ? (tails[length - 1] as number) : -1, n = length - 1; i >= 0; i = prev[i] as number) out[n--] = i;
  return out;
}
