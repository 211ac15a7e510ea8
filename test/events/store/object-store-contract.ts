import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBmError } from '../../../src/errors.js';
import { collectChunks, lendBytesStrictly } from '../../../src/events/store/lent-chunks.js';
import { listAll, readRange, type ObjectStore, type StreamBody } from '../../../src/events/store/object-store.js';

export interface ContractSetup {
  /** A fresh, empty store (a new prefix, directory or bucket). */
  create(): Promise<ObjectStore>;
  /** Called once after the suite. */
  teardown?(): Promise<void>;
}

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A body whose source lends its chunks strictly: a store that kept one would store ruined bytes. */
function streamBody(bytes: Uint8Array, pieces = 7): StreamBody {
  return { size: bytes.length, sha256: sha256(bytes), open: () => lendBytesStrictly(bytes, pieces) };
}

/** The ObjectStore contract (see object-store.ts). Every adapter runs exactly this suite. */
export function runObjectStoreContract(name: string, setup: ContractSetup): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let store: ObjectStore;
    beforeAll(async () => {
      store = await setup.create();
    });
    afterAll(async () => {
      await store.close();
      await setup.teardown?.();
    });

    it('returns undefined for a missing key on get, head and getChunks', async () => {
      expect(await store.get('missing/key')).toBeUndefined();
      expect(await store.head('missing/key')).toBeUndefined();
      expect(await store.getChunks('missing/key')).toBeUndefined();
    });

    it('creates, reads back, heads and streams an object', async () => {
      expect(await store.putIfAbsent('c/one', enc('hello'))).toBe('created');
      expect(dec(await store.get('c/one'))).toBe('hello');
      expect(await store.head('c/one')).toEqual({ size: 5 });
      const s = await store.getChunks('c/one', 5);
      expect(s).toBeDefined();
      expect(dec(await collectChunks(s!))).toBe('hello');
    });

    it('reads a byte range (packs, ADR-0022): inside, cut by the end, past the end, empty, missing', async () => {
      expect(store.getRange).toBeDefined();
      expect(await store.putIfAbsent('r/pack', enc('0123456789'))).toBe('created');
      expect(dec(await store.getRange!('r/pack', 3, 4))).toBe('3456');
      expect(dec(await store.getRange!('r/pack', 8, 5))).toBe('89');
      expect(dec(await store.getRange!('r/pack', 12, 3))).toBe('');
      expect(dec(await store.getRange!('r/pack', 2, 0))).toBe('');
      expect(await store.getRange!('r/missing', 0, 3)).toBeUndefined();
      expect(dec(await readRange(store, 'r/pack', 0, 10))).toBe('0123456789');
    });

    it('streams a multi-chunk object from a lending source and back, with and without a size hint', async () => {
      // 2.5 MiB: several of a file store's 1 MiB reads, each lent from one buffer.
      const bytes = new Uint8Array(2.5 * 1024 * 1024 + 3).map((_, i) => (i * 7 + (i >> 12)) % 253);
      expect(await store.putIfAbsent('blobs/multi', streamBody(bytes, 40))).toBe('created');
      for (const hint of [bytes.length, undefined]) {
        // A consumer that hashes each chunk before asking for the next (as downloads do)...
        const h = createHash('sha256');
        let n = 0;
        for await (const chunk of (await store.getChunks('blobs/multi', hint))!) {
          h.update(chunk);
          n += chunk.length;
        }
        expect(n).toBe(bytes.length);
        expect(h.digest('hex')).toBe(sha256(bytes));
        // ...and one that copies what it keeps.
        expect(Buffer.compare(Buffer.from(await collectChunks((await store.getChunks('blobs/multi', hint))!)), Buffer.from(bytes))).toBe(0);
      }
    });

    it('treats a retried identical create as success and never overwrites different bytes', async () => {
      await store.putIfAbsent('c/two', enc('first'));
      expect(await store.putIfAbsent('c/two', enc('first'))).toBe('identical');
      await expect(store.putIfAbsent('c/two', enc('second'))).rejects.toSatisfy((e) => isBmError(e, 'object-exists'));
      expect(dec(await store.get('c/two'))).toBe('first');
    });

    it('stores an empty object', async () => {
      expect(await store.putIfAbsent('c/empty', new Uint8Array())).toBe('created');
      expect((await store.get('c/empty'))?.length).toBe(0);
    });

    it('creates from a stream body and compares streamed retries by hash', async () => {
      const bytes = new Uint8Array(300_000).map((_, i) => (i * 31) % 251);
      expect(await store.putIfAbsent('blobs/big', streamBody(bytes))).toBe('created');
      expect(Buffer.compare(Buffer.from((await store.get('blobs/big'))!), Buffer.from(bytes))).toBe(0);
      expect(await store.putIfAbsent('blobs/big', streamBody(bytes))).toBe('identical');
      const other = new Uint8Array(bytes);
      other[0] = 255;
      await expect(store.putIfAbsent('blobs/big', streamBody(other))).rejects.toSatisfy((e) => isBmError(e, 'object-exists'));
    });

    it('lists in byte order with prefix semantics that do not match sibling names', async () => {
      for (const k of ['p/a/2', 'p/a/1', 'p/ab/1', 'p/a/sub/x', 'p/b']) await store.putIfAbsent(k, enc(k));
      const keys = (await listAll(store, 'p/a/')).map((o) => o.key);
      expect(keys).toEqual(['p/a/1', 'p/a/2', 'p/a/sub/x']);
      expect((await listAll(store, 'p/')).map((o) => o.key)).toEqual(['p/a/1', 'p/a/2', 'p/a/sub/x', 'p/ab/1', 'p/b']);
      const sizes = await listAll(store, 'p/a/');
      expect(sizes[0]?.size).toBe(5);
    });

    it('lists a tag that stays while the object stays and changes when it is replaced (ADR-0015)', async () => {
      await store.putIfAbsent('tg/k', enc('first'));
      const tagOf = async () => (await store.list('tg/')).objects.find((o) => o.key === 'tg/k')?.tag;
      const first = await tagOf();
      expect(first).toEqual(expect.any(String));
      expect(await tagOf()).toBe(first);
      // Replaced (by a bucket writer: delete, then create) with other bytes of the same size.
      await store.delete('tg/k');
      await store.putIfAbsent('tg/k', enc('other'));
      expect(await tagOf()).not.toBe(first);
    });

    it('lists strictly after startAfter and pages with limit', async () => {
      for (let i = 0; i < 7; i++) await store.putIfAbsent(`pg/${String(i).padStart(3, '0')}`, enc(String(i)));
      const first = await store.list('pg/', { limit: 3 });
      expect(first.objects.map((o) => o.key)).toEqual(['pg/000', 'pg/001', 'pg/002']);
      expect(first.truncated).toBe(true);
      const rest = await store.list('pg/', { startAfter: 'pg/002', limit: 10 });
      expect(rest.objects.map((o) => o.key)).toEqual(['pg/003', 'pg/004', 'pg/005', 'pg/006']);
      expect(rest.truncated).toBe(false);
      expect((await listAll(store, 'pg/', 'pg/004')).map((o) => o.key)).toEqual(['pg/005', 'pg/006']);
    });

    it('lists a missing prefix as empty and rejects a prefix without a trailing slash', async () => {
      expect((await store.list('nothing-here/')).objects).toEqual([]);
      await expect(store.list('p/a')).rejects.toSatisfy((e) => isBmError(e, 'bad-path'));
    });

    it('deletes idempotently', async () => {
      await store.putIfAbsent('d/x', enc('x'));
      await store.delete('d/x');
      expect(await store.get('d/x')).toBeUndefined();
      await store.delete('d/x');
      expect((await store.list('d/')).objects).toEqual([]);
      expect(await store.putIfAbsent('d/x', enc('again'))).toBe('created');
    });

    it('rejects hostile keys', async () => {
      for (const k of ['../escape', '/abs', 'a//b', 'a/./b', 'a\\b', '']) {
        await expect(store.putIfAbsent(k, enc('x'))).rejects.toSatisfy((e) => isBmError(e, 'bad-path'));
      }
    });

    it('lets exactly one of many concurrent creates of one key win with its bytes intact', async () => {
      const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => store.putIfAbsent('race/k', enc(`writer-${i}`))));
      const created = results.filter((r) => r.status === 'fulfilled' && r.value === 'created');
      const stored = dec(await store.get('race/k'));
      expect(stored).toMatch(/^writer-\d$/);
      // Servers that do not enforce If-None-Match may let later writers replace the object;
      // such adapters report createOnlyEnforced=false and are covered by the probe test.
      expect(created.length).toBeGreaterThanOrEqual(1);
    });
  });
}
