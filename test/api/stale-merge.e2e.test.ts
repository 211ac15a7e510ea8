/**
 * A stale API write with `onStale: 'merge'` follows a person's stale edit's rule (issue 26,
 * ADR-0033): merged with the current version by the sync's merge stage where the merge applies
 * (text, a common ancestor, changes apart), else kept beside it as a conflict that says why.
 * Real parts: client folders made by the CLI, a directory remote, LevelDB.
 */
import { describe, expect, it } from 'vitest';
import { openFolder } from '../../src/api/index.js';
import { useWorlds } from '../cli/support/cli.js';

const { pair } = useWorlds();
const BASE = '# plan\n\nmonday\n\ntuesday\n\nwednesday\n';

describe("onStale: 'merge'", () => {
  it('a stale write to another paragraph is merged with the current version; both edits reach the other client', async () => {
    const { a, b } = await pair({ 'plan.md': BASE });
    const folder = await openFolder(a.dir);
    const seen = await folder.read('plan.md');
    await b.write('plan.md', BASE.replace('monday', 'monday: bob'));
    await b.syncOk();
    const w = await folder.write('plan.md', BASE.replace('wednesday', 'wednesday: agent'), {
      expectedVersion: seen.version,
      onStale: 'merge',
    });
    expect(w).toMatchObject({ merged: true, conflict: false, notMerged: null });
    expect(w.heads).toHaveLength(1);
    expect(w.heads[0]).not.toBe(w.version);
    const both = BASE.replace('monday', 'monday: bob').replace('wednesday', 'wednesday: agent');
    expect(await a.read('plan.md')).toBe(both);
    // The merge is a version whose parents are the two writes, in the log like a person's merge.
    const [latest] = await folder.history('plan.md', { limit: 1 });
    expect(latest).toMatchObject({ version: w.heads[0] });
    expect(latest!.merge?.parents).toContain(w.version);
    await b.syncOk();
    expect(await b.read('plan.md')).toBe(both);
    expect(await b.conflicts()).toEqual([]);
  }, 120_000);

  it('a stale write to the same line stands as a conflict saying why it did not merge; a stale delete too', async () => {
    const { a, b } = await pair({ 'plan.md': BASE, 'old.md': 'old\n' });
    const folder = await openFolder(a.dir);
    const seen = await folder.read('plan.md');
    const old = await folder.read('old.md');
    await b.write('plan.md', BASE.replace('monday', 'monday: bob'));
    await b.write('old.md', 'old, edited\n');
    await b.syncOk();
    const w = await folder.write('plan.md', BASE.replace('monday', 'monday: agent'), { expectedVersion: seen.version, onStale: 'merge' });
    expect(w).toMatchObject({ merged: false, conflict: true });
    expect(w.notMerged?.reason).toMatch(/overlap|adjacent/);
    expect(w.heads).toContain(w.version);
    const gone = await folder.delete('old.md', { expectedVersion: old.version, onStale: 'merge' });
    expect(gone).toMatchObject({ merged: false, conflict: true, notMerged: { reason: 'delete' } });
    expect((await folder.conflicts()).map((c) => c.path).sort()).toEqual(['old.md', 'plan.md']);
    await b.syncOk();
    expect((await b.conflicts()).map((c) => c.path).sort()).toEqual(['old.md', 'plan.md']);
  }, 120_000);

  it("'conflict' is the former name of 'merge': the same outcome", async () => {
    const { a, b } = await pair({ 'plan.md': BASE });
    const folder = await openFolder(a.dir);
    const seen = await folder.read('plan.md');
    await b.write('plan.md', BASE.replace('monday', 'monday: bob'));
    await b.syncOk();
    const w = await folder.write('plan.md', BASE.replace('tuesday', 'tuesday: agent'), {
      expectedVersion: seen.version,
      onStale: 'conflict',
    });
    expect(w).toMatchObject({ merged: true, conflict: false });
  }, 120_000);
});
