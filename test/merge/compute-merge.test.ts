/** Examples of the merge library (ADR-0020): Markdown lists and headings, adjacent edits, CRLF, front matter, binary. */
import { describe, expect, it } from 'vitest';
import { computeMerge, type MergeOutcome } from '../../src/merge/compute-merge.js';
import { DEFAULT_MERGE_POLICY, mayMerge, MergeAlgo, type MergeAlgo as Algo } from '../../src/merge/merge-policy.js';

const enc = (s: string) => new TextEncoder().encode(s);
const text = (r: MergeOutcome) => (r.kind === 'merged' ? new TextDecoder().decode(r.bytes) : `CONFLICT ${r.reason}: ${r.detail}`);
const merge = (o: string, a: string, b: string, algo: Algo = MergeAlgo.markdown) =>
  computeMerge(algo, enc(o), [
    { version: 'v-a', bytes: enc(a) },
    { version: 'v-b', bytes: enc(b) },
  ]);

const note = ['# Plan', '', '## Goals', '', '- ship merges', '- keep history', '', '## Risks', '', 'Nothing yet.', ''].join('\n');

describe('three-way text merge', () => {
  it('merges edits to different sections of a Markdown note', () => {
    const a = note.replace('- keep history', '- keep history\n- show both parents');
    const b = note.replace('Nothing yet.', 'Adjacent edits stay conflicts.');
    const both = note
      .replace('- keep history', '- keep history\n- show both parents')
      .replace('Nothing yet.', 'Adjacent edits stay conflicts.');
    expect(text(merge(note, a, b))).toBe(both);
  });

  it('merges a renamed heading with a list item added elsewhere', () => {
    const a = note.replace('## Risks', '## Risks and unknowns');
    const b = note.replace('- ship merges', '- ship merges\n- ship moves');
    expect(text(merge(note, a, b))).toBe(
      note.replace('## Risks', '## Risks and unknowns').replace('- ship merges', '- ship merges\n- ship moves'),
    );
  });

  it('keeps edits of adjacent lines a conflict, and of the same line', () => {
    const adjacent = merge(note, note.replace('- ship merges', '- ship merges now'), note.replace('- keep history', '- keep all history'));
    expect(adjacent).toMatchObject({ kind: 'conflict', reason: 'overlap' });
    const same = merge(note, note.replace('Nothing yet.', 'One.'), note.replace('Nothing yet.', 'Two.'));
    expect(same).toMatchObject({ kind: 'conflict', reason: 'overlap' });
    const twoInserts = merge(note, note.replace('## Risks\n', '## Risks\n- a\n'), note.replace('## Risks\n', '## Risks\n- b\n'));
    expect(twoInserts).toMatchObject({ kind: 'conflict', reason: 'overlap' });
  });

  it('merges CRLF texts and writes CRLF; one side converting to CRLF is a change of its own', () => {
    const crlf = note.replaceAll('\n', '\r\n');
    const a = crlf.replace('- ship merges', '- ship merges now');
    const b = crlf.replace('Nothing yet.', 'Something.');
    expect(text(merge(crlf, a, b))).toBe(crlf.replace('- ship merges', '- ship merges now').replace('Nothing yet.', 'Something.'));
    const converted = merge(note, note.replaceAll('\n', '\r\n'), note.replace('Nothing yet.', 'Something.'));
    expect(text(converted)).toBe(note.replace('Nothing yet.', 'Something.').replaceAll('\n', '\r\n'));
  });

  it('keeps a lone CR and a mixed file byte for byte', () => {
    const mixed = 'one\r\ntwo\nthree\rstill three\nfour\n';
    const b = mixed.replace('four', 'FOUR');
    expect(text(merge(mixed, mixed.replace('one', 'ONE'), b))).toBe('ONE\r\ntwo\nthree\rstill three\nFOUR\n');
  });

  it('merges the final newline as a change of its own', () => {
    const o = 'a\nb\nc\nd';
    expect(text(merge(o, `${o}\n`, o.replace('d', 'D')))).toBe('a\nb\nc\nD\n');
    expect(text(merge(`${o}\n`, o, `${o}\n`.replace('a', 'A')))).toBe('A\nb\nc\nd');
  });

  it('never merges bytes that are not text', () => {
    const bin = new Uint8Array([1, 2, 0, 4]);
    const r = computeMerge(MergeAlgo.lines, bin, [
      { version: 'a', bytes: bin },
      { version: 'b', bytes: new Uint8Array([1, 2, 0, 5]) },
    ]);
    expect(r).toMatchObject({ kind: 'conflict', reason: 'not-text' });
    const bad = computeMerge(MergeAlgo.lines, enc('x\n'), [
      { version: 'a', bytes: new Uint8Array([0xc3, 0x28]) },
      { version: 'b', bytes: enc('y\n') },
    ]);
    expect(bad).toMatchObject({ kind: 'conflict', reason: 'not-text' });
  });

  it('merges two new files only when they are identical (no base)', () => {
    expect(
      computeMerge(MergeAlgo.lines, null, [
        { version: 'a', bytes: enc('x\n') },
        { version: 'b', bytes: enc('y\n') },
      ]),
    ).toMatchObject({ kind: 'conflict' });
    expect(
      text(
        computeMerge(MergeAlgo.lines, null, [
          { version: 'a', bytes: enc('x\n') },
          { version: 'b', bytes: enc('x\n') },
        ]),
      ),
    ).toBe('x\n');
  });

  it('names the parents in canonical order (by bytes) whatever order they came in', () => {
    const heads = [
      { version: 'z', bytes: enc('a\nB\nc\n') },
      { version: 'y', bytes: enc('A\nb\nc\n') },
    ];
    const r1 = computeMerge(MergeAlgo.lines, enc('a\nb\nc\n'), heads);
    const r2 = computeMerge(MergeAlgo.lines, enc('a\nb\nc\n'), [...heads].reverse());
    expect(r1).toMatchObject({ kind: 'conflict' }); // adjacent lines
    const far = [
      { version: 'z', bytes: enc('a\nb\nc\nD\n') },
      { version: 'y', bytes: enc('A\nb\nc\nd\n') },
    ];
    const m1 = computeMerge(MergeAlgo.lines, enc('a\nb\nc\nd\n'), far);
    const m2 = computeMerge(MergeAlgo.lines, enc('a\nb\nc\nd\n'), [...far].reverse());
    expect(m1).toEqual(m2);
    expect(m1).toMatchObject({ kind: 'merged', parents: ['y', 'z'] });
    expect(r2).toEqual(r1);
  });

  it('folds three heads, and heads with the same bytes count once', () => {
    const [a, b, c] = [note.replace('# Plan', '# Plan v2'), note.replace('## Goals', '## Aims'), note.replace('Nothing yet.', 'Some.')];
    const three = computeMerge(
      MergeAlgo.lines,
      enc(note),
      [a, b, c].map((t, i) => ({ version: `v${i}`, bytes: enc(t) })),
    );
    expect(text(three)).toBe(note.replace('# Plan', '# Plan v2').replace('## Goals', '## Aims').replace('Nothing yet.', 'Some.'));
    const dup = computeMerge(
      MergeAlgo.lines,
      enc(note),
      [a, c, c].map((t, i) => ({ version: `v${i}`, bytes: enc(t) })),
    );
    expect(text(dup)).toBe(text(merge(note, a, c, MergeAlgo.lines)));
    expect(dup).toMatchObject({ kind: 'merged', parents: expect.arrayContaining(['v0', 'v1', 'v2']) });
  });

  it('refuses a piece whose line diff would cost more than the budget (deterministically)', () => {
    const o = `${'x\n'.repeat(6000)}`;
    const r = merge(o, `y\n${o}`, `${o}z\n`.replace('x\n', ''), MergeAlgo.lines);
    expect(r).toMatchObject({ kind: 'conflict', reason: 'too-complex' });
  });
});

describe('front matter, key by key', () => {
  const fm = [
    '---',
    '# about this note',
    'title: Plan # working title',
    'tags:',
    '  - work',
    'status: draft',
    '---',
    '# Plan',
    '',
    'Body.',
    '',
  ].join('\n');

  it('merges different keys changed on both sides, keeping key order and comments', () => {
    const a = fm.replace('status: draft', 'status: done');
    const b = fm.replace('  - work\n', '  - work\n  - merge\n');
    expect(text(merge(fm, a, b))).toBe(fm.replace('status: draft', 'status: done').replace('  - work\n', '  - work\n  - merge\n'));
  });

  it('merges two keys added at the same place (a line merge would conflict)', () => {
    const a = fm.replace('status: draft\n', 'status: draft\nowner: ana\n');
    const b = fm.replace('status: draft\n', 'status: draft\ndue: 2027-01-01\n');
    expect(merge(fm, a, b, MergeAlgo.lines)).toMatchObject({ kind: 'conflict' });
    expect(text(merge(fm, a, b))).toBe(fm.replace('status: draft\n', 'status: draft\nowner: ana\ndue: 2027-01-01\n'));
  });

  it('keeps a key changed differently on both sides a conflict, and merges the body too', () => {
    expect(merge(fm, fm.replace('draft', 'done'), fm.replace('draft', 'review'))).toMatchObject({
      kind: 'conflict',
      reason: 'front-matter-key',
    });
    const both = merge(fm, fm.replace('draft', 'done'), fm.replace('Body.', 'Body, edited.'));
    expect(text(both)).toBe(fm.replace('draft', 'done').replace('Body.', 'Body, edited.'));
  });

  it('falls back to the line merge when a side has invalid YAML', () => {
    const broken = fm.replace('status: draft', 'status: [draft');
    expect(text(merge(fm, broken, fm.replace('Body.', 'Body 2.')))).toBe(broken.replace('Body.', 'Body 2.'));
  });
});

describe('mayMerge (the vault-wide policy)', () => {
  it('merges Markdown with front matter, plain text by lines, nothing else by default', () => {
    expect(mayMerge('notes/a.md', DEFAULT_MERGE_POLICY, enc('x'))).toEqual({ merge: true, algo: 'markdown/1' });
    expect(mayMerge('a.txt', DEFAULT_MERGE_POLICY, enc('x'))).toEqual({ merge: true, algo: 'lines/1' });
    expect(mayMerge('a.json', DEFAULT_MERGE_POLICY, enc('x'))).toEqual({ merge: false, reason: 'pattern' });
    expect(mayMerge('a.md', { ...DEFAULT_MERGE_POLICY, enabled: false }, enc('x'))).toEqual({ merge: false, reason: 'disabled' });
    expect(mayMerge('a.md', { ...DEFAULT_MERGE_POLICY, patterns: ['*.md', '!private/**'] }, enc('x'))).toMatchObject({ merge: true });
    expect(mayMerge('private/a.md', { ...DEFAULT_MERGE_POLICY, patterns: ['*.md', '!private/**'] }, enc('x'))).toEqual({
      merge: false,
      reason: 'pattern',
    });
  });

  it('refuses binary, invalid UTF-8 and oversized contents', () => {
    expect(mayMerge('a.md', DEFAULT_MERGE_POLICY, enc('x'), new Uint8Array([0x61, 0]))).toEqual({ merge: false, reason: 'has-nul' });
    expect(mayMerge('a.md', DEFAULT_MERGE_POLICY, new Uint8Array([0xff]))).toEqual({ merge: false, reason: 'not-utf8' });
    expect(mayMerge('a.md', { ...DEFAULT_MERGE_POLICY, maxBytes: 3 }, enc('abcd'))).toEqual({ merge: false, reason: 'too-large' });
    expect(mayMerge('a.md', { ...DEFAULT_MERGE_POLICY, maxBytes: 4 }, enc('abcd'))).toMatchObject({ merge: true });
  });
});
