import type { FileHandle } from 'node:fs/promises';

/**
 * Bytes read in order, as lent chunks (ADR-0013): each chunk is valid only until the next
 * one is asked for, because the producer may read the next into the same buffer. A consumer
 * hashes or writes each chunk (and awaits that write) before asking for the next, and copies
 * any chunk it keeps (`copyChunks`, `collectChunks`).
 *
 * Why: a transfer that allocated a fresh 1 MiB buffer per chunk left every chunk of a large
 * file as garbage that V8 frees only in a full collection, about 50 MB at a time. Reading a
 * file into one buffer per transfer keeps a 50 MiB upload or download at 1 MiB of buffers.
 *
 * A producer whose chunks are fresh (a network stream) satisfies the contract as it is.
 */
export type Chunks = AsyncIterable<Uint8Array>;

/** Largest read of a file transfer; a smaller file is read in one buffer of its size. */
export const TRANSFER_CHUNK_BYTES = 1 << 20;

/**
 * A read buffer for a file of `size` bytes (unknown: the largest): one read for a small file
 * (+1, so the end is seen in the same read), `TRANSFER_CHUNK_BYTES` for a large one.
 */
export function computeReadBufferSize(size: number | undefined): number {
  return size === undefined ? TRANSFER_CHUNK_BYTES : Math.min(TRANSFER_CHUNK_BYTES, Math.max(4096, size + 1));
}

/**
 * Reads a file from its start to its end into one reused buffer of `bufferSize` bytes, and
 * lends each filled part of it. `open` runs when the iteration starts; the handle is closed
 * when the iteration ends, however it ends (the end, an error, or a consumer that stops).
 */
export async function* lendFileChunks(open: () => Promise<FileHandle>, bufferSize: number): Chunks {
  const fh = await open();
  try {
    const buf = Buffer.allocUnsafe(bufferSize);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) return;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/**
 * Lends `bytes` in `pieces` chunks (fewer if there are fewer bytes) through one buffer that
 * is overwritten with 0xEE each time the consumer asks for the next chunk: a consumer that
 * kept a lent chunk finds it ruined. The in-memory ports lend this way, so their tests and
 * the simulation catch a consumer that breaks the contract instead of trusting it. The bytes
 * are copied when the iteration starts.
 */
export async function* lendBytesStrictly(bytes: Uint8Array, pieces: number): Chunks {
  const source = Uint8Array.from(bytes);
  const chunkSize = Math.max(1, Math.ceil(source.length / Math.max(1, pieces)));
  const buf = new Uint8Array(Math.min(chunkSize, source.length));
  for (let at = 0; at < source.length; at += chunkSize) {
    const n = Math.min(chunkSize, source.length - at);
    buf.set(source.subarray(at, at + n));
    yield buf.subarray(0, n);
    buf.fill(0xee);
  }
}

/** Passes lent chunks on as copies the consumer may keep (for a consumer that buffers). */
export async function* copyChunks(chunks: Chunks): Chunks {
  for await (const chunk of chunks) yield Buffer.from(chunk);
}

/** All the bytes of lent chunks, copied into one array. */
export async function collectChunks(chunks: Chunks): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

/**
 * Writes all of `chunk` at the file's position: a write may take fewer bytes than asked
 * (rare for files, but allowed), and the caller's next chunk may reuse the buffer.
 */
export async function writeChunk(fh: FileHandle, chunk: Uint8Array): Promise<void> {
  for (let at = 0; at < chunk.length; ) {
    const { bytesWritten } = await fh.write(chunk, at, chunk.length - at, null);
    if (bytesWritten === 0) throw Object.assign(new Error('a write made no progress'), { code: 'EIO' });
    at += bytesWritten;
  }
}
