/**
 * Properties of the merge (ADR-0020, docs/reliability.md "Merges and moves"): determinism in
 * any head order, no lost change (against an oracle built from the edits themselves, not from
 * a diff), identity laws, conflicts never carry bytes, front matter order and comments kept.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeMerge, type MergeHead, type MergeOutcome } from '../../src/merge/compute-merge.js';
import { computeLineMerge, computePlainLineMerge } from '../../src/merge/line-merge.js';
import { MergeAlgo } from '../../src/merge/merge-policy.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const heads = (texts: readonly string[]): MergeHead[] => texts.map((t, i) => ({ version: `v${i}`, bytes: enc(t) }));
const merged = (r: MergeOutcome): string => {
  if (r.kind !== 'merged') throw new Error(`expected a merge, got a conflict: ${r.reason} ${r.detail}`);
  return dec(r.bytes);
};
const algoArb = fc.constantFrom(MergeAlgo.lines, MergeAlgo.markdown);

// ---- An oracle: texts built from zones, so the merge every side's edits should give is known.
// A zone is kept lines, or an edit of some base lines by one head (or by all alike). Every line
// is unique, and edits are always separated by at least one kept line (never adjacent).
type Zone = { keep: number } | { owner: number; base: number; repl: number };
const editArb = (headCount: number) =>
  fc.record({ owner: fc.integer({ min: -1, max: headCount - 1 }), base: fc.nat(2), repl: fc.nat(2) }).filter((z) => z.base + z.repl > 0);
const zonesArb = (headCount: number) =>
  fc
    .tuple(fc.nat(2), fc.array(fc.tuple(editArb(headCount), fc.integer({ min: 1, max: 3 })), { maxLength: 6 }), fc.boolean())
    .map(([lead, edits, editLast]) => {
      const zones: Zone[] = lead > 0 ? [{ keep: lead }] : [];
      edits.forEach(([e, keep], i) => zones.push(e, ...(i < edits.length - 1 || !editLast ? [{ keep }] : [])));
      return zones;
    });

/** The lines of the base (side -2), of head `side`, or of the expected merge (side -3). */
function render(zones: readonly Zone[], side: number): string[] {
  const out: string[] = [];
  zones.forEach((z, i) => {
    if ('keep' in z) for (let k = 0; k < z.keep; k++) out.push(`kept ${i}.${k}`);
    else {
      const edited = side === -3 || (side >= 0 && (z.owner === side || z.owner === -1));
      const n = edited ? z.repl : z.base;
      for (let k = 0; k < n; k++) out.push(edited ? `zone ${i} by ${z.owner < 0 ? 'all' : z.owner}, line ${k}` : `base ${i}.${k}`);
    }
  });
  return out;
}

const eolArb = fc.constantFrom('\n', '\r\n');
const joinText = (lines: readonly string[], eol: string, finalNewline: boolean) =>
  lines.length === 0 ? '' : lines.join(eol) + (finalNewline ? eol : '');

describe('merge properties', () => {
  it('no lost change: edits of 2 or 3 heads, never adjacent, merge to every edit as its head made it (LF or CRLF, final newline as a flag)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 3 }).chain((n) => fc.tuple(fc.constant(n), zonesArb(n))),
        eolArb,
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        algoArb,
        ([n, zones], eol, finals, algo) => {
          // A text with no lines has no final newline: the flag a text has is the one its bytes show.
          const finalOf = (side: number, f: boolean) => f && render(zones, side).length > 0;
          const baseFinal = finalOf(-2, finals[0] as boolean);
          const headFinal = Array.from({ length: n }, (_, i) => finalOf(i, finals[i + 1] as boolean));
          const expectedFinal = headFinal.some((f) => f !== baseFinal) ? !baseFinal : baseFinal;
          const texts = Array.from({ length: n }, (_, i) => joinText(render(zones, i), eol, headFinal[i] as boolean));
          const r = computeMerge(algo, enc(joinText(render(zones, -2), eol, baseFinal)), heads(texts));
          const want = render(zones, -3);
          const wantText = want.length === 0 ? (expectedFinal ? eol : '') : joinText(want, eol, expectedFinal);
          expect(merged(r)).toBe(wantText);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('cutting at anchors changes no outcome: the same lines as node-diff3 over the whole texts, with and without clashes', () => {
    fc.assert(
      fc.property(zonesArb(2), fc.nat(), fc.boolean(), (zones, at, clash) => {
        const i = at % (zones.length + 1);
        const all: Zone[] = clash
          ? [...zones.slice(0, i), { owner: 0, base: 1, repl: 1 }, { owner: 1, base: 1, repl: 1 }, ...zones.slice(i)]
          : zones;
        const [o, a, b] = [render(all, -2), render(all, 0), render(all, 1)];
        const anchored = computeLineMerge(o, a, b);
        expect(anchored.kind).toBe(computePlainLineMerge(o, a, b).kind);
        if (anchored.kind === 'merged') expect(anchored).toEqual(computePlainLineMerge(o, a, b));
        if (!clash) expect(anchored).toEqual({ kind: 'merged', lines: render(all, -3) });
      }),
      { numRuns: 400 },
    );
  });

  it('adjacent or overlapping edits of two heads are a conflict, and a conflict carries no bytes', () => {
    fc.assert(
      fc.property(zonesArb(2), fc.nat(), fc.boolean(), (zones, at, sameZone) => {
        // Two edits touching: in one zone with different text, or in two zones with no kept line between.
        const i = at % (zones.length + 1);
        const clash: Zone[] = sameZone
          ? [{ owner: 0, base: 1, repl: 1 }]
          : [
              { owner: 0, base: 1, repl: 1 },
              { owner: 1, base: 1, repl: 1 },
            ];
        const all = [...zones.slice(0, i), { keep: 1 }, ...clash, { keep: 1 }, ...zones.slice(i)];
        const a = render(all, 0);
        const b = sameZone ? render(all, 1).map((l) => (l.startsWith(`base ${i + 1}.`) ? 'other text' : l)) : render(all, 1);
        const r = computeMerge(MergeAlgo.lines, enc(render(all, -2).join('\n')), heads([a.join('\n'), b.join('\n')]));
        expect(r.kind).toBe('conflict');
        expect('bytes' in r).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  // Arbitrary texts: lines from a small alphabet (repeats, blanks, front matter pieces), any line endings.
  const lineArb = fc.constantFrom('a', 'b', 'c', '', '- x', '---', 'k: 1', 'k: 2', 'j: 3', '# c', 'x\r');
  const textArb = fc
    .tuple(fc.array(lineArb, { maxLength: 10 }), fc.constantFrom('\n', '\r\n'), fc.boolean())
    .map(([ls, eol, f]) => joinText(ls, eol, f));

  it('determinism: the same heads in any order give the same outcome (bytes and parents)', () => {
    fc.assert(
      fc.property(algoArb, textArb, fc.array(textArb, { minLength: 2, maxLength: 4 }), fc.nat(), (algo, o, hs, seed) => {
        const given = heads(hs);
        const shuffled = [...given].sort((x, y) => (hash(x.version, seed) - hash(y.version, seed)) | 0);
        expect(computeMerge(algo, enc(o), shuffled)).toEqual(computeMerge(algo, enc(o), given));
      }),
      { numRuns: 500 },
    );
  });

  it('identity laws: merge(o, o, b) = b and merge(o, b, b) = b, byte for byte', () => {
    fc.assert(
      fc.property(algoArb, textArb, textArb, (algo, o, b) => {
        expect(merged(computeMerge(algo, enc(o), heads([o, b])))).toBe(b);
        expect(merged(computeMerge(algo, enc(o), heads([b, o])))).toBe(b);
        expect(merged(computeMerge(algo, enc(o), heads([b, b])))).toBe(b);
      }),
      { numRuns: 500 },
    );
  });

  it('every line a head added (beyond the base count) is in a clean merge, and a conflict carries no bytes', () => {
    const count = (ls: readonly string[]) => ls.reduce((m, l) => m.set(l, (m.get(l) ?? 0) + 1), new Map<string, number>());
    fc.assert(
      fc.property(textArb, textArb, textArb, (o, a, b) => {
        const lf = (t: string) => t.replaceAll('\r\n', '\n');
        const r = computeMerge(MergeAlgo.lines, enc(lf(o)), heads([lf(a), lf(b)]));
        if (r.kind === 'conflict') {
          expect('bytes' in r).toBe(false);
          return;
        }
        // Lines compared without CRs: a merge writes every line with the heads' line ending (a
        // CRLF side makes the result CRLF), and lf() of "\r\r\n" still holds a CRLF.
        const lines = (t: string) => t.replaceAll('\r', '').split('\n');
        const got = count(lines(dec(r.bytes)));
        const base = count(lines(lf(o)));
        for (const side of [a, b]) {
          for (const [line, n] of count(lines(lf(side)))) expect(got.get(line) ?? 0).toBeGreaterThanOrEqual(n - (base.get(line) ?? 0));
        }
      }),
      { numRuns: 1000 },
    );
  });
});

function hash(s: string, seed: number): number {
  let h = seed | 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 2654435761);
  return h;
}

// ---- Front matter: keys with comments; each head changes its own keys and adds one.
describe('front matter properties', () => {
  const keysArb = fc.uniqueArray(fc.constantFrom('title', 'tags', 'status', 'date', 'owner', 'area', 'due', 'rank'), {
    minLength: 2,
    maxLength: 8,
  });
  it('keeps key order and every comment, and has both heads non-overlapping key changes and additions', () => {
    fc.assert(
      fc.property(
        keysArb,
        fc.array(fc.constantFrom(0, 1, 2), { minLength: 8, maxLength: 8 }),
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        (keys, who, commented) => {
          // who[i]: 0 nobody changes key i, 1 head A changes it, 2 head B does.
          const block = (k: string, i: number, v: string) => `${commented[i] ? `# about ${k}\n` : ''}${k}: ${v} # ${k} inline\n`;
          const fm = (side: number, extra: string) =>
            `---\n# head comment\n${keys.map((k, i) => block(k, i, who[i] === side && side > 0 ? `changed by ${side}` : 'base')).join('')}${extra}---\nbody\n`;
          const o = fm(0, '');
          const a = fm(1, 'added-by-a: 1\n');
          const b = fm(2, 'added-by-b: 2\n');
          const r = merged(computeMerge(MergeAlgo.markdown, enc(o), heads([a, b])));
          const want = `---\n# head comment\n${keys.map((k, i) => block(k, i, who[i] === 0 ? 'base' : `changed by ${who[i]}`)).join('')}`;
          // Both additions follow the last key; their order is the canonical order of the heads (by bytes).
          expect([`${want}added-by-a: 1\nadded-by-b: 2\n---\nbody\n`, `${want}added-by-b: 2\nadded-by-a: 1\n---\nbody\n`]).toContain(r);
        },
      ),
      { numRuns: 300 },
    );
  });
});
