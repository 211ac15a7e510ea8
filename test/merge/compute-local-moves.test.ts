/** Move detection (ADR-0020): examples and properties. */
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { computeLocalMoves, MOVE_SIMILARITY, type MoveCandidate } from '../../src/merge/compute-local-moves.js';

const file = (path: string, text: string): MoveCandidate => {
  const bytes = new TextEncoder().encode(text);
  return { path, hash: createHash('sha256').update(bytes).digest('hex'), size: bytes.byteLength, bytes };
};
const lines = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix} line ${i}`).join('\n') + '\n';

describe('computeLocalMoves examples', () => {
  it('pairs a path that disappeared with one that appeared with the same content', () => {
    expect(
      computeLocalMoves([file('a.md', 'hello\n'), file('gone.md', 'bye\n')], [file('b/a2.md', 'hello\n'), file('new.md', 'new\n')]),
    ).toEqual([{ from: 'a.md', to: 'b/a2.md', how: 'same-content' }]);
  });

  it('pairs a folder rename of identical files by file name, and leaves a real ambiguity as delete + add', () => {
    const moves = computeLocalMoves(
      [file('old/x.md', 'same\n'), file('old/y.md', 'same\n'), file('p.md', 'twin\n'), file('q.md', 'twin\n')],
      [file('new/x.md', 'same\n'), file('new/y.md', 'same\n'), file('r.md', 'twin\n'), file('s.md', 'twin\n')],
    );
    expect(moves).toEqual([
      { from: 'old/x.md', to: 'new/x.md', how: 'same-content' },
      { from: 'old/y.md', to: 'new/y.md', how: 'same-content' },
    ]);
  });

  it('never pairs empty files', () => {
    expect(computeLocalMoves([file('a.md', '')], [file('b.md', '')])).toEqual([]);
  });

  it('pairs a rename with a small edit, by similarity', () => {
    const old = lines('meeting notes', 10);
    expect(computeLocalMoves([file('old.md', old)], [file('renamed.md', old.replace('line 3', 'line three'))])).toEqual([
      { from: 'old.md', to: 'renamed.md', how: 'similar' },
    ]);
  });

  it('never pairs two notes from one template whose own lines are a third of them or more', () => {
    const template = lines('template', 6);
    const a = `${template}${lines('alice own', 2)}`;
    const b = `${template}${lines('bob own', 2)}`; // 2*6 / (2*6 + 4) = 0.75
    expect(computeLocalMoves([file('a.md', a)], [file('b.md', b)])).toEqual([]);
  });

  it('pairs nothing by similarity when two candidates tie', () => {
    const old = lines('x', 10);
    const one = old.replace('line 1', 'changed one');
    const two = old.replace('line 2', 'changed two');
    expect(computeLocalMoves([file('old.md', old)], [file('one.md', one), file('two.md', two)])).toEqual([]);
  });

  it('never pairs a path with itself, even when the input names it on both sides', () => {
    expect(computeLocalMoves([file('a.md', 'x\n')], [file('a.md', 'x\n')])).toEqual([]);
  });

  it('pairs a case-only rename (distinct paths)', () => {
    expect(computeLocalMoves([file('Notes.md', 'x\n')], [file('notes.md', 'x\n')])).toEqual([
      { from: 'Notes.md', to: 'notes.md', how: 'same-content' },
    ]);
  });
});

// Small alphabets so that equal contents and near-equal texts occur often.
const textArb = fc
  .array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', '', 'g', 'h', 'i', 'j'), { maxLength: 12 })
  .map((ls) => ls.join('\n'));
const candidatesArb = (...paths: string[]) =>
  fc.uniqueArray(fc.record({ path: fc.constantFrom(...paths), text: textArb }), { selector: (r) => r.path, maxLength: 5 });
// Mostly different paths on each side, a few shared (a path never moves onto itself).
const deletedArb = candidatesArb('a.md', 'b.md', 'x/a.md', 'c.txt', 'z/b.md', 'n.md');
const addedArb = candidatesArb('a.md', 'A.md', 'y/a.md', 'q/b.md', 'd.txt', 'm.md');

describe('computeLocalMoves properties', () => {
  it('pairs only equal or similar contents, never a path with itself, each path at most once, deterministically in any order', () => {
    const seen = { 'same-content': 0, similar: 0 };
    fc.assert(
      fc.property(deletedArb, addedArb, fc.array(fc.nat(), { minLength: 5, maxLength: 5 }), fc.nat(), (del, add, edits, seed) => {
        const deleted = del.map((r) => file(r.path, r.text));
        // Some added files are a deleted file's text, as it was or with one line edited (a rename with edits).
        const added = add.map((r, i) => {
          const e = edits[i] as number;
          const src = del[e % Math.max(1, del.length)];
          if (e % 3 === 0 || src === undefined) return file(r.path, r.text);
          if (e % 3 === 1) return file(r.path, src.text); // a plain move
          const ls = src.text.split('\n');
          ls[e % ls.length] = `edited ${e}`;
          return file(r.path, ls.join('\n'));
        });
        const moves = computeLocalMoves(deleted, added);
        const shuffled = computeLocalMoves(shuffle(deleted, seed), shuffle(added, seed + 1));
        expect(shuffled).toEqual(moves);
        const byPath = (cs: MoveCandidate[], p: string) => cs.find((c) => c.path === p) as MoveCandidate;
        for (const m of moves) {
          seen[m.how]++;
          expect(m.from).not.toBe(m.to);
          const [f, t] = [byPath(deleted, m.from), byPath(added, m.to)];
          if (m.how === 'same-content') expect(f.hash).toBe(t.hash);
          else expect(similarity(f, t)).toBeGreaterThanOrEqual(MOVE_SIMILARITY);
          expect(f.size).toBeGreaterThan(0);
        }
        expect(new Set(moves.map((m) => m.from)).size).toBe(moves.length);
        expect(new Set(moves.map((m) => m.to)).size).toBe(moves.length);
        const both = new Set(deleted.map((c) => c.path).filter((p) => added.some((c) => c.path === p)));
        expect(moves.filter((m) => both.has(m.from) || both.has(m.to))).toEqual([]);
      }),
      { numRuns: 500 },
    );
    // The generator does reach both kinds of move (the property is not vacuous).
    expect(seen['same-content']).toBeGreaterThan(10);
    expect(seen.similar).toBeGreaterThan(10);
  });
});

/** An independent Dice over non-blank trimmed lines (sorted-list intersection). */
function similarity(x: MoveCandidate, y: MoveCandidate): number {
  const ls = (c: MoveCandidate) =>
    new TextDecoder()
      .decode(c.bytes)
      .split('\n')
      .map((l) => l.trimEnd())
      .filter((l) => l !== '')
      .sort();
  const [a, b] = [ls(x), ls(y)];
  let i = 0;
  let j = 0;
  let common = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) [common, i, j] = [common + 1, i + 1, j + 1];
    else if ((a[i] as string) < (b[j] as string)) i++;
    else j++;
  }
  return (2 * common) / (a.length + b.length);
}

function shuffle<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
