import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snapshotsOf } from '../../../src/client/open-remote.js';
import { isBmError } from '../../../src/errors.js';
import { DirectoryStore } from '../../../src/events/store/directory-store.js';
import { MemoryStore } from '../../../src/events/store/memory-store.js';
import { listAll, type StreamBody } from '../../../src/events/store/object-store.js';
import { probeStore } from '../../../src/events/store/probe-store.js';
import { S3Store, type S3StoreOptions } from '../../../src/events/store/s3-store.js';
import { localCredentials, startLocalS3, type LocalS3Server } from '../../support/s3-server.js';
import { runObjectStoreContract } from './object-store-contract.js';

const MiB = 1024 * 1024;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

let server: LocalS3Server;
const bucket = 'bm-log-test';

beforeAll(async () => {
  server = await startLocalS3();
  await server.createBucket(bucket);
});
afterAll(async () => {
  await server.stop();
});

function s3Store(overrides: Partial<S3StoreOptions> = {}): S3Store {
  return new S3Store({
    bucket,
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: localCredentials,
    maxAttempts: 2,
    ...overrides,
  });
}

const freshPrefix = () => `t-${randomBytes(6).toString('hex')}/`;

// The way a client configures itself: probe first, then open the store with what was found.
runObjectStoreContract('s3 (fauxqs)', {
  create: async () => {
    const prefix = freshPrefix();
    const probing = s3Store({ prefix });
    const caps = await probeStore(probing);
    await probing.close();
    return s3Store({ prefix, createOnlyEnforced: caps.createOnlyEnforced });
  },
});

/** A generated body of `size` bytes; `tamper` makes open() yield bytes that differ from sha256. */
function generatedBody(size: number, options: { tamper?: boolean } = {}): StreamBody {
  function* chunks(tamper: boolean): Generator<Buffer> {
    for (let offset = 0; offset < size; offset += MiB) {
      const chunk = Buffer.alloc(Math.min(MiB, size - offset));
      for (let j = 0; j < chunk.length; j++) chunk[j] = ((offset + j) * 31 + (offset >> 20)) & 0xff;
      if (tamper && offset + chunk.length >= size) chunk.writeUInt8(chunk.readUInt8(chunk.length - 1) ^ 0xff, chunk.length - 1);
      yield chunk;
    }
  }
  const hash = createHash('sha256');
  for (const c of chunks(false)) hash.update(c);
  return { size, sha256: hash.digest('hex'), open: () => Readable.from(chunks(options.tamper === true)) };
}

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

describe('S3Store on fauxqs', () => {
  it('describes itself without credentials', () => {
    const store = s3Store({ prefix: 'team/' });
    expect(store.description).toBe(`s3://${bucket}/team/ (${server.endpoint})`);
    expect(store.description).not.toContain(localCredentials.secretAccessKey);
    const withUserInfo = new S3Store({ bucket, endpoint: 'http://user:secret@127.0.0.1:9000/', credentials: localCredentials });
    expect(withUserInfo.description).toBe(`s3://${bucket}/ (http://127.0.0.1:9000)`);
  });

  it('isolates stores by prefix and lists keys without the store prefix', async () => {
    const a = s3Store({ prefix: 'team-a/', createOnlyEnforced: false });
    const b = s3Store({ prefix: 'team-b/', createOnlyEnforced: false });
    const whole = s3Store();
    await a.putIfAbsent('clients/x/1', enc('from a'));
    expect((await listAll(a, '')).map((o) => o.key)).toEqual(['clients/x/1']);
    expect(await listAll(b, '')).toEqual([]);
    expect(await b.get('clients/x/1')).toBeUndefined();
    expect((await listAll(whole, 'team-a/')).map((o) => o.key)).toEqual(['team-a/clients/x/1']);
    await Promise.all([a.close(), b.close(), whole.close()]);
  });

  it('probes: fauxqs ignores If-None-Match, has no versioning or snapshots, and the probe cleans up', async () => {
    const prefix = freshPrefix();
    const store = s3Store({ prefix });
    expect(await probeStore(store)).toEqual({ createOnlyEnforced: false, versioning: false, snapshots: false });
    expect(await listAll(store, '')).toEqual([]);
    await store.close();
  });

  it('refuses to overwrite different bytes thanks to the HEAD pre-check (and would not without it)', async () => {
    const prefix = freshPrefix();
    const checked = s3Store({ prefix, createOnlyEnforced: false });
    await checked.putIfAbsent('k', enc('first'));
    await expect(checked.putIfAbsent('k', enc('second'))).rejects.toSatisfy((e) => isBmError(e, 'object-exists'));
    expect(new TextDecoder().decode(await checked.get('k'))).toBe('first');
    // Trusting the server on fauxqs: the second create silently replaces the object.
    const trusting = s3Store({ prefix });
    expect(await trusting.putIfAbsent('k', enc('second'))).toBe('created');
    expect(new TextDecoder().decode(await trusting.get('k'))).toBe('second');
    await Promise.all([checked.close(), trusting.close()]);
  });

  it('uploads a 20 MiB stream through multipart and reads it back intact', async () => {
    const store = s3Store({ prefix: freshPrefix(), createOnlyEnforced: false });
    const body = generatedBody(20 * MiB);
    expect(await store.putIfAbsent('blobs/large', body)).toBe('created');
    expect(await store.head('blobs/large')).toEqual({ size: 20 * MiB });
    // A multipart ETag ends in -<parts>: 20 MiB in 8 MiB parts is 3 parts.
    const raw = new S3Client({ endpoint: server.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: localCredentials });
    const head = await raw.send(new HeadObjectCommand({ Bucket: bucket, Key: `${store.prefix}blobs/large` }));
    expect(head.ETag).toMatch(/-3"$/);
    raw.destroy();
    expect(await sha256Of((await store.getStream('blobs/large'))!)).toBe(body.sha256);
    expect(await store.putIfAbsent('blobs/large', body)).toBe('identical');
    await store.close();
  });

  it('runs multipart uploads one at a time, without holding small uploads behind them', async () => {
    const store = s3Store({ prefix: freshPrefix(), createOnlyEnforced: false });
    const events: string[] = [];
    let releaseA: () => void = () => {};
    const aMayFinish = new Promise<void>((r) => (releaseA = r));
    // Notes when the store starts and ends reading each source; 'a' stalls after its first
    // chunk until the small upload is done (a small upload held behind it would never be).
    const watched = (name: string, body: StreamBody): StreamBody => ({
      ...body,
      open: () =>
        (async function* () {
          events.push(`start ${name}`);
          let first = true;
          for await (const chunk of body.open()) {
            yield chunk;
            if (first && name === 'a') await aMayFinish;
            first = false;
          }
          events.push(`end ${name}`);
        })(),
    });
    const large = ['a', 'b', 'c'].map((n, i) => watched(n, generatedBody(17 * MiB + i)));
    const uploads = large.map((b, i) => store.putIfAbsent(`blobs/l${i}`, b));
    expect(await store.putIfAbsent('blobs/small', watched('small', generatedBody(MiB)))).toBe('created');
    releaseA();
    expect(await Promise.all(uploads)).toEqual(['created', 'created', 'created']);
    expect(events.filter((e) => !e.endsWith('small'))).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    for (const [i, b] of large.entries()) expect(await store.head(`blobs/l${i}`)).toEqual({ size: b.size });
    await store.close();
  });

  it.each([
    ['single PUT', 1 * MiB],
    ['multipart', 17 * MiB],
  ])('leaves nothing behind when the source changes during a %s upload', async (_, size) => {
    const store = s3Store({ prefix: freshPrefix() });
    await expect(store.putIfAbsent('blobs/changing', generatedBody(size, { tamper: true }))).rejects.toSatisfy(
      (e) => isBmError(e, 'local-io') && /changed while uploading/.test(e.message),
    );
    expect(await store.head('blobs/changing')).toBeUndefined();
    expect(await listAll(store, '')).toEqual([]);
    await store.close();
  });

  it('reports an unreachable endpoint as remote-unavailable, quickly', async () => {
    const store = new S3Store({
      bucket,
      endpoint: 'http://127.0.0.1:1',
      forcePathStyle: true,
      credentials: localCredentials,
      maxAttempts: 2,
    });
    const started = Date.now();
    await expect(store.get('k')).rejects.toSatisfy((e) => isBmError(e, 'remote-unavailable') && e.hint.length > 0);
    await expect(store.putIfAbsent('k', enc('x'))).rejects.toSatisfy((e) => isBmError(e, 'remote-unavailable'));
    await expect(store.putIfAbsent('blob', generatedBody(1000))).rejects.toSatisfy((e) => isBmError(e, 'remote-unavailable'));
    expect(Date.now() - started).toBeLessThan(5000);
    await store.close();
  });

  it('reports a missing bucket as a config error', async () => {
    const store = s3Store({ bucket: 'no-such-bucket', createOnlyEnforced: false });
    await expect(store.get('k')).rejects.toSatisfy((e) => isBmError(e, 'config') && /bucket/.test(e.hint));
    await expect(store.list('')).rejects.toSatisfy((e) => isBmError(e, 'config'));
    await expect(store.putIfAbsent('k', enc('x'))).rejects.toSatisfy((e) => isBmError(e, 'config'));
    await store.close();
  });

  it('takes no snapshot off Tigris, and the Tigris headers are harmless to a plain S3 server', async () => {
    const plain = s3Store({ prefix: freshPrefix(), createOnlyEnforced: false });
    expect(await plain.takeSnapshot('x')).toBeUndefined();
    await plain.putIfAbsent('k', enc('live'));
    // Forced Tigris mode: fauxqs accepts the signed extra headers and ignores them.
    const tigris = s3Store({ prefix: plain.prefix, tigris: true });
    expect(await tigris.takeSnapshot('before-change')).toBeUndefined();
    const view = tigris.readAtSnapshot('1765889000501544464');
    expect(new TextDecoder().decode(await view.get('k'))).toBe('live');
    expect((await view.list('')).objects.map((o) => o.key)).toEqual(['k']);
    expect(() => tigris.readAtSnapshot('latest')).toThrow();
    await Promise.all([plain.close(), tigris.close()]);
  });

  it('the snapshot port (ADR-0034): none off Tigris; on a server that returns no snapshot version, take() says none was taken', async () => {
    const plain = s3Store({ prefix: freshPrefix(), createOnlyEnforced: false });
    expect(plain.snapshotPort()).toBeUndefined();
    expect(snapshotsOf(plain)).toBeUndefined();
    expect(snapshotsOf(new DirectoryStore(os.tmpdir()))).toBeUndefined(); // a directory remote has none
    const port = s3Store({ prefix: plain.prefix, tigris: true }).snapshotPort();
    expect(port).toBeDefined();
    // fauxqs answers CreateBucket on an existing bucket without X-Tigris-Snapshot-Version.
    expect(await port!.take()).toBeUndefined();
    await plain.close();
  });

  // No Tigris endpoint is reachable from the test machines, and fauxqs does not implement
  // snapshots: that a real snapshot-enabled Tigris bucket returns a version from take() and
  // serves reads as of it is NOT tested. Set BM_LOG_TIGRIS_BUCKET (plus AWS credentials for
  // https://t3.storage.dev) to run it.
  it.skipIf(process.env['BM_LOG_TIGRIS_BUCKET'] === undefined)(
    'on a real snapshot-enabled Tigris bucket (skipped without BM_LOG_TIGRIS_BUCKET: no Tigris here)',
    async () => {
      const store = new S3Store({
        bucket: process.env['BM_LOG_TIGRIS_BUCKET']!,
        prefix: freshPrefix(),
        endpoint: 'https://t3.storage.dev',
      });
      const port = store.snapshotPort()!;
      await store.putIfAbsent('k', enc('before'));
      const version = await port.take();
      expect(version).toMatch(/^\d+$/);
      await store.delete('k');
      expect(dec(await port.get(version!, 'k'))).toBe('before');
      await store.close();
    },
  );
});

describe('probeStore on adapters that enforce create-only themselves', () => {
  it('reports memory and directory stores as create-only, without versioning or snapshots', async () => {
    const memory = new MemoryStore();
    expect(await probeStore(memory)).toEqual({ createOnlyEnforced: true, versioning: false, snapshots: false });
    expect(memory.objects.size).toBe(0);
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bm-probe-'));
    const dir = new DirectoryStore(root);
    expect(await probeStore(dir)).toEqual({ createOnlyEnforced: true, versioning: false, snapshots: false });
    expect(await listAll(dir, '')).toEqual([]);
    await fs.rm(root, { recursive: true, force: true });
  });
});
