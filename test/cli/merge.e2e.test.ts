/**
 * Merging concurrent edits end to end (issue 22, ADR-0020): the built CLI in child processes
 * on a local-directory remote. Two clients edit one note; what each ends with on disk, in
 * `conflicts` and in `log PATH`.
 */
import { describe, expect, it } from 'vitest';
import { EXIT, copiesOf, expectExit, useWorlds } from './support/cli.js';

interface DiffJson {
  readonly from: string;
  readonly to: string;
  readonly fromVersion: string | null;
  readonly toVersion: string | null;
  readonly binary: boolean;
  readonly text: string;
}

const { pair } = useWorlds();

const NOTE = 'notes/plan.md';
const BASE = '---\ntitle: Plan\ntags: [a]\n---\n# Plan\n\nfirst paragraph\n\nmiddle\n\nlast paragraph\n';

describe.concurrent('merging concurrent edits (CLI, directory remote)', () => {
  it('edits of different paragraphs end as one file with both edits, no copy, no open conflict, both versions in log PATH', async () => {
    const { a, b } = await pair({ [NOTE]: BASE });
    await a.write(NOTE, BASE.replace('first paragraph', 'first paragraph, by alice'));
    await b.write(NOTE, BASE.replace('last paragraph', 'last paragraph, by bob').replace('tags: [a]', 'tags: [a, b]'));
    await a.syncOk();
    const rb = await b.syncOk();
    expect(rb.conflicts).toEqual([]);
    expect(rb.applied.map((o) => o.kind)).toContain('merge');
    await a.syncOk();
    const both = BASE.replace('first paragraph', 'first paragraph, by alice')
      .replace('last paragraph', 'last paragraph, by bob')
      .replace('tags: [a]', 'tags: [a, b]');
    for (const c of [a, b]) {
      expect(await c.read(NOTE)).toBe(both);
      expect(copiesOf(await c.files(), NOTE)).toEqual([]);
      expect(await c.conflicts()).toEqual([]);
    }
    const log = await a.log(NOTE);
    const merge = log.find((e) => (e as { merge?: unknown }).merge !== undefined) as unknown as {
      version: string;
      replaces: string[];
      merge: { parents: string[]; base: string; algo: string };
    };
    expect(merge.merge.parents).toHaveLength(2);
    expect([...merge.replaces].sort()).toEqual([...merge.merge.parents].sort());
    // Both edited versions and their ancestor are in the history.
    for (const id of [...merge.merge.parents, merge.merge.base]) expect(log.map((e) => e.version)).toContain(id);
    const human = await a.run('log', NOTE);
    expect(human.stdout).toContain(`merge of ${merge.merge.parents.join(' + ')}`);
    // diff V1 V2: the two merged versions against each other.
    const [p1, p2] = merge.merge.parents;
    const d = expectExit(await a.run('diff', p1!, p2!, '--json'), EXIT.ok).json as { diffs: DiffJson[] };
    expect(d.diffs).toHaveLength(1);
    expect(d.diffs[0]!.text).toMatch(/^-.*by (alice|bob)$/m);
    // diff PATH: the file here against the version synced here.
    await a.write(NOTE, `${both}one more line\n`);
    const here = expectExit(await a.run('diff', NOTE), EXIT.ok);
    expect(here.stdout).toContain('+one more line');
    expect(here.stdout).toContain(`--- ${NOTE}@${merge.version}`);
  });

  it('edits of the same line stay a conflict: winner at the path, the other beside it, saying why', async () => {
    const { a, b } = await pair({ [NOTE]: BASE });
    await a.write(NOTE, BASE.replace('middle', 'middle by alice'));
    await b.write(NOTE, BASE.replace('middle', 'middle by bob'));
    await a.syncOk();
    const rb = await b.syncOk();
    expect(rb.conflicts).toEqual([expect.objectContaining({ path: NOTE, kind: 'concurrent-edits', notMerged: 'overlap' })]);
    expect(copiesOf(await b.files(), NOTE)).toHaveLength(1);
    expect(await b.conflicts()).toEqual([expect.objectContaining({ path: NOTE, notMerged: 'content' })]);
    // diff PATH of a conflict: each head against their common ancestor.
    const d = expectExit(await b.run('diff', NOTE, '--json'), EXIT.ok).json as { diffs: DiffJson[] };
    expect(d.diffs).toHaveLength(2);
    const texts = d.diffs.map((x) => x.text).join('\n');
    expect(texts).toContain('+middle by alice');
    expect(texts).toContain('+middle by bob');
    expect(new Set(d.diffs.map((x) => x.fromVersion)).size).toBe(1);
  });

  it('a binary file edited on both sides stays a conflict', async () => {
    const { a, b } = await pair({ 'data.txt': 'x\u0000\nsame\nlines\n' });
    await a.write('data.txt', 'A\u0000\nsame\nlines\n');
    await b.write('data.txt', 'x\u0000\nsame\nlines\nB\n');
    await a.syncOk();
    const rb = await b.syncOk();
    expect(rb.conflicts).toEqual([expect.objectContaining({ path: 'data.txt', notMerged: 'has-nul' })]);
    expect(copiesOf(await b.files(), 'data.txt')).toHaveLength(1);
  });
});
