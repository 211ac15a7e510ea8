/**
 * Garbage collection of packs (ADR-0035) with the built CLI against a real S3 server (fauxqs,
 * in this test process): the pack of deleted notes is condemned and deleted, the pack of a live
 * note stays, and the other client neither notices nor finds a fault.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localCredentials, startLocalS3, type LocalS3Server } from '../support/s3-server.js';
import { EXIT, expectExit, useWorlds } from './support/cli.js';

const BUCKET = 'bm-log-pack-gc';
let server: LocalS3Server;

beforeAll(async () => {
  server = await startLocalS3();
  await server.createBucket(BUCKET);
});
afterAll(async () => {
  await server?.stop();
});

const { pair } = useWorlds(() => ({
  remote: `s3://${BUCKET}/team-${randomBytes(4).toString('hex')}`,
  initArgs: ['--endpoint', server.endpoint, '--path-style', '--region', 'us-east-1'],
  env: { AWS_ACCESS_KEY_ID: localCredentials.accessKeyId, AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey },
}));

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
