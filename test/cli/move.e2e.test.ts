/**
 * Moves end to end (issue 22, ADR-0020): the built CLI in child processes on a local-directory
 * remote. A note renamed on one client while another edits it; what each ends with on disk, in
 * `conflicts` and in `log PATH`.
 */
import * as fs from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { copiesOf, useWorlds } from './support/cli.js';

const { pair } = useWorlds();

const OLD = 'notes/plan.md';
const NEW = 'archive/plan-2026.md';
const BASE = '# Plan\n\nfirst paragraph\n\nmiddle\n\nlast paragraph\n';

describe.concurrent('moves (CLI, directory remote)', () => {
  it('a note renamed on A while B edits it: both end with one file at the new name holding B’s edit; log NEWPATH shows the move', async () => {
    const { a, b } = await pair({ [OLD]: BASE, 'other.md': 'another note\n' });
    await fs.mkdir(a.abs('archive'), { recursive: true });
    await fs.rename(a.abs(OLD), a.abs(NEW));
    const edited = BASE.replace('middle', 'middle, edited by bob');
    await b.write(OLD, edited);
    const ra = await a.syncOk();
    expect(ra.applied.map((o) => `${o.kind} ${o.path}`).sort()).toEqual([`tombstone ${OLD}`, `upload ${NEW}`]);
    const rb = await b.syncOk();
    expect(rb.conflicts).toEqual([]);
    expect(rb.applied.map((o) => o.kind)).toContain('follow');
    await a.syncOk();
    for (const c of [a, b]) {
      expect(await c.files()).toEqual([NEW, 'other.md']);
      expect(await c.read(NEW)).toBe(edited);
      expect(copiesOf(await c.files(), OLD)).toEqual([]);
      expect(await c.conflicts()).toEqual([]);
    }
    const log = await a.log(NEW);
    const moved = log.filter((e) => (e as { from?: unknown }).from !== undefined) as unknown as { from: { path: string } }[];
    expect(moved.map((e) => e.from.path)).toEqual([OLD, OLD]); // alice's move, and bob's edit sent on after it
    // The earlier name's history is part of the new name's: the version alice created at the old name.
    expect(log.map((e) => (e as { path?: string }).path)).toContain(OLD);
    const human = await a.run('log', NEW);
    expect(human.stdout).toContain(`${OLD} -> ${NEW}`);
  });
});
