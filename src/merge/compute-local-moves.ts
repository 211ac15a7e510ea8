/**
 * Moves found in one sync's local changes (ADR-0020): a path that disappeared paired with a path
 * that appeared. Pure and deterministic: the same deletions and additions, in any order, give
 * the same moves. Paths not paired stay a delete and an add, as in format 1.
 *
 * 1. Same content: a deleted base version and an added file with the same hash (never an empty
 *    file: all empty files are alike). A hash with one deletion and one addition pairs them;
 *    with several, the ones whose file name is unique to that hash on both sides pair, the rest
 *    stay unpaired (which note went where is a guess).
 * 2. Similar text (a rename with edits), only among what step 1 left: Dice similarity of the
 *    non-blank lines (trailing spaces trimmed, counted as multisets) at least MOVE_SIMILARITY,
 *    each file with at least MOVE_MIN_LINES such lines, and each the other's single best match
 *    (a tie pairs nothing). Two notes made from one template of t lines with a and b lines of
 *    their own score 2t / (2t + a + b): they pair only when t >= 2(a + b), i.e. when their own
 *    lines are under a third of each; below that a note and a template copy cannot be told apart.
 */
import { computeText } from './text-content.js';

/** The least similarity (Dice, over non-blank lines) of a rename with edits. */
export const MOVE_SIMILARITY = 0.8;
/** The fewest non-blank lines a file needs to be paired by similarity. */
export const MOVE_MIN_LINES = 3;
/** Similarity is compared for at most this many (deleted, added) pairs per sync; more: none. */
export const MOVE_MAX_COMPARISONS = 250_000;

/** A path that disappeared (its base version) or appeared (the new file), with its bytes if text pairing may read them. */
export interface MoveCandidate {
  readonly path: string;
  readonly hash: string;
  readonly size: number;
  readonly bytes?: Uint8Array;
}

export interface LocalMove {
  readonly from: string;
  readonly to: string;
  readonly how: 'same-content' | 'similar';
}

/** Pure: the moves among `deleted` and `added`, sorted by `to`. */
export function computeLocalMoves(deleted: readonly MoveCandidate[], added: readonly MoveCandidate[]): LocalMove[] {
  // A path both deleted and added (not a real sync's input) takes part in no move: never onto itself.
  const addedPaths = new Set(added.map((c) => c.path));
  const both = new Set(deleted.map((c) => c.path).filter((p) => addedPaths.has(p)));
  const gone = uniqueByPath(deleted.filter((c) => !both.has(c.path)));
  const fresh = uniqueByPath(added.filter((c) => !both.has(c.path)));
  const exact = computeSameContentMoves(gone, fresh);
  const from = new Set(exact.map((m) => m.from));
  const to = new Set(exact.map((m) => m.to));
  const similar = computeSimilarMoves(
    gone.filter((c) => !from.has(c.path)),
    fresh.filter((c) => !to.has(c.path)),
  );
  return [...exact, ...similar].sort((x, y) => compare(x.to, y.to));
}

const compare = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
const baseName = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/** One candidate per path (the first in path-then-hash order), sorted by path. */
function uniqueByPath(cs: readonly MoveCandidate[]): MoveCandidate[] {
  const sorted = [...cs].sort((x, y) => compare(x.path, y.path) || compare(x.hash, y.hash));
  return sorted.filter((c, i) => i === 0 || sorted[i - 1]?.path !== c.path);
}

/** The candidates by hash (in input order), empty files left out. */
function groupByHash(cs: readonly MoveCandidate[]): Map<string, MoveCandidate[]> {
  const out = new Map<string, MoveCandidate[]>();
  for (const c of cs) {
    if (c.size === 0) continue;
    const same = out.get(c.hash);
    if (same === undefined) out.set(c.hash, [c]);
    else same.push(c);
  }
  return out;
}

function computeSameContentMoves(gone: readonly MoveCandidate[], fresh: readonly MoveCandidate[]): LocalMove[] {
  const moves: LocalMove[] = [];
  const freshByHash = groupByHash(fresh);
  for (const [hash, from] of groupByHash(gone)) {
    const to = freshByHash.get(hash) ?? [];
    if (to.length === 0) continue;
    if (from.length === 1 && to.length === 1) {
      moves.push({ from: (from[0] as MoveCandidate).path, to: (to[0] as MoveCandidate).path, how: 'same-content' });
      continue;
    }
    for (const f of from) {
      const sameNameFrom = from.filter((x) => baseName(x.path) === baseName(f.path));
      const sameNameTo = to.filter((x) => baseName(x.path) === baseName(f.path));
      if (sameNameFrom.length === 1 && sameNameTo.length === 1)
        moves.push({ from: f.path, to: (sameNameTo[0] as MoveCandidate).path, how: 'same-content' });
    }
  }
  return moves;
}

/** Non-blank lines, trailing whitespace trimmed, as a multiset; null when not text or too short. */
function lineBag(c: MoveCandidate): { bag: Map<string, number>; count: number } | null {
  const text = c.bytes === undefined ? null : computeText(c.bytes);
  if (text === null) return null;
  const bag = new Map<string, number>();
  let count = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line === '') continue;
    bag.set(line, (bag.get(line) ?? 0) + 1);
    count++;
  }
  return count >= MOVE_MIN_LINES ? { bag, count } : null;
}

/** Pure: Dice similarity of two line multisets. */
export function computeLineSimilarity(
  x: { bag: Map<string, number>; count: number },
  y: { bag: Map<string, number>; count: number },
): number {
  let common = 0;
  for (const [line, n] of x.bag) common += Math.min(n, y.bag.get(line) ?? 0);
  return (2 * common) / (x.count + y.count);
}

function computeSimilarMoves(gone: readonly MoveCandidate[], fresh: readonly MoveCandidate[]): LocalMove[] {
  const from = gone.map((c) => ({ c, lines: lineBag(c) })).filter((x) => x.lines !== null);
  const to = fresh.map((c) => ({ c, lines: lineBag(c) })).filter((x) => x.lines !== null);
  if (from.length * to.length > MOVE_MAX_COMPARISONS) return [];
  const score = from.map((f) =>
    to.map((t) => {
      const [fl, tl] = [f.lines as NonNullable<typeof f.lines>, t.lines as NonNullable<typeof t.lines>];
      // Dice cannot reach the threshold when one file has far fewer lines: skip the count.
      return (2 * Math.min(fl.count, tl.count)) / (fl.count + tl.count) < MOVE_SIMILARITY ? 0 : computeLineSimilarity(fl, tl);
    }),
  );
  const moves: LocalMove[] = [];
  score.forEach((row, i) => {
    const j = singleBest(row);
    if (j < 0 || singleBest(score.map((r) => r[j] as number)) !== i) return;
    moves.push({ from: (from[i] as (typeof from)[number]).c.path, to: (to[j] as (typeof to)[number]).c.path, how: 'similar' });
  });
  return moves;
}

/** The index of the one highest score at or above the threshold; -1 when none or tied. */
function singleBest(scores: readonly number[]): number {
  let best = -1;
  let tied = false;
  scores.forEach((s, i) => {
    if (s < MOVE_SIMILARITY) return;
    const top = best < 0 ? -1 : (scores[best] as number);
    if (s > top) [best, tied] = [i, false];
    else if (s === top) tied = true;
  });
  return tied ? -1 : best;
}
