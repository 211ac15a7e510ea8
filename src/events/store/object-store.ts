import { BmError, ErrorCode } from '../../errors.js';
import type { Chunks } from './lent-chunks.js';

/**
 * A streamed body for large objects (blobs). `open` may be called more than once (a retry
 * re-reads the source); its chunks are lent (see `Chunks`): a store writes or hashes each
 * before asking for the next, and copies what it keeps. `sha256` identifies the content, so
 * a create-only write that finds the key taken can tell a retried identical write from a
 * different object without buffering either.
 */
export interface StreamBody {
  readonly size: number;
  readonly sha256: string;
  open(): Chunks;
}

export type Body = Uint8Array | StreamBody;

export function isStreamBody(b: Body): b is StreamBody {
  return !(b instanceof Uint8Array);
}

export interface ListedObject {
  readonly key: string;
  readonly size: number;
  /**
   * Changes whenever the object is replaced (S3: its ETag; a directory: size, mtime, ctime and
   * inode; memory: a hash of the bytes): an unchanged tag means the same object as far as the
   * store can tell, so a reader that checked it once need not read it again (ADR-0015). A tag
   * may also change without the bytes changing (a copy, a touch); it is a hint to read again,
   * never proof of tampering. Absent where a store gives none.
   */
  readonly tag?: string;
}

export interface ListPage {
  /** Keys in ascending byte order, all strictly after `startAfter`. */
  readonly objects: readonly ListedObject[];
  /** True when more keys may follow: ask again with startAfter = last key. */
  readonly truncated: boolean;
}

/** What a remote supports, as found by probing it (see `probe-store.ts`). */
export interface StoreCapabilities {
  /** A second create-only write to one key is refused by the server itself. */
  readonly createOnlyEnforced: boolean;
  /** Tigris-style bucket snapshots (X-Tigris-Snapshot headers). */
  readonly snapshots: boolean;
  /** S3 bucket versioning is enabled. */
  readonly versioning: boolean;
}

/**
 * The one storage port. Keys are '/'-separated strings without a leading '/', '.' or '..'
 * segments (adapters reject others with a bad-path error).
 *
 * Contract (checked by test/events/store/object-store-contract.ts against every adapter):
 * - Consistency: read-after-write for a key this process created; a listing started after
 *   a create completed includes it (S3 and local directories give strong consistency).
 * - `putIfAbsent` is create-only and atomic: readers see no object or the whole object,
 *   never a prefix. If the key exists with identical bytes it returns 'identical' (a
 *   retried write that had succeeded); with different bytes it throws object-exists.
 * - `list` returns keys under `prefix` in ascending byte order, strictly after `startAfter`,
 *   at most `limit` per page. `prefix` must be '' or end with '/': `a/b/` never matches
 *   `a/bc`. Listing a missing prefix returns no objects (not an error).
 * - `get`/`head` return undefined for a missing key; `delete` of a missing key succeeds
 *   (idempotent).
 * - Failures that may succeed on retry throw remote-unavailable; adapters retry transient
 *   faults themselves with backoff before giving up.
 */
export interface ObjectStore {
  /** Human-readable location for messages, without credentials. */
  readonly description: string;
  get(key: string): Promise<Uint8Array | undefined>;
  /**
   * Streams an object's bytes as lent chunks (see `Chunks`: each is valid only until the
   * next is asked for); undefined when missing. `size`, when the caller knows it (a blob's,
   * from the event that names it), only sizes the reads: a store reads a small object in one
   * buffer of about that size instead of a default-sized one.
   */
  getChunks(key: string, size?: number): Promise<Chunks | undefined>;
  head(key: string): Promise<{ size: number } | undefined>;
  /**
   * The bytes `[offset, offset + length)` of an object (one ranged read; packs, ADR-0022);
   * undefined when the object is missing. Fewer bytes than asked when the object ends first.
   * Optional: `readRange` falls back to a whole `get` for stores without it.
   */
  getRange?(key: string, offset: number, length: number): Promise<Uint8Array | undefined>;
  putIfAbsent(key: string, body: Body): Promise<'created' | 'identical'>;
  list(prefix: string, options?: { startAfter?: string; limit?: number }): Promise<ListPage>;
  delete(key: string): Promise<void>;
  /** Releases sockets and handles. */
  close(): Promise<void>;
}

const KEY_SEGMENT_BAD = /^(\.|\.\.)?$/;

/** Throws bad-path unless `key` is a well-formed object key. */
export function mustObjectKey(key: string): string {
  if (
    key.length === 0 ||
    key.length > 1024 ||
    key.startsWith('/') ||
    key.includes('\\') ||
    key.includes('\0') ||
    key.split('/').some((s) => KEY_SEGMENT_BAD.test(s))
  ) {
    throw new BmError(ErrorCode.badPath, `invalid object key ${JSON.stringify(key)}`, 'this is a bug in the caller');
  }
  return key;
}

export function mustListPrefix(prefix: string): string {
  if (prefix !== '' && (!prefix.endsWith('/') || prefix.startsWith('/'))) {
    throw new BmError(
      ErrorCode.badPath,
      `list prefix ${JSON.stringify(prefix)} must be empty or end with '/'`,
      'this is a bug in the caller',
    );
  }
  return prefix;
}

export function objectExistsError(key: string): BmError {
  return new BmError(
    ErrorCode.objectExists,
    `object ${key} already exists with different content`,
    'create-only write refused; nothing was overwritten',
    { key },
  );
}

/** Lists every key under `prefix` after `startAfter`, following pages. */
export async function listAll(store: ObjectStore, prefix: string, startAfter?: string): Promise<ListedObject[]> {
  const out: ListedObject[] = [];
  let after = startAfter;
  for (;;) {
    const page = await store.list(prefix, after === undefined ? {} : { startAfter: after });
    out.push(...page.objects);
    const last = page.objects.at(-1);
    if (!page.truncated || last === undefined) return out;
    after = last.key;
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

/** `store.getRange`, or a whole read sliced where the store has no ranged read. */
export async function readRange(store: ObjectStore, key: string, offset: number, length: number): Promise<Uint8Array | undefined> {
  if (store.getRange !== undefined) return store.getRange(key, offset, length);
  const all = await store.get(key);
  return all?.subarray(Math.min(offset, all.length), Math.min(offset + length, all.length));
}
