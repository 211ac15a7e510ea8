import { createHash } from 'node:crypto';
import { BmError, ErrorCode, isBmError } from '../errors.js';
import { readBlob } from './blobs.js';
import type { ContentHash } from './ids.js';
import { keyOfBlob, keyOfPack } from './layout.js';
import { MAX_PACK_BYTES, type ContentRef, type PackLocation } from './schema.js';
import type { Chunks } from './store/lent-chunks.js';
import { readRange, type ObjectStore } from './store/object-store.js';

/*
 * Packs (ADR-0022): the small contents one sync uploads go into one create-only object
 * `packs/<client>/<id>` (their bytes concatenated, no header), written before the segment
 * whose content refs name an entry `{client, id, offset, length}` of it. Large contents keep
 * their own blobs. A reader reads an entry by one ranged read, or reads once the span of a
 * pack that many wanted entries share, and checks every entry against its hash as it would
 * a blob.
 */

/** The object that holds a content's bytes: its pack, or its own blob. */
export function keyOfContent(ref: ContentRef): string {
  return ref.pack === undefined ? keyOfBlob(ref.hash) : keyOfPack(ref.pack.client, ref.pack.id);
}

/**
 * The hash-shaped name under which garbage collection condemns, deletes and bans a pack
 * (ADR-0035): SHA-256 of a domain tag and the pack's key, so a pack rides the blob collection
 * state of ADR-0007 (condemnations, deletion records, namers, checkpoints) unchanged, and a gc
 * event listing it stays readable by clients that predate pack GC. Pure.
 */
export function computePackCollectHash(client: string, id: string): ContentHash {
  return createHash('sha256')
    .update(`bm-log pack\0${keyOfPack(client, id)}`)
    .digest('hex') as ContentHash;
}

/**
 * The collection names a content ref holds on to: its content hash (a blob of those bytes, as
 * before packs) and, for a packed content, its pack's collect hash. A version needs, and an
 * event naming it voids a condemnation of, each of them. Pure.
 */
export function computeCollectHashes(ref: ContentRef): ContentHash[] {
  const own = ref.hash as ContentHash;
  return ref.pack === undefined ? [own] : [own, computePackCollectHash(ref.pack.client, ref.pack.id)];
}

/** Contents up to this size go into a pack; larger ones are blobs of their own. */
export const PACK_ENTRY_MAX_BYTES = 256 * 1024;

/** One content to pack: its hash and size as the scan found them, and its bytes. */
export interface PackSource {
  readonly hash: string;
  readonly size: number;
  open(): Chunks;
}

/** Whether a content of `size` bytes goes into a pack. Pure. */
export function isPackable(size: number): boolean {
  return size <= PACK_ENTRY_MAX_BYTES;
}

/**
 * Splits `items` into packs of at most MAX_PACK_BYTES in their order (a content's bytes count
 * once per pack: an entry is shared by the same hash). Pure.
 */
export function planPacks<T extends { readonly hash: string; readonly size: number }>(items: readonly T[]): T[][] {
  const packs: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  let hashes = new Set<string>();
  for (const item of items) {
    const adds = hashes.has(item.hash) ? 0 : item.size;
    if (current.length > 0 && bytes + adds > MAX_PACK_BYTES) {
      packs.push(current);
      current = [];
      bytes = 0;
      hashes = new Set();
    }
    current.push(item);
    if (!hashes.has(item.hash)) bytes += item.size;
    hashes.add(item.hash);
  }
  if (current.length > 0) packs.push(current);
  return packs;
}

/** The bytes of `source`, or a local-io error when they are no longer what the scan found. */
async function readSource(source: PackSource): Promise<Uint8Array | BmError> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of source.open()) {
      size += chunk.byteLength;
      if (size > source.size) break;
      parts.push(Buffer.from(chunk)); // lent: copied
    }
  } catch (e) {
    if (isBmError(e, ErrorCode.localIo)) return e;
    throw e;
  }
  const bytes = Buffer.concat(parts);
  if (size !== source.size || createHash('sha256').update(bytes).digest('hex') !== source.hash) {
    return new BmError(ErrorCode.localIo, 'the file changed while it was packed', 'nothing was stored for it; the next sync retries');
  }
  return bytes;
}

/** How many sources a pack reads at once: a pack may name thousands of small files, never all open together. */
const READS_IN_FLIGHT = 16;

/** Reads `sources` in order, at most READS_IN_FLIGHT at a time. */
async function readSources(sources: readonly PackSource[]): Promise<(Uint8Array | BmError)[]> {
  const out: (Uint8Array | BmError)[] = new Array(sources.length);
  let next = 0;
  const worker = async () => {
    while (next < sources.length) {
      const i = next++;
      out[i] = await readSource(sources[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READS_IN_FLIGHT, sources.length) }, worker));
  return out;
}

/**
 * Reads `sources` (each checked against its hash and size), writes the ones that still match
 * as one pack `packs/<client>/<id>`, create-only, and returns each source's location, or the
 * local-io error that left it out. Writes nothing when none matched. At most MAX_PACK_BYTES
 * (see `planPacks`).
 */
export async function writePack(
  store: ObjectStore,
  client: string,
  id: string,
  sources: readonly PackSource[],
): Promise<(PackLocation | BmError)[]> {
  const read = await readSources(sources);
  const at = new Map<string, number>();
  const parts: Uint8Array[] = [];
  let offset = 0;
  const out = read.map((r, i): PackLocation | BmError => {
    if (r instanceof BmError) return r;
    const hash = sources[i]!.hash;
    let start = at.get(hash);
    if (start === undefined) {
      start = offset;
      at.set(hash, start);
      parts.push(r);
      offset += r.byteLength;
    }
    return { client: client as PackLocation['client'], id: id as PackLocation['id'], offset: start, length: r.byteLength };
  });
  if (offset > MAX_PACK_BYTES)
    throw new BmError(ErrorCode.internal, `pack ${id} would hold ${offset} bytes`, 'this is a bug: split with planPacks');
  if (parts.length > 0) await store.putIfAbsent(keyOfPack(client, id), Buffer.concat(parts));
  return out;
}

/** Checks pack entry bytes against their content ref: blob-corrupt when they do not match. */
function mustMatch(ref: ContentRef & { pack: PackLocation }, bytes: Uint8Array): Uint8Array {
  if (bytes.byteLength === ref.size && createHash('sha256').update(bytes).digest('hex') === ref.hash) return bytes;
  const key = keyOfPack(ref.pack.client, ref.pack.id);
  throw new BmError(
    ErrorCode.blobCorrupt,
    `pack ${key} does not hold the bytes of ${ref.hash} at ${ref.pack.offset}+${ref.pack.length}`,
    'nothing was written for this file; run `bm-log verify`',
    { key, hash: ref.hash },
  );
}

function packMissing(ref: ContentRef & { pack: PackLocation }): BmError {
  const key = keyOfPack(ref.pack.client, ref.pack.id);
  return new BmError(
    ErrorCode.blobMissing,
    `pack ${key} holding ${ref.hash} is missing from the remote`,
    'the file was not written; run `bm-log verify`',
    {
      key,
      hash: ref.hash,
    },
  );
}

function hasPack(ref: ContentRef): ref is ContentRef & { pack: PackLocation } {
  return ref.pack !== undefined;
}

/**
 * Reads spans of packs shared by many wanted entries once (see `createPackSpans`); an entry
 * outside every span is read by itself.
 */
export interface PackSpans {
  /** The entry's bytes (unchecked), or undefined when its pack is missing. */
  read(ref: ContentRef & { pack: PackLocation }): Promise<Uint8Array | undefined>;
}

/**
 * Plans one ranged read per pack that at least two of `refs` use, covering them all (when the
 * span is at most MAX_PACK_BYTES); a span is let go once each of its entries was read once.
 */
export function createPackSpans(store: ObjectStore, refs: readonly ContentRef[]): PackSpans {
  const spans = new Map<string, { start: number; end: number; left: number; bytes?: Promise<Uint8Array | undefined> }>();
  for (const ref of refs) {
    if (!hasPack(ref)) continue;
    const key = keyOfPack(ref.pack.client, ref.pack.id);
    const s = spans.get(key) ?? { start: ref.pack.offset, end: ref.pack.offset, left: 0 };
    s.start = Math.min(s.start, ref.pack.offset);
    s.end = Math.max(s.end, ref.pack.offset + ref.pack.length);
    s.left++;
    spans.set(key, s);
  }
  for (const [key, s] of spans) if (s.left < 2 || s.end - s.start > MAX_PACK_BYTES) spans.delete(key);
  return {
    async read(ref) {
      const key = keyOfPack(ref.pack.client, ref.pack.id);
      const s = spans.get(key);
      const { offset, length } = ref.pack;
      if (s === undefined || offset < s.start || offset + length > s.end) return readRange(store, key, offset, length);
      s.bytes ??= readRange(store, key, s.start, s.end - s.start);
      if (--s.left <= 0) spans.delete(key);
      const all = await s.bytes;
      return all?.subarray(offset - s.start, offset - s.start + length);
    },
  };
}

/**
 * A content's bytes as lent chunks, wherever they live: its own blob (streamed; the reader
 * checks the hash, as `readBlob` says) or a pack entry (read whole and checked here:
 * blob-corrupt when the bytes do not match the hash, blob-missing when the pack is gone).
 * With `fallback`, a blob or pack gone from the live bucket is read from it instead.
 */
export async function readContent(store: ObjectStore, ref: ContentRef, spans?: PackSpans, fallback?: ContentFallback): Promise<Chunks> {
  if (!hasPack(ref)) {
    if (fallback === undefined) return readBlob(store, ref.hash, ref.size);
    try {
      return await readBlob(store, ref.hash, ref.size);
    } catch (e) {
      if (!isBmError(e, ErrorCode.blobMissing)) throw e;
      return chunksOf(await fallback(ref, e));
    }
  }
  let bytes: Uint8Array | undefined;
  try {
    bytes = await (spans ?? createPackSpans(store, [])).read(ref);
  } catch (e) {
    if (e instanceof BmError) throw e;
    throw new BmError(
      ErrorCode.remoteUnavailable,
      `reading pack entry ${ref.hash} failed (${String(e)})`,
      'the local file was left as it was; sync again',
      {},
      { cause: e },
    );
  }
  if (bytes === undefined) {
    if (fallback === undefined) throw packMissing(ref);
    return chunksOf(await fallback(ref, packMissing(ref)));
  }
  return chunksOf(mustMatch(ref, bytes));
}

/**
 * Where a content gone from the live bucket is read back from (bucket snapshots, ADR-0034): its
 * bytes, checked against the ref's hash and size, or throws (`missing`, or an error saying
 * what is lost and what to do).
 */
export type ContentFallback = (ref: ContentRef, missing: BmError) => Promise<Uint8Array>;

function chunksOf(bytes: Uint8Array): Chunks {
  return (async function* () {
    yield bytes;
  })();
}
