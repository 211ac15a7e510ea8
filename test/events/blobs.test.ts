import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readBlob, WRITE_WITHOUT_HEAD_BYTES, writeBlob } from '../../src/events/blobs.js';
import { keyOfBlob } from '../../src/events/layout.js';
import { sha256Hex } from '../../src/events/signing.js';
import { MemoryStore } from '../../src/events/store/memory-store.js';
import { lendBytesStrictly } from '../../src/events/store/lent-chunks.js';

describe('blobs', () => {
  it('reports a download cut by the network as the remote failing (retryable), not the local disk', async () => {
    const store = new MemoryStore();
    const hash = sha256Hex('x');
    store.objects.set(keyOfBlob(hash), new TextEncoder().encode('x'));
    store.getChunks = async () =>
      new Readable({
        read() {
          this.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
        },
      });
    const chunks = await readBlob(store, hash);
    await expect(
      (async () => {
        for await (const _ of chunks) void _;
      })(),
    ).rejects.toMatchObject({ code: 'remote-unavailable' });
  });

  it('a missing blob is blob-missing; an existing one is not uploaded again', async () => {
    const store = new MemoryStore();
    await expect(readBlob(store, sha256Hex('nope'))).rejects.toMatchObject({ code: 'blob-missing' });
    const body = { size: 1, sha256: sha256Hex('y'), open: () => lendBytesStrictly(Buffer.from('y'), 1) };
    expect(await writeBlob(store, body)).toBe('created');
    expect(await writeBlob(store, body)).toBe('exists');
    expect(store.objects.size).toBe(1);
  });

  it('a small blob is written without a HEAD (the create-only write says it exists); a large one is HEADed and not re-sent', async () => {
    const store = new MemoryStore();
    const small = { size: 1, sha256: sha256Hex('y'), open: () => lendBytesStrictly(Buffer.from('y'), 1) };
    expect(await writeBlob(store, small)).toBe('created');
    expect(await writeBlob(store, small)).toBe('exists');
    expect(store.stats.heads).toBe(0);
    const big = Buffer.alloc(WRITE_WITHOUT_HEAD_BYTES + 1, 7);
    const large = { size: big.length, sha256: sha256Hex(big), open: () => lendBytesStrictly(big, 65536) };
    expect(await writeBlob(store, large)).toBe('created');
    const puts = store.stats.puts;
    expect(await writeBlob(store, large)).toBe('exists');
    expect(store.stats.puts).toBe(puts);
    expect(store.stats.heads).toBe(2);
  });

  it('a small blob whose key holds other bytes is blob-corrupt, found by the create-only write itself', async () => {
    const store = new MemoryStore();
    const hash = sha256Hex('z');
    store.objects.set(keyOfBlob(hash), new TextEncoder().encode('not z'));
    const body = { size: 1, sha256: hash, open: () => lendBytesStrictly(Buffer.from('z'), 1) };
    await expect(writeBlob(store, body)).rejects.toMatchObject({ code: 'blob-corrupt' });
  });
});
