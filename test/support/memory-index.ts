import { BmError, ErrorCode } from '../../src/errors.js';
import { decodeTrustedSegment } from '../../src/events/codec.js';
import { HASH_RE, ULID_RE, type ClientId } from '../../src/events/ids.js';
import { compareUtf8, type SyncPath } from '../../src/events/sync-path.js';
import type { BaseEntry } from '../../src/reconcile/ports.js';
import { projectSegment, type PathState, type Projection } from '../../src/projections/project-paths.js';
import type { SyncIndex } from '../../src/reconcile/ports.js';
import type { SegmentBody } from '../../src/events/schema.js';
import { CLEAN_STATE_KEY, voidsCleanState, type CommitOps } from '../../src/reconcile/ports.js';
import type { Cursor, PinnedKey, SegmentRecord } from '../../src/local/local-index.js';

const FORMAT_KEY = 'index-format';
const MAX_SEQ = 10 ** 12 - 1;

function copyEntry(e: BaseEntry): BaseEntry {
  const row = {
    path: e.path,
    hash: e.hash,
    size: e.size,
    mode: e.mode,
    mtimeMs: e.mtimeMs,
    ino: e.ino,
    heads: [...e.heads],
    version: e.version,
  };
  return e.copyOf === undefined ? row : { ...row, copyOf: { path: e.copyOf.path, version: e.copyOf.version } };
}

/** Freezes `v` and everything in it (a fold that tried to change a shared body would throw). */
function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !ArrayBuffer.isView(v) && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

function mustClient(client: string): void {
  if (!ULID_RE.test(client)) throw new BmError(ErrorCode.internal, `not a client id: ${JSON.stringify(client)}`);
}

/**
 * The local index in memory, with LocalIndex's semantics (see local-index.ts): every
 * `commitBatch` checks all of its parts before applying any (a path both put and deleted, a
 * bad seq, client id or cursor, the reserved meta key, segment bytes that do not decode) and then applies them in one
 * synchronous step, so a crash or a refused batch leaves all or none of it. Values are
 * copied in and out, as LevelDB stores bytes. Segments iterate in (client, seq) order.
 */
export class MemoryIndex implements SyncIndex {
  private readonly manifest = new Map<SyncPath, BaseEntry>();
  private readonly cursors = new Map<ClientId, Cursor>();
  private readonly keys = new Map<ClientId, PinnedKey>();
  private readonly segments = new Map<string, SegmentRecord>();
  /** Each stored segment decoded once, at its commit (frozen: folds share it, never change it). */
  private readonly bodies = new Map<string, SegmentBody>();
  private readonly meta = new Map<string, unknown>();
  /** Number of batches applied, for the simulation's statistics. */
  commits = 0;

  /** The manifest as it stands, uncopied and read-only: for the reconcile world, which plans synchronously. */
  get manifestNow(): ReadonlyMap<SyncPath, BaseEntry> {
    return this.manifest;
  }

  async getManifest(): Promise<Map<SyncPath, BaseEntry>> {
    return new Map([...this.manifest].map(([p, e]) => [p, copyEntry(e)]));
  }

  async getCursors(): Promise<Map<ClientId, Cursor>> {
    return new Map([...this.cursors].map(([c, k]) => [c, { ...k }]));
  }

  async getPinnedKeys(): Promise<Map<ClientId, PinnedKey>> {
    return new Map([...this.keys].map(([c, k]) => [c, { ...k }]));
  }

  async getMeta<T>(key: string): Promise<T | undefined> {
    return this.meta.get(key) as T | undefined;
  }

  /** Pins each new key; a different key for a pinned client throws key-mismatch and pins nothing. */
  async pinKeys(pins: readonly ({ client: ClientId } & PinnedKey)[]): Promise<void> {
    const add = new Map<ClientId, PinnedKey>();
    for (const pin of pins) {
      const existing = this.keys.get(pin.client) ?? add.get(pin.client);
      if (existing !== undefined) {
        if (existing.publicKey === pin.publicKey) continue;
        throw new BmError(
          ErrorCode.keyMismatch,
          `client ${pin.client} now presents a different public key than the one pinned when it was first seen`,
          'its segments are ignored',
          { client: pin.client },
        );
      }
      mustClient(pin.client);
      if (!/^[0-9a-f]{64}$/.test(pin.publicKey)) throw new BmError(ErrorCode.internal, `not a public key to pin for ${pin.client}`);
      add.set(pin.client, { publicKey: pin.publicKey, name: pin.name });
    }
    for (const [c, k] of add) this.keys.set(c, k);
    if (add.size > 0) {
      this.meta.delete(CLEAN_STATE_KEY);
      this.commits++;
    }
  }

  /** Like LocalIndex.readPathStates, by folding every stored segment (the index is small here). */
  async readPathStates(paths: Iterable<string>): Promise<Map<SyncPath, PathState>> {
    const all = this.foldAll();
    const out = new Map<SyncPath, PathState>();
    for (const p of paths) {
      const st = all.get(p as SyncPath);
      if (st !== undefined) out.set(p as SyncPath, st);
    }
    return out;
  }

  /** Like LocalIndex.iterateStatePaths: every path some stored event names, in `compareUtf8` order. */
  async *iterateStatePaths(): AsyncGenerator<string> {
    yield* [...this.foldAll().keys()].sort(compareUtf8);
  }

  /** Like LocalIndex.readPathRange: the states and manifest rows of the paths in [from, to). */
  async readPathRange(
    from: string | undefined,
    to: string | undefined,
  ): Promise<{ states: Map<SyncPath, PathState>; rows: Map<SyncPath, BaseEntry> }> {
    const inRange = (p: string) => (from === undefined || compareUtf8(p, from) >= 0) && (to === undefined || compareUtf8(p, to) < 0);
    const states = new Map<SyncPath, PathState>();
    for (const [p, st] of this.foldAll()) if (inRange(p) && st.versions.size > 0) states.set(p, st);
    const rows = new Map<SyncPath, BaseEntry>();
    for (const [p, e] of this.manifest) if (inRange(p)) rows.set(p, copyEntry(e));
    return { states, rows };
  }

  async hasManifestRows(): Promise<boolean> {
    return this.manifest.size > 0;
  }

  private foldAll(): Projection {
    const all: Projection = new Map();
    for (const body of this.bodies.values()) projectSegment(body, all);
    return all;
  }

  async canReadPathStates(): Promise<boolean> {
    return true;
  }

  async getManifestEntries(paths: readonly SyncPath[]): Promise<Map<SyncPath, BaseEntry>> {
    const out = new Map<SyncPath, BaseEntry>();
    for (const p of paths) {
      const e = this.manifest.get(p);
      if (e !== undefined) out.set(p, copyEntry(e));
    }
    return out;
  }

  async getSegment(client: ClientId, seq: number): Promise<Uint8Array | undefined> {
    const s = this.segments.get(`${client}!${String(seq).padStart(12, '0')}`);
    return s === undefined ? undefined : new Uint8Array(s.bytes);
  }

  /** Stored segments in (client, seq) order; of one client from `fromSeq` on when `client` is given. */
  async *iterateSegments(client?: ClientId, fromSeq = 1): AsyncGenerator<SegmentRecord> {
    const keys = [...this.segments.keys()].sort();
    for (const k of keys) {
      const s = this.segments.get(k);
      if (s === undefined || (client !== undefined && (s.client !== client || s.seq < fromSeq))) continue;
      yield { client: s.client, seq: s.seq, bytes: new Uint8Array(s.bytes) };
    }
  }

  async commitBatch(ops: CommitOps): Promise<void> {
    // Check everything first: a refused batch writes nothing.
    const putPaths = new Set<string>(ops.manifestPut?.map((e) => e.path));
    for (const p of ops.manifestDel ?? [])
      if (putPaths.has(p)) throw new BmError(ErrorCode.internal, `commit both writes and deletes ${p}`);
    if (ops.meta !== undefined && FORMAT_KEY in ops.meta)
      throw new BmError(ErrorCode.internal, `meta key ${FORMAT_KEY} is reserved for the index itself`);
    const decoded: SegmentBody[] = [];
    for (const s of ops.segments ?? []) {
      mustClient(s.client);
      if (!Number.isInteger(s.seq) || s.seq < 1 || s.seq > MAX_SEQ)
        throw new BmError(ErrorCode.internal, `segment seq out of range: ${s.seq}`);
      decoded.push(deepFreeze(decodeTrustedSegment(s.bytes))); // LocalIndex decodes each segment for its history rows in the same batch
    }
    for (const [client, cursor] of ops.cursors ?? []) {
      mustClient(client);
      if (!Number.isInteger(cursor.seq) || cursor.seq < 1 || !HASH_RE.test(cursor.hash))
        throw new BmError(ErrorCode.internal, `bad cursor for ${client}: ${JSON.stringify(cursor)}`);
    }
    // Then apply it all without an await in between.
    if (voidsCleanState(ops)) this.meta.delete(CLEAN_STATE_KEY);
    for (const e of ops.manifestPut ?? []) this.manifest.set(e.path, copyEntry(e));
    for (const p of ops.manifestDel ?? []) this.manifest.delete(p);
    for (const [k, v] of Object.entries(ops.meta ?? {})) {
      if (v === undefined) this.meta.delete(k);
      else this.meta.set(k, structuredClone(v));
    }
    for (const [i, s] of (ops.segments ?? []).entries()) {
      const key = `${s.client}!${String(s.seq).padStart(12, '0')}`;
      this.segments.set(key, { client: s.client, seq: s.seq, bytes: new Uint8Array(s.bytes) });
      this.bodies.set(key, decoded[i]!);
    }
    for (const [client, cursor] of ops.cursors ?? []) this.cursors.set(client, { seq: cursor.seq, hash: cursor.hash });
    this.commits++;
  }
}
