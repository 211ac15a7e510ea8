/**
 * The API's diff (issue 26, ADR-0028), the same implementation as `bm-log diff`
 * (src/api/diff-versions.ts): real client folders, a directory remote, LevelDB. Checks the
 * three forms against the CLI's output for the same folder: the file here against its synced
 * version, two versions, and a conflict's heads against their common ancestor.
 */
import { describe, expect, it } from 'vitest';
import { isBmError, openFolder } from '../../src/api/index.js';
import { EXIT, expectExit, useWorlds } from '../cli/support/cli.js';

const { pair } = useWorlds();

describe('BmFolder.diff', () => {
  it('the file here against its version, two versions, and a conflict against its ancestor: as `bm-log diff --json`', async () => {
    const { a, b } = await pair({ 'plan.md': 'one\ntwo\nthree\n' });
    const folder = await openFolder(a.dir);
    const v1 = (await folder.read('plan.md')).version;
    // An unsynced edit: the file here against the version it was synced from.
    await a.write('plan.md', 'one\n2\nthree\n');
    const here = await folder.diff('plan.md');
    expect(here).toHaveLength(1);
    expect(here[0]).toMatchObject({ fromVersion: v1, toVersion: null, binary: false, same: false, to: 'plan.md (here)' });
    expect(here[0]!.hunks.flatMap((h) => h.lines)).toEqual(expect.arrayContaining(['-two', '+2']));
    expect(here).toEqual(expectExit(await a.run('diff', 'plan.md', '--json'), EXIT.ok).json.diffs);

    // Two versions (by their last 8 characters, as the CLI takes them).
    await folder.sync();
    const v2 = (await folder.read('plan.md')).version;
    const between = await folder.diffVersions(v1.slice(-8), v2);
    expect(between[0]).toMatchObject({ fromVersion: v1, toVersion: v2, same: false });
    expect(between[0]!.text).toContain('+2');
    expect(between).toEqual(expectExit(await a.run('diff', v1, v2, '--json'), EXIT.ok).json.diffs);
    const same = await folder.diff('plan.md', { from: v2, to: v2 });
    expect(same[0]).toMatchObject({ same: true, hunks: [] });

    // A conflict (the same line changed on both sides): each head against their common ancestor v2.
    await b.syncOk();
    await b.write('plan.md', 'one\nbob\nthree\n');
    await b.syncOk();
    await a.write('plan.md', 'one\nalice\nthree\n');
    await folder.sync();
    expect((await folder.conflicts()).map((c) => c.path)).toEqual(['plan.md']);
    const heads = await folder.diff('plan.md');
    expect(heads).toHaveLength(2);
    expect(new Set(heads.map((d) => d.fromVersion))).toEqual(new Set([v2]));
    expect(heads.map((d) => d.hunks.flatMap((h) => h.lines).find((l) => l.startsWith('+'))).sort()).toEqual(['+alice', '+bob']);

    const unknown = await folder.diffVersions(v1, 'ZZZZZZZZ').catch((e: unknown) => e);
    expect(isBmError(unknown, 'usage')).toBe(true);
  }, 120_000);
});
