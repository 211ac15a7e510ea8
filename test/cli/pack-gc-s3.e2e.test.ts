/**
 * Garbage collection of packs (ADR-0035) with the built CLI against a real S3 server (fauxqs,
 * in this test process): the pack of deleted notes is condemned and deleted, the pack of a live
 * note stays, and the other client neither notices nor finds a fault.
 */
import { describe, expect, it } from 'vitest';
import { EXIT, expectExit } from './support/cli.js';
import { useS3Worlds } from './support/s3-worlds.js';

const { pair } = useS3Worlds('bm-log-pack-gc');

interface GcJson {
  passes: { condemnedPacks: string[]; deletedPacks: string[]; packsListed: number; packsReferenced: number }[];
}

describe('bm-log gc on packs over S3 (fauxqs)', () => {
  it('deletes the pack of deleted notes, keeps the pack of a live one; the other client syncs nothing and verifies clean', async () => {
    const { a, b } = await pair({ 'gone1.md': 'gone one\n', 'gone2.md': 'gone two\n' });
    await a.write('keep.md', 'kept note\n');
    await a.syncOk();
    await a.rm('gone1.md');
    await a.rm('gone2.md');
    await a.syncOk();
    await b.syncOk();
    const gc = expectExit(await a.run('gc', '--retention', '0s', '--grace', '0s', '--json'), EXIT.ok).json as GcJson;
    expect(gc.passes[0]!.packsListed).toBe(2);
    const condemned = gc.passes.flatMap((p) => p.condemnedPacks);
    expect(condemned).toHaveLength(1);
    expect(gc.passes.flatMap((p) => p.deletedPacks)).toEqual(condemned);
    const again = expectExit(await a.run('gc', '--retention', '0s', '--grace', '0s', '--json'), EXIT.ok).json as GcJson;
    expect(again.passes[0]).toMatchObject({ packsListed: 1, packsReferenced: 1, condemnedPacks: [] });
    expect((await b.syncOk()).plan).toEqual([]);
    expect(await b.read('keep.md')).toBe('kept note\n');
    expectExit(await b.run('verify', '--json'), EXIT.ok);
  }, 120_000);
});
