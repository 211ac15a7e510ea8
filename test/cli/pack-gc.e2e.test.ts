/**
 * Garbage collection of packs (ADR-0035), end to end with the built CLI on a local-directory
 * remote: a pack is deleted only when none of its entries is needed any more; a pack holding
 * one live content stays whole.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, expectExit, findPackedContent, useWorlds } from './support/cli.js';

const worlds = useWorlds();

interface GcPassJson {
  condemnedPacks: string[];
  deletedPacks: string[];
  packsListed: number;
  packsReferenced: number;
}

const gcNow = async (c: { run: (...a: string[]) => Promise<import('./support/cli.js').CliResult> }) =>
  expectExit(await c.run('gc', '--retention', '0s', '--grace', '0s', '--json'), EXIT.ok).json as { passes: GcPassJson[] };

describe.concurrent('bm-log gc on packs', () => {
  it('keeps a pack while one of its contents is live, deletes it once none is, and leaves the other packs and verify alone', async () => {
    const { w, a, b } = await worlds.pair({ 'a.md': 'alpha note\n', 'b.md': 'beta note\n', 'c.md': 'gamma note\n' });
    const first = (await findPackedContent(w.remoteDir, 'alpha note\n')).key;
    expect((await findPackedContent(w.remoteDir, 'gamma note\n')).key).toBe(first);
    await a.write('d.md', 'delta note\n');
    await a.syncOk();
    const second = (await findPackedContent(w.remoteDir, 'delta note\n')).key;
    expect(second).not.toBe(first);

    // Two of the first pack's three contents deleted and acknowledged: the pack stays.
    await a.rm('a.md');
    await a.rm('b.md');
    await a.syncOk();
    await b.syncOk();
    const partly = await gcNow(a);
    expect(partly.passes.flatMap((p) => p.condemnedPacks)).toEqual([]);
    expect(partly.passes[0]!.packsListed).toBe(2);
    expect(existsSync(path.join(w.remoteDir, first))).toBe(true);

    // The last one deleted too: the pack is condemned and (grace 0: second pass) deleted.
    await a.rm('c.md');
    await a.syncOk();
    await b.syncOk();
    const human = expectExit(await a.run('gc', '--retention', '0s', '--grace', '0s'), EXIT.ok).stdout;
    expect(human).toMatch(/deleted 0 blob\(s\) and 1 pack\(s\)/);
    expect(existsSync(path.join(w.remoteDir, first))).toBe(false);
    expect(existsSync(path.join(w.remoteDir, second))).toBe(true);

    // Nothing else changes for anyone; verify knows the pack was collected on purpose.
    expect((await b.syncOk()).plan).toEqual([]);
    expect(await b.read('d.md')).toBe('delta note\n');
    expectExit(await b.run('verify', '--json'), EXIT.ok);
    const again = await gcNow(a);
    expect(again.passes[0]!.packsListed).toBe(1);
    expect(again.passes[0]!.packsReferenced).toBe(1);
  });

  it('a dry run lists the pack it would condemn and deletes nothing', async () => {
    const { w, a, b } = await worlds.pair({ 'only.md': 'only note\n' });
    const key = (await findPackedContent(w.remoteDir, 'only note\n')).key;
    await a.rm('only.md');
    await a.syncOk('--force'); // the folder is now empty: the safety guard asks for --force
    await b.syncOk();
    const dry = expectExit(await a.run('gc', '--dry-run', '--retention', '0s', '--grace', '0s', '--json'), EXIT.ok).json as {
      passes: GcPassJson[];
    };
    expect(dry.passes[0]!.condemnedPacks).toEqual([key]);
    expect(existsSync(path.join(w.remoteDir, key))).toBe(true);
  });
});
