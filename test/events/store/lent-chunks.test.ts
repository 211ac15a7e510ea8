import * as fs from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  collectChunks,
  computeReadBufferSize,
  copyChunks,
  lendBytesStrictly,
  lendFileChunks,
  TRANSFER_CHUNK_BYTES,
  writeChunk,
} from '../../../src/events/store/lent-chunks.js';
import { DirectoryStore } from '../../../src/events/store/directory-store.js';
import { FsTree } from '../../../src/local/fs-tree.js';
import type { SyncPath } from '../../../src/events/sync-path.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tempDir = useTempDirs('bm-lent-');

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function openFds(): Promise<number> {
  return (await fs.readdir('/proc/self/fd')).length;
}

/** Reads `chunks` as a sequential consumer does, noting which ArrayBuffers the chunks lived in. */
async function consume(
  chunks: AsyncIterable<Uint8Array>,
): Promise<{ hash: string; size: number; buffers: Set<ArrayBufferLike>; count: number }> {
  const h = createHash('sha256');
  const buffers = new Set<ArrayBufferLike>();
  let size = 0;
  let count = 0;
  for await (const c of chunks) {
    h.update(c);
    buffers.add(c.buffer);
    size += c.length;
    count++;
  }
  return { hash: h.digest('hex'), size, buffers, count };
}

describe('lent chunks', () => {
  it('a strict lender gives a sequential reader the exact bytes and ruins every chunk a reader kept', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 20 }), async (bytes, pieces) => {
        const seen = await consume(lendBytesStrictly(bytes, pieces));
        expect(seen.size).toBe(bytes.length);
        expect(seen.hash).toBe(sha256(bytes));
        expect(seen.count).toBe(bytes.length === 0 ? 0 : Math.ceil(bytes.length / Math.ceil(bytes.length / pieces)));
        expect(Buffer.from(await collectChunks(lendBytesStrictly(bytes, pieces))).equals(Buffer.from(bytes))).toBe(true);
        expect(Buffer.from(await collectChunks(copyChunks(lendBytesStrictly(bytes, pieces)))).equals(Buffer.from(bytes))).toBe(true);
        // A reader that keeps chunks without copying them ends up with ruined bytes, so a
        // store or a tree that does so fails the tests run on the in-memory ports.
        const kept: Uint8Array[] = [];
        for await (const c of lendBytesStrictly(bytes, pieces)) kept.push(c);
        expect(kept.every((c) => c.every((b) => b === 0xee))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('a file is read into one buffer however large it is, and a small one in one read of its size', async () => {
    const dir = await tempDir();
    const sizes = [
      0,
      1,
      4095,
      4096,
      TRANSFER_CHUNK_BYTES - 1,
      TRANSFER_CHUNK_BYTES,
      TRANSFER_CHUNK_BYTES + 1,
      5 * TRANSFER_CHUNK_BYTES + 17,
    ];
    for (const size of sizes) {
      const bytes = Buffer.alloc(size);
      for (let i = 0; i < size; i += 997) bytes[i] = (i / 997) & 0xff;
      const file = path.join(dir, `f${size}`);
      await fs.writeFile(file, bytes);
      for (const hint of [size, undefined]) {
        const seen = await consume(lendFileChunks(() => fs.open(file, 'r'), computeReadBufferSize(hint)));
        expect(seen.size).toBe(size);
        expect(seen.hash).toBe(sha256(bytes));
        // Every chunk of the file lived in the same buffer: a 5 MiB read allocated 1 MiB.
        expect(seen.buffers.size).toBeLessThanOrEqual(1);
        if (hint !== undefined && size < TRANSFER_CHUNK_BYTES) expect(seen.count).toBe(size === 0 ? 0 : 1);
      }
    }
  });

  it('closes the file when the reader stops early and when a read fails', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'f');
    await fs.writeFile(file, Buffer.alloc(3 * TRANSFER_CHUNK_BYTES));
    const before = await openFds();
    for await (const _ of lendFileChunks(() => fs.open(file, 'r'), TRANSFER_CHUNK_BYTES)) break;
    expect(await openFds()).toBe(before);
    // A directory opens but cannot be read (EISDIR): the error reaches the reader, the handle is closed.
    await expect(consume(lendFileChunks(() => fs.open(dir, 'r'), 4096))).rejects.toMatchObject({ code: 'EISDIR' });
    expect(await openFds()).toBe(before);
    // A file gone before the reading starts fails the reading with ENOENT.
    await expect(consume(lendFileChunks(() => fs.open(path.join(dir, 'gone'), 'r'), 4096))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('writes all of a chunk when the file takes it in parts, and fails instead of spinning when it takes none', async () => {
    const written: number[] = [];
    const partial = {
      write: async (buf: Uint8Array, offset: number, length: number) => {
        const n = Math.min(3, length);
        written.push(...buf.subarray(offset, offset + n));
        return { bytesWritten: n, buffer: buf };
      },
    } as unknown as FileHandle;
    await writeChunk(partial, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(written).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const stuck = { write: async (buf: Uint8Array) => ({ bytesWritten: 0, buffer: buf }) } as unknown as FileHandle;
    await expect(writeChunk(stuck, Uint8Array.from([1]))).rejects.toMatchObject({ code: 'EIO' });
  });

  it('uploads and downloads of a large file through the directory remote each use one buffer', async () => {
    const dir = await tempDir();
    await fs.mkdir(path.join(dir, 'tree'));
    const bytes = Buffer.alloc(4 * TRANSFER_CHUNK_BYTES + 123);
    for (let i = 0; i < bytes.length; i += 4093) bytes[i] = (i * 13) & 0xff;
    await fs.writeFile(path.join(dir, 'tree', 'big.bin'), bytes);
    const tree = new FsTree(path.join(dir, 'tree'));
    const up = await consume(tree.openRead('big.bin' as SyncPath, bytes.length));
    expect(up.hash).toBe(sha256(bytes));
    expect(up.buffers.size).toBe(1);
    const store = new DirectoryStore(path.join(dir, 'remote'));
    expect(
      await store.putIfAbsent('blobs/big', {
        size: bytes.length,
        sha256: sha256(bytes),
        open: () => tree.openRead('big.bin' as SyncPath, bytes.length),
      }),
    ).toBe('created');
    const down = await consume((await store.getChunks('blobs/big', bytes.length))!);
    expect(down.hash).toBe(sha256(bytes));
    expect(down.buffers.size).toBe(1);
    // And the download written back through the tree is the file.
    const written = await tree.writeFile(
      'copy.bin' as SyncPath,
      (await store.getChunks('blobs/big', bytes.length))!,
      sha256(bytes),
      0o644,
      null,
    );
    expect(written).toMatchObject({ size: bytes.length, hash: sha256(bytes) });
    expect((await fs.readFile(path.join(dir, 'tree', 'copy.bin'))).equals(bytes)).toBe(true);
    // A write refused before its first byte (a folder on the way is a symlink) still closes
    // the blob the download had opened, instead of leaving it to the garbage collector.
    await fs.symlink(dir, path.join(dir, 'tree', 'link'));
    const before = await openFds();
    await expect(
      tree.writeFile('link/copy.bin' as SyncPath, (await store.getChunks('blobs/big', bytes.length))!, sha256(bytes), 0o644, null),
    ).rejects.toMatchObject({ code: 'local-io' });
    expect(await openFds()).toBe(before);
  });
});
