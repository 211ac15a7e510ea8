/**
 * The fast merge (src/merge: line ids in typed arrays, texts kept as UTF-8 bytes) writes the
 * same bytes as the string version it replaced, kept frozen as a test oracle in
 * test/merge/oracle (main at 919b4f0). Compared on random bases and heads: heads derived from
 * the base by random edits (so most merge) or unrelated (so most conflict), with repeated and
 * blank lines, LF, CRLF, mixed endings and lone CRs, with and without a final newline, with
 * and without front matter (keys edited, added, removed, reordered, commented), non-ASCII and
 * a byte-order mark, 2 to 4 heads; and the text test on arbitrary bytes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeMerge, type MergeHead, type MergeOutcome } from '../../src/merge/compute-merge.js';
import { computeLineMerge } from '../../src/merge/line-merge.js';
import { MergeAlgo } from '../../src/merge/merge-policy.js';
import { computeText, computeTextProblem, isMergeableText } from '../../src/merge/text-content.js';
import { computeMerge as oracleMerge } from './oracle/compute-merge.js';
import { computeLineMerge as oracleLineMerge } from './oracle/line-merge.js';
import { computeTextProblem as oracleTextProblem } from './oracle/text-content.js';

const enc = (s: string) => new TextEncoder().encode(s);
const algoArb = fc.constantFrom(MergeAlgo.lines, MergeAlgo.markdown);

// Lines: a few that repeat (blank, task, fences, front-matter-like), some unique, non-ASCII, CR inside.
const lineArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('', '- [ ] todo', 'a', 'b', '---', 'k: 1', '# c', 'x\r', '\r', 'é ☃ 𝄞', '\uFEFFbom') },
  { weight: 2, arbitrary: fc.nat(40).map((n) => `line ${n}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }).map((s) => s.replaceAll('\n', '').replaceAll('\0', '')) },
);

/** An edit script applied to the base's lines: at a position, delete some and insert some. */
const editsArb = fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.array(lineArb, { maxLength: 3 })), { maxLength: 4 });
function applyEdits(base: readonly string[], edits: readonly (readonly [number, number, readonly string[]])[]): string[] {
  const out = [...base];
  for (const [at, del, ins] of edits) out.splice(at % (out.length + 1), del, ...ins);
  return out;
}

// Front matter: keys from a small set, each with a value that a side may change, maybe a comment above.
const fmArb = fc.option(
  fc.uniqueArray(fc.tuple(fc.constantFrom('title', 'tags', 'status', 'date', 'owner'), fc.constantFrom('x', 'y', '[a, b]'), fc.boolean()), {
    selector: (k) => k[0],
    maxLength: 4,
  }),
  { nil: null },
);
const renderFm = (keys: readonly (readonly [string, string, boolean])[] | null): string =>
  keys === null ? '' : `---\n${keys.map(([k, v, c]) => `${c ? `# about ${k}\n` : ''}${k}: ${v}\n`).join('')}---\n`;
/** A head's front matter: the base's with keys dropped, changed, added or reversed. */
const fmEditArb = fc.record({ drop: fc.nat(4), change: fc.nat(4), add: fc.boolean(), reverse: fc.boolean(), none: fc.nat(9) });
type FmEdit = { drop: number; change: number; add: boolean; reverse: boolean; none: number };
function applyFmEdit(
  keys: readonly (readonly [string, string, boolean])[] | null,
  e: FmEdit,
): (readonly [string, string, boolean])[] | null {
  if (keys === null || e.none === 0) return keys === null ? null : [...keys];
  let out = keys.filter((_, i) => i !== e.drop).map((k, i) => (i === e.change ? ([k[0], `${k[1]}!`, k[2]] as const) : k));
  if (e.add) out = [...out.filter((k) => k[0] !== 'added'), ['added', 'z', false] as const];
  return e.reverse ? out.reverse() : out;
}

const eolArb = fc.constantFrom('\n', '\r\n', 'mixed');
function renderText(fm: string, lines: readonly string[], eol: string, finalNewline: boolean): string {
  const body = lines.length === 0 ? '' : lines.join('\n') + (finalNewline ? '\n' : '');
  const text = fm + body;
  if (eol === '\n') return text;
  if (eol === '\r\n') return text.replaceAll('\n', '\r\n');
  let i = 0;
  return text.replaceAll('\n', () => (i++ % 2 === 0 ? '\r\n' : '\n')); // some CRLF, some LF
}

/** A head: derived from the base by edits, or unrelated. */
const headArb = fc.record({
  related: fc.nat(5),
  edits: editsArb,
  other: fc.array(lineArb, { maxLength: 8 }),
  fm: fmEditArb,
  eol: fc.nat(4),
  final: fc.nat(4),
});
type HeadSpec = typeof headArb extends fc.Arbitrary<infer T> ? T : never;

const caseArb = fc.record({
  base: fc.array(lineArb, { maxLength: 14 }),
  fm: fmArb,
  eol: eolArb,
  final: fc.boolean(),
  noBase: fc.nat(9),
  heads: fc.array(headArb, { minLength: 2, maxLength: 4 }),
  algo: algoArb,
});

function buildHead(c: CaseSpec, h: HeadSpec): string {
  const lines = h.related > 0 ? applyEdits(c.base, h.edits) : h.other;
  const fm = renderFm(applyFmEdit(c.fm, h.fm));
  const eol = h.eol === 0 ? (c.eol === '\n' ? '\r\n' : '\n') : c.eol; // sometimes a side changes its line endings
  return renderText(fm, lines, eol, h.final === 0 ? !c.final : c.final);
}
type CaseSpec = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

/** An outcome as plain data, so a Buffer and a Uint8Array with the same bytes compare equal. */
const plain = (r: MergeOutcome) => (r.kind === 'merged' ? { ...r, bytes: Array.from(r.bytes) } : r);

describe('the fast merge writes what the string merge wrote (oracle: test/merge/oracle)', () => {
  it('computeMerge: same outcome, bytes, parents, reason and detail on random bases and heads', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const base = c.noBase === 0 ? null : enc(renderText(renderFm(c.fm), c.base, c.eol, c.final));
        const heads: MergeHead[] = c.heads.map((h, i) => ({ version: `v${(i * 7) % 5}${i}`, bytes: enc(buildHead(c, h)) }));
        expect(plain(computeMerge(c.algo, base, heads))).toEqual(plain(oracleMerge(c.algo, base, heads)));
      }),
      { numRuns: 3000 },
    );
  });

  it('computeMerge on longer notes (hundreds of lines, many anchors and gaps, edits far apart and close)', () => {
    const longArb = fc.record({
      base: fc.array(lineArb, { minLength: 100, maxLength: 400 }),
      a: fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.array(lineArb, { maxLength: 3 })), { maxLength: 12 }),
      b: fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.array(lineArb, { maxLength: 3 })), { maxLength: 12 }),
      fm: fmArb,
      eol: eolArb,
      algo: algoArb,
    });
    fc.assert(
      fc.property(longArb, (c) => {
        const fm = renderFm(c.fm);
        const base = enc(renderText(fm, c.base, c.eol, true));
        const heads = [c.a, c.b].map((e, i) => ({ version: `v${i}`, bytes: enc(renderText(fm, applyEdits(c.base, e), c.eol, true)) }));
        expect(plain(computeMerge(c.algo, base, heads))).toEqual(plain(oracleMerge(c.algo, base, heads)));
      }),
      { numRuns: 300 },
    );
  });

  it('computeLineMerge (lines as strings): same outcome as the oracle', () => {
    fc.assert(
      fc.property(fc.array(lineArb, { maxLength: 20 }), editsArb, editsArb, (o, ea, eb) => {
        const [a, b] = [applyEdits(o, ea), applyEdits(o, eb)];
        expect(computeLineMerge(o, a, b)).toEqual(oracleLineMerge(o, a, b));
      }),
      { numRuns: 1000 },
    );
  });

  it('a merge over the work budget is refused the same way (too-complex, same base line)', () => {
    // 3,000 repeated lines both sides edit in one piece: node-diff3's estimated work is far over the budget.
    const base = [...Array.from({ length: 3000 }, () => '- [ ] todo'), 'end'];
    const a = ['top', ...base.slice(0, 1500), 'middle a', ...base.slice(1500)];
    const b = [...base.slice(0, 1499), 'middle b', ...base.slice(1500), 'tail'];
    const heads = [a, b].map((ls, i) => ({ version: `v${i}`, bytes: enc(`${ls.join('\n')}\n`) }));
    const r = computeMerge(MergeAlgo.lines, enc(`${base.join('\n')}\n`), heads);
    expect(r).toMatchObject({ kind: 'conflict', reason: 'too-complex' });
    expect(plain(r)).toEqual(plain(oracleMerge(MergeAlgo.lines, enc(`${base.join('\n')}\n`), heads)));
  });

  it('the text test without decoding accepts exactly what the strict decoder accepted (random bytes, UTF-8 edge cases)', () => {
    const edgy = fc.constantFrom(
      [0xef, 0xbb, 0xbf], // BOM
      [0xc0, 0x80], // overlong NUL
      [0xed, 0xa0, 0x80], // a surrogate
      [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
      [0xe2, 0x98], // truncated
      [0xf0, 0x9d, 0x84, 0x9e], // U+1D11E
      [0x00],
      [0x0d, 0x0a],
    );
    const bytesArb = fc.array(
      fc.oneof(
        fc.integer({ min: 0, max: 255 }).map((x) => [x]),
        fc.nat(127).map((x) => [x]),
        edgy,
      ),
      { maxLength: 12 },
    );
    fc.assert(
      fc.property(bytesArb, fc.nat(20), (parts, max) => {
        const bytes = Uint8Array.from(parts.flat());
        expect(isMergeableText(bytes)).toBe(computeText(bytes) !== null); // computeText still decodes
        expect(computeTextProblem(bytes, max)).toBe(oracleTextProblem(bytes, max));
      }),
      { numRuns: 3000 },
    );
  });
});
