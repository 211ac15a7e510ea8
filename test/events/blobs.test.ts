import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readBlob, writeBlob } from '../../src/events/blobs.js';
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
    expect(store.stats.puts).toBe(1);
  });
});
