import { BmError, ErrorCode } from '../../errors.js';
import { sha256Hex } from '../signing.js';
import {
  bytesEqual,
  isStreamBody,
  mustListPrefix,
  mustObjectKey,
  objectExistsError,
  type Body,
  type ListPage,
  type ObjectStore,
} from './object-store.js';
import { collectChunks, lendBytesStrictly, type Chunks } from './lent-chunks.js';

/**
 * Switchable faults for tests and the simulation. Rates are probabilities in [0, 1] drawn
 * from the injected `random`, so a seeded source replays the same faults.
 */
export interface MemoryFaults {
  /** A write fails before anything is stored. */
  writeFailRate?: number;
  /** A write is stored but reports failure (the caller will retry a write that happened). */
  writeLostAckRate?: number;
  /** A listing silently returns only a prefix of the keys and says it is complete. */
  listTruncateRate?: number;
  /** A read fails. */
  readFailRate?: number;
  /** Every call waits this long first. */
  latencyMs?: number;
}

export interface MemoryStoreStats {
  gets: number;
  puts: number;
  lists: number;
  heads: number;
  deletes: number;
}

/** In-memory ObjectStore: the reference adapter for the contract and the simulation. */
export class MemoryStore implements ObjectStore {
  readonly description = 'memory';
  readonly objects = new Map<string, Uint8Array>();
  faults: MemoryFaults = {};
  readonly stats: MemoryStoreStats = { gets: 0, puts: 0, lists: 0, heads: 0, deletes: 0 };
  private readonly random: () => number;

  constructor(options: { random?: () => number; faults?: MemoryFaults } = {}) {
    this.random = options.random ?? Math.random;
    if (options.faults) this.faults = options.faults;
  }

  private roll(rate: number | undefined): boolean {
    return rate !== undefined && rate > 0 && this.random() < rate;
  }

  private async delay(): Promise<void> {
    if (this.faults.latencyMs) await new Promise((r) => setTimeout(r, this.faults.latencyMs));
  }

  private injected(what: string): BmError {
    return new BmError(ErrorCode.remoteUnavailable, `injected fault: ${what}`, 'retry');
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    mustObjectKey(key);
    this.stats.gets++;
    await this.delay();
    if (this.roll(this.faults.readFailRate)) throw this.injected(`read ${key}`);
    const v = this.objects.get(key);
    return v === undefined ? undefined : new Uint8Array(v);
  }

  async getChunks(key: string, _size?: number): Promise<Chunks | undefined> {
    const v = await this.get(key);
    // Lent strictly, in up to four chunks, so that tests on this store catch a reader that
    // keeps a lent chunk (see lendBytesStrictly).
    return v === undefined ? undefined : lendBytesStrictly(v, 4);
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array | undefined> {
    const v = await this.get(key);
    return v?.subarray(Math.min(offset, v.length), Math.min(offset + length, v.length));
  }

  async head(key: string): Promise<{ size: number } | undefined> {
    mustObjectKey(key);
    this.stats.heads++;
    await this.delay();
    if (this.roll(this.faults.readFailRate)) throw this.injected(`head ${key}`);
    const v = this.objects.get(key);
    return v === undefined ? undefined : { size: v.length };
  }

  async putIfAbsent(key: string, body: Body): Promise<'created' | 'identical'> {
    mustObjectKey(key);
    this.stats.puts++;
    await this.delay();
    if (this.roll(this.faults.writeFailRate)) throw this.injected(`write ${key}`);
    const bytes = isStreamBody(body) ? await collectChunks(body.open()) : new Uint8Array(body);
    if (isStreamBody(body) && (bytes.length !== body.size || sha256Hex(bytes) !== body.sha256)) {
      throw new BmError(ErrorCode.localIo, `source for ${key} changed while uploading`, 'nothing was stored; retry');
    }
    const existing = this.objects.get(key);
    let result: 'created' | 'identical';
    if (existing === undefined) {
      this.objects.set(key, bytes);
      result = 'created';
    } else if (bytesEqual(existing, bytes)) {
      result = 'identical';
    } else {
      throw objectExistsError(key);
    }
    if (this.roll(this.faults.writeLostAckRate)) throw this.injected(`lost acknowledgement for ${key}`);
    return result;
  }

  async list(prefix: string, options: { startAfter?: string; limit?: number } = {}): Promise<ListPage> {
    mustListPrefix(prefix);
    this.stats.lists++;
    await this.delay();
    if (this.roll(this.faults.readFailRate)) throw this.injected(`list ${prefix}`);
    const limit = Math.max(1, Math.min(options.limit ?? 1000, 1000));
    const after = options.startAfter ?? '';
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix) && compareKeys(k, after) > 0).sort(compareKeys);
    let page = keys.slice(0, limit);
    let truncated = keys.length > limit;
    if (page.length > 0 && this.roll(this.faults.listTruncateRate)) {
      page = page.slice(0, Math.floor(this.random() * page.length));
      truncated = false; // the dangerous lie: an incomplete listing that claims to be complete
    }
    return {
      objects: page.map((key) => ({ key, size: this.objects.get(key)?.length ?? 0, tag: tagOf(this.objects.get(key)) })),
      truncated,
    };
  }

  async delete(key: string): Promise<void> {
    mustObjectKey(key);
    this.stats.deletes++;
    await this.delay();
    if (this.roll(this.faults.writeFailRate)) throw this.injected(`delete ${key}`);
    this.objects.delete(key);
  }

  async close(): Promise<void> {}
}

/** A listing's tag of stored bytes: their hash, computed once per stored array (tests may swap arrays in `objects`). */
const tags = new WeakMap<Uint8Array, string>();
function tagOf(bytes: Uint8Array | undefined): string {
  if (bytes === undefined) return '';
  let t = tags.get(bytes);
  if (t === undefined) {
    t = sha256Hex(bytes);
    tags.set(bytes, t);
  }
  return t;
}

/** Byte order of UTF-8 keys, as S3 lists them. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
