import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { Level, type BatchOperation } from 'level';
import { z } from 'zod';
import { BmError, ErrorCode } from '../errors.js';
import { ByteParts, decodeMsgpack, decodeTrustedSegment, encodeMsgpack } from '../events/codec.js';
import {
  collectPath,
  computeSegmentCollections,
  computeSegmentVersions,
  projectVersions,
  type PathState,
} from '../projections/project-paths.js';
import type { VersionRecord } from '../projections/version-record.js';
import { HASH_RE, ULID_RE, type ClientId, type VersionId } from '../events/ids.js';
import type { SyncPath } from '../events/sync-path.js';
import { CLEAN_STATE_KEY, voidsCleanState, type BaseEntry, type CommitOps } from '../reconcile/ports.js';
import { ensureStateDir, fsyncFolder, localIoError, stateDirPath, writeFileDurably } from './state-dir.js';
import { sha256Hex } from '../events/signing.js';

/** Version of the index's own layout, kept under meta key `index-format`. */
/**
 * 2: collection rows (`readPathStates`, ADR-0009). A format-1 index is upgraded in place (its
 * rows are written by the next full fold); a bm-log that reads only format 1 then refuses it,
 * instead of writing segments without their collection rows.
 */
const INDEX_FORMAT = 2;
const UPGRADABLE_FORMATS: readonly unknown[] = [1];
const FORMAT_KEY = 'index-format';
const SEQ_DIGITS = 12;
const MAX_SEQ = 10 ** SEQ_DIGITS - 1;
/** Paths `readPathStates` reads at once. */
const PATH_READS_IN_FLIGHT = 16;
/** Rows fetched per native call when reading a whole sublevel. */
const READ_CHUNK = 1000;
const DAMAGED_HINT =
  'the local index in .bm-log/index is damaged; nothing was changed. Restore .bm-log from a backup or move it aside and run `bm-log init --remote URL` again (the URL is in .bm-log/config.json)';

/** One segment object of one client's log, as fetched: the exact stored bytes. */
export interface SegmentRecord {
  readonly client: ClientId;
  readonly seq: number;
  readonly bytes: Uint8Array;
}

/** The last verified segment of a client's log: the next one must have seq+1 and prev = hash. */
export interface Cursor {
  readonly seq: number;
  readonly hash: string;
}

/** A client's public key, pinned the first time this client saw it (trust on first use). */
export interface PinnedKey {
  /** Raw 32-byte Ed25519 public key, lowercase hex. */
  readonly publicKey: string;
  readonly name: string;
}

/** Meta key: true once the collection rows cover every stored segment (`readPathStates`). */
const COLLECTED_ROWS_KEY = 'collected-rows';
const EMPTY = new Uint8Array(0);
/** Meta values larger than this live in side files (see commitBatch). */
const LARGE_META_BYTES = 256 * 1024;
/** The key of a meta value that points to a side file. */
const SIDE_VALUE = '\u0000side-file';

function computeSideValueHash(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || !(SIDE_VALUE in value)) return undefined;
  const hash = (value as Record<string, unknown>)[SIDE_VALUE];
  return typeof hash === 'string' && /^[0-9a-f]{64}$/.test(hash) ? hash : undefined;
}

/** In a side-file pointer: the side files of the value's own fields (see `computeSideFields`). */
const SIDE_FIELDS = '\u0000side-fields';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/**
 * A meta value with each of its large byte fields replaced by a pointer to a side file, and
 * those files (stored as they are; `getMeta` puts them back).
 */
function computeSideFields(value: unknown): { value: unknown; files: SideFile[] } {
  if (!isPlainObject(value)) return { value, files: [] };
  const files: SideFile[] = [];
  const out: Record<string, unknown> = {};
  for (const [field, v] of Object.entries(value)) {
    const bytes = v instanceof Uint8Array ? new ByteParts([v]) : v instanceof ByteParts ? v : undefined;
    if (bytes !== undefined && bytes.byteLength > LARGE_META_BYTES) {
      const h = createHash('sha256');
      for (const p of bytes.parts) h.update(p);
      const hash = h.digest('hex');
      files.push({ hash, parts: bytes.parts });
      out[field] = { [SIDE_VALUE]: hash };
    } else out[field] = v instanceof ByteParts ? v.concat() : v;
  }
  return { value: out, files };
}

/** A side file to write: its name (the SHA-256 of its bytes) and its bytes, in parts. */
interface SideFile {
  readonly hash: string;
  readonly parts: readonly Uint8Array[];
}

/** Every side file a stored meta value points to. */
function computeSideHashes(value: unknown): string[] {
  const out: string[] = [];
  const whole = computeSideValueHash(value);
  if (whole !== undefined) {
    out.push(whole);
    const fields = (value as Record<string, unknown>)[SIDE_FIELDS];
    if (Array.isArray(fields)) for (const h of fields) if (typeof h === 'string' && /^[0-9a-f]{64}$/.test(h)) out.push(h);
  } else if (isPlainObject(value)) {
    for (const v of Object.values(value)) {
      const hash = computeSideValueHash(v);
      if (hash !== undefined) out.push(hash);
    }
  }
  return out;
}

/** Meta key: set when two events claimed one version id (see commitBatch). */
const ID_CLASH_KEY = 'version-id-clash';

type Db = Level<string, Uint8Array>;
type Sub = ReturnType<typeof openSublevel>;
type BatchOp = BatchOperation<Db, string, Uint8Array>;

function openSublevel(db: Db, name: string) {
  return db.sublevel<string, Uint8Array>(name, { keyEncoding: 'utf8', valueEncoding: 'view' });
}

/**
 * The local index of one client folder: a LevelDB at `<root>/.bm-log/index` with one
 * sublevel per concern. Only one process may hold it open (LevelDB's LOCK file); a second
 * open, in this process or another, fails with already-running.
 *
 * Contract:
 * - Every write (`commitBatch`, and `pinKeys`, which checks pins first) is a single LevelDB
 *   batch written with fsync, so a crash or power cut leaves the old state or the new
 *   state of every sublevel it touches.
 * - Values are msgpack, except segments, which are stored as the raw object bytes.
 * - Reads of manifest rows, cursors and pins are checked against their schemas; a damaged
 *   row throws local-io rather than being passed on.
 * - Reads see every write whose promise has resolved; there are no read transactions, so
 *   a read racing a commit in the same process may see either side of it.
 */
export class LocalIndex {
  private readonly meta: Sub;
  private readonly segments: Sub;
  private readonly cursors: Sub;
  private readonly keys: Sub;
  private readonly manifest: Sub;
  /** Per-path history for audit queries: `<path>\0<version id>` → VersionRecord. */
  private readonly history: Sub;
  /**
   * Rename rows an earlier release wrote (a delete and a put of the same content in one segment,
   * its guess at moves). No longer written or read: moves are recorded in their events
   * (ADR-0020); kept only so that wiping the index clears an old index's rows.
   */
  private readonly moves: Sub;
  /** Versions a `gc` event collected, per path: `<path>\0<version id>` → empty. */
  private readonly collected: Sub;

  private constructor(
    private readonly db: Db,
    /** Where meta values too large for LevelDB's write path live (see `commitBatch`). */
    private readonly valuesDir: string,
  ) {
    this.history = openSublevel(db, 'history');
    this.moves = openSublevel(db, 'moves');
    this.collected = openSublevel(db, 'collected');
    this.meta = openSublevel(db, 'meta');
    this.segments = openSublevel(db, 'segments');
    this.cursors = openSublevel(db, 'cursors');
    this.keys = openSublevel(db, 'keys');
    this.manifest = openSublevel(db, 'manifest');
  }

  /** Where the index of the client folder `root` lives. */
  static location(root: string): string {
    return path.join(stateDirPath(root), 'index');
  }

  /**
   * Opens (creating when missing) the index of `root`. Throws already-running when
   * another LocalIndex, in this or another process, has it open; unknown-version when it
   * was written by a newer bm-log.
   */
  static async open(root: string): Promise<LocalIndex> {
    await ensureStateDir(root);
    const location = LocalIndex.location(root);
    const db: Db = new Level<string, Uint8Array>(location, {
      keyEncoding: 'utf8',
      valueEncoding: 'view',
      writeBufferSize: WRITE_BUFFER_SIZE,
    });
    try {
      await db.open();
    } catch (e) {
      if (isLevelLocked(e)) {
        throw new BmError(
          ErrorCode.alreadyRunning,
          'another bm-log process is using this folder',
          'wait for it to finish (or stop it), then retry',
          { location },
          { cause: e },
        );
      }
      throw localIoError(e, `opening the local index ${location}`);
    }
    // The LOCK is ours, but the folder may still be another process's: one between closing
    // and reopening its index (`releaseMappedTables`), which it does while it holds the folder.
    if (await isReopeningElsewhere(stateDirPath(root))) {
      await db.close();
      throw new BmError(
        ErrorCode.alreadyRunning,
        'another bm-log process is using this folder',
        'wait for it to finish (or stop it), then retry',
        { location },
      );
    }
    const index = new LocalIndex(db, path.join(stateDirPath(root), 'index-values'));
    try {
      await index.checkFormat();
    } catch (e) {
      await db.close();
      throw e;
    }
    return index;
  }

  private async checkFormat(): Promise<void> {
    const format = await this.getMeta<unknown>(FORMAT_KEY);
    if (format === undefined) {
      // A new index writes collection rows from its first segment on.
      await this.writeBatch([
        { type: 'put', sublevel: this.meta, key: FORMAT_KEY, value: encodeMsgpack(INDEX_FORMAT) },
        { type: 'put', sublevel: this.meta, key: COLLECTED_ROWS_KEY, value: encodeMsgpack(true) },
      ]);
    } else if (UPGRADABLE_FORMATS.includes(format)) {
      await this.writeBatch([{ type: 'put', sublevel: this.meta, key: FORMAT_KEY, value: encodeMsgpack(INDEX_FORMAT) }]);
    } else if (format !== INDEX_FORMAT) {
      throw new BmError(
        ErrorCode.unknownVersion,
        `the local index has format ${String(format)}; this bm-log reads format ${INDEX_FORMAT}`,
        'upgrade bm-log on this machine',
      );
    }
  }

  /**
   * Writes all of `ops` in one atomic, fsynced batch. Everything is checked before anything
   * is written: a path both put and deleted, a bad seq, client id or cursor, or the reserved
   * meta key `index-format` throws internal and writes nothing.
   */
  async commitBatch(ops: CommitOps): Promise<void> {
    const batch: BatchOp[] = [];
    const putPaths = new Set<string>();
    for (const entry of ops.manifestPut ?? []) {
      putPaths.add(entry.path);
      batch.push({ type: 'put', sublevel: this.manifest, key: entry.path, value: encodeMsgpack(toManifestRow(entry)) });
    }
    for (const p of ops.manifestDel ?? []) {
      if (putPaths.has(p)) throw new BmError(ErrorCode.internal, `commit both writes and deletes ${p}`);
      batch.push({ type: 'del', sublevel: this.manifest, key: p });
    }
    const sideFiles: SideFile[] = [];
    for (const [key, value] of Object.entries(ops.meta ?? {})) {
      if (key === FORMAT_KEY) throw new BmError(ErrorCode.internal, `meta key ${FORMAT_KEY} is reserved for the index itself`);
      if (value === undefined) {
        batch.push({ type: 'del', sublevel: this.meta, key });
        continue;
      }
      // A large value (the clean-state record with its scan witness: ~8 MB at 100,000 files)
      // goes to content-addressed files beside the database, written before the batch that
      // points to them: rewritten through LevelDB on every sync it made LevelDB flush and compact
      // in the foreground (a 2 s stall every few syncs at 100,000 files). Its large byte fields
      // (the witness) are stored as they are, each a file of its own: packed into the value
      // they cost two more copies of themselves in memory, when it is written and when read.
      const fields = computeSideFields(value);
      sideFiles.push(...fields.files);
      const bytes = encodeMsgpack(fields.value);
      if (bytes.length <= LARGE_META_BYTES) {
        batch.push({ type: 'put', sublevel: this.meta, key, value: bytes });
        continue;
      }
      const hash = sha256Hex(bytes);
      sideFiles.push({ hash, parts: [bytes] });
      batch.push({
        type: 'put',
        sublevel: this.meta,
        key,
        value: encodeMsgpack({ [SIDE_VALUE]: hash, [SIDE_FIELDS]: fields.files.map((f) => f.hash) }),
      });
    }
    if (voidsCleanState(ops)) batch.push({ type: 'del', sublevel: this.meta, key: CLEAN_STATE_KEY });
    const inBatch = new Map<string, VersionRecord>();
    let sameIdTwice = false;
    for (const s of ops.segments ?? []) {
      const seg = segmentKey(s.client, s.seq);
      batch.push({ type: 'put', sublevel: this.segments, key: seg, value: s.bytes });
      // The per-path history and collection rows go in the same batch as the segment they come from.
      const body = decodeTrustedSegment(s.bytes);
      for (const c of computeSegmentCollections(body))
        for (const id of c.versions) batch.push({ type: 'put', sublevel: this.collected, key: `${c.path}\u0000${id}`, value: EMPTY });
      for (const v of computeSegmentVersions(body)) {
        const key = `${v.path}\u0000${v.id}`;
        const twice = inBatch.get(key);
        if (twice !== undefined && (twice.client !== v.client || twice.seq !== v.seq)) sameIdTwice = true;
        inBatch.set(key, v);
        batch.push({ type: 'put', sublevel: this.history, key, value: encodeMsgpack(v) });
      }
    }
    // A version id two different events claim (only a faulty or hostile writer does that): the
    // fold keeps one by (client, seq) and unions their replaces, which one history row cannot
    // show, so lazy syncs are off for good on this index (ADR-0009).
    const keys = [...inBatch.keys()];
    if (keys.length > 0) {
      const had = await this.read(() => this.history.getMany(keys));
      const clash = had.some((bytes, i) => {
        if (bytes === undefined) return false;
        const old = decodeRow(bytes, 'history') as VersionRecord;
        const now = inBatch.get(keys[i]!)!;
        return old.client !== now.client || old.seq !== now.seq;
      });
      if (clash || sameIdTwice) batch.push({ type: 'put', sublevel: this.meta, key: ID_CLASH_KEY, value: encodeMsgpack(true) });
    }
    for (const [client, cursor] of ops.cursors ?? []) {
      const checked = cursorSchema.safeParse({ seq: cursor.seq, hash: cursor.hash });
      if (!checked.success) throw new BmError(ErrorCode.internal, `bad cursor for ${client}: ${JSON.stringify(cursor)}`);
      batch.push({ type: 'put', sublevel: this.cursors, key: mustClientKey(client), value: encodeMsgpack(checked.data) });
    }
    for (const f of sideFiles) await this.writeSideFile(f.hash, f.parts);
    await this.writeBatch(batch);
    if (sideFiles.length > 0 || (ops.meta !== undefined && Object.values(ops.meta).some((v) => v === undefined)) || voidsCleanState(ops))
      await this.dropUnusedSideFiles();
  }

  private async writeSideFile(hash: string, parts: readonly Uint8Array[]): Promise<void> {
    const file = path.join(this.valuesDir, hash);
    const tmp = `${file}.tmp-${process.pid}`;
    try {
      await fsp.mkdir(this.valuesDir, { recursive: true, mode: 0o700 });
      if (
        await fsp.stat(file).then(
          () => true,
          () => false,
        )
      )
        return;
      await fsp.rm(tmp, { force: true });
      await writeFileDurably(tmp, parts);
      await fsp.rename(tmp, file);
      await fsyncFolder(this.valuesDir);
    } catch (e) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      throw localIoError(e, `writing ${file}`);
    }
  }

  /** Removes the side files no meta value points to any more (best effort; also a crash's leftovers). */
  private async dropUnusedSideFiles(): Promise<void> {
    const used = new Set<string>();
    for (const [, bytes] of await this.readAll(this.meta)) for (const hash of computeSideHashes(decodeRow(bytes, 'meta'))) used.add(hash);
    const names = await fsp.readdir(this.valuesDir).catch(() => [] as string[]);
    for (const name of names) if (!used.has(name)) await fsp.rm(path.join(this.valuesDir, name), { force: true }).catch(() => undefined);
  }

  /**
   * Every version of one path, oldest id first, read with one range scan: answers
   * `bm-log log PATH` without touching the rest of the history.
   */
  async getPathHistory(p: string): Promise<VersionRecord[]> {
    const out: VersionRecord[] = [];
    for await (const value of this.history.values({ gt: `${p}\u0000`, lt: `${p}\u0001` }))
      out.push(decodeRow(value, `history of ${p}`) as VersionRecord);
    return out;
  }

  /**
   * The state of each of `paths` as the fold of every stored segment gives it (a path no
   * version names is absent), from its history and collection rows: two range scans per path
   * instead of folding the log. Complete only when `canReadPathStates` (older indexes lack the
   * collection rows) and the client did not join from a checkpoint (its state before the
   * checkpoint has no rows); a lazy sync checks both (ADR-0009).
   */
  async readPathStates(paths: Iterable<string>): Promise<Map<SyncPath, PathState>> {
    const out = new Map<SyncPath, PathState>();
    // Several at a time: LevelDB serves the range scans from its thread pool (300 paths one by
    // one took 112 ms, all at once 57 ms). Not all at once: each open iterator holds a block of
    // every table it merges, ~14 MB of native memory for 300 paths at 100,000 files.
    const list = [...paths];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < list.length) await readOne(list[next++]!);
    };
    const readOne = async (p: string): Promise<void> => {
      const [versions, ids] = await Promise.all([
        this.getPathHistory(p),
        this.read(async () => {
          const found: VersionId[] = [];
          for await (const key of this.collected.keys({ gt: `${p}\u0000`, lt: `${p}\u0001` }))
            found.push(key.slice(p.length + 1) as VersionId);
          return found;
        }),
      ]);
      if (versions.length === 0) return;
      const st = projectVersions(versions).get(p as SyncPath)!;
      out.set(p as SyncPath, ids.length > 0 ? collectPath(st, ids) : st);
    };
    await Promise.all(Array.from({ length: Math.min(PATH_READS_IN_FLIGHT, list.length) }, worker));
    return out;
  }

  /**
   * Every path some stored event names (every path with a history row), once each, in key
   * order (`compareUtf8`): a key-only scan, read in chunks.
   */
  async *iterateStatePaths(): AsyncGenerator<string> {
    const it = this.history.keys();
    let last: string | undefined;
    try {
      for (;;) {
        const chunk = await this.read(() => it.nextv(READ_CHUNK));
        if (chunk.length === 0) return;
        for (const key of chunk) {
          const p = key.slice(0, key.indexOf('\u0000'));
          if (p === last) continue;
          last = p;
          yield p;
        }
      }
    } finally {
      await it.close();
    }
  }

  /**
   * `readPathStates` of every path in [from, to) (open ends where undefined), plus their
   * manifest rows: one range scan each of the history, collection and manifest rows, instead
   * of two range scans per path. A first sync in stages (ADR-0011) reads each stage so.
   */
  async readPathRange(
    from: string | undefined,
    to: string | undefined,
  ): Promise<{ states: Map<SyncPath, PathState>; rows: Map<SyncPath, BaseEntry> }> {
    const range = { ...(from === undefined ? {} : { gte: from }), ...(to === undefined ? {} : { lt: to }) };
    const [versions, collected, rows] = await Promise.all([
      this.read(async () => {
        const out: VersionRecord[] = [];
        await eachInChunks(this.history.values(range), (value) => out.push(decodeRow(value, 'history') as VersionRecord));
        return out;
      }),
      this.read(async () => {
        const out = new Map<string, VersionId[]>();
        await eachInChunks(this.collected.keys(range), (key) => {
          const at = key.indexOf('\u0000');
          const p = key.slice(0, at);
          const ids = out.get(p) ?? [];
          ids.push(key.slice(at + 1) as VersionId);
          out.set(p, ids);
        });
        return out;
      }),
      this.read(async () => {
        const out = new Map<SyncPath, BaseEntry>();
        for await (const [key, bytes] of this.manifest.iterator(range)) out.set(key as SyncPath, fromManifestRow(key, bytes));
        return out;
      }),
    ]);
    const states = projectVersions(versions);
    for (const [p, ids] of collected) {
      const st = states.get(p as SyncPath);
      if (st !== undefined) states.set(p as SyncPath, collectPath(st, ids));
    }
    return { states, rows };
  }

  /** True when the manifest holds at least one row. */
  async hasManifestRows(): Promise<boolean> {
    return this.read(async () => {
      for await (const _ of this.manifest.keys({ limit: 1 })) return true;
      return false;
    });
  }

  /** True when every collection of every stored segment has its row and no version id was claimed twice (see `readPathStates`). */
  async canReadPathStates(): Promise<boolean> {
    return (await this.getMeta<unknown>(COLLECTED_ROWS_KEY)) === true && (await this.getMeta<unknown>(ID_CLASH_KEY)) === undefined;
  }

  /**
   * Writes the collection rows of an index made before they existed, from the fold of all of
   * it (`paths`), and marks them complete. The fold must be of this index as it is now.
   */
  async indexCollections(paths: ReadonlyMap<SyncPath, PathState>): Promise<void> {
    const batch: BatchOp[] = [];
    for (const [p, st] of paths)
      for (const id of st.collected ?? []) batch.push({ type: 'put', sublevel: this.collected, key: `${p}\u0000${id}`, value: EMPTY });
    batch.push({ type: 'put', sublevel: this.meta, key: COLLECTED_ROWS_KEY, value: encodeMsgpack(true) });
    await this.writeBatch(batch);
  }

  /** A meta value as stored, or undefined. The caller knows its type; it is not checked. */
  async getMeta<T>(key: string): Promise<T | undefined> {
    const bytes = await this.read(() => this.meta.get(key));
    if (bytes === undefined) return undefined;
    let value = decodeRow(bytes, `meta ${key}`);
    const side = computeSideValueHash(value);
    if (side !== undefined) value = decodeRow(await this.readSideFile(side, key), `meta ${key}`);
    if (!isPlainObject(value)) return value as T;
    for (const [field, v] of Object.entries(value)) {
      const hash = computeSideValueHash(v);
      if (hash !== undefined) value[field] = await this.readSideFile(hash, key);
    }
    return value as T;
  }

  /** A side file's bytes, checked against their hash. */
  private async readSideFile(hash: string, key: string): Promise<Uint8Array> {
    const file = path.join(this.valuesDir, hash);
    const stored = await fsp.readFile(file).catch((e: unknown) => {
      throw localIoError(e, `reading ${file} (the value of meta ${key})`);
    });
    if (sha256Hex(stored) !== hash)
      throw new BmError(
        ErrorCode.localIo,
        `the local index is damaged: ${file} does not match its hash`,
        'delete the .bm-log/index folder and .bm-log/index-values, then sync again (the index is rebuilt from the remote)',
      );
    return stored;
  }

  async putMeta(key: string, value: unknown): Promise<void> {
    await this.commitBatch({ meta: { [key]: value } });
  }

  /** Stores fetched segments in one batch (use `commitFetched` to advance cursors with them). */
  async putSegments(list: readonly SegmentRecord[]): Promise<void> {
    await this.commitBatch({ segments: list });
  }

  /** Stores segments and the cursors they advance in one batch. */
  async commitFetched(fetched: { segments: readonly SegmentRecord[]; cursors: ReadonlyMap<ClientId, Cursor> }): Promise<void> {
    await this.commitBatch({ segments: fetched.segments, cursors: fetched.cursors });
  }

  async getSegment(client: ClientId, seq: number): Promise<Uint8Array | undefined> {
    const bytes = await this.read(() => this.segments.get(segmentKey(client, seq)));
    return bytes === undefined ? undefined : asPlainBytes(bytes);
  }

  /**
   * Stored segments in (client, seq) order: of one client when `client` is given, else of
   * every client, client by client. `fromSeq` (inclusive) skips earlier seqs of each client.
   */
  async *iterateSegments(client?: ClientId, fromSeq = 1): AsyncGenerator<SegmentRecord> {
    const range = client === undefined ? {} : { gte: segmentKey(client, Math.max(1, fromSeq)), lt: `${mustClientKey(client)}"` };
    for await (const [key, bytes] of this.segments.iterator(range)) {
      const bang = key.indexOf('!');
      const seq = Number(key.slice(bang + 1));
      if (seq < fromSeq) continue;
      yield { client: key.slice(0, bang) as ClientId, seq, bytes: asPlainBytes(bytes) };
    }
  }

  async getCursors(): Promise<Map<ClientId, Cursor>> {
    const out = new Map<ClientId, Cursor>();
    for (const [key, bytes] of await this.readAll(this.cursors)) {
      out.set(key as ClientId, parseRow(cursorSchema, bytes, `cursor of ${key}`));
    }
    return out;
  }

  async getPinnedKeys(): Promise<Map<ClientId, PinnedKey>> {
    const out = new Map<ClientId, PinnedKey>();
    for (const [key, bytes] of await this.readAll(this.keys)) {
      out.set(key as ClientId, parseRow(pinnedKeySchema, bytes, `pinned key of ${key}`));
    }
    return out;
  }

  /**
   * Pins each client's key unless one is pinned already. Re-pinning the same key is a
   * no-op (the first name is kept); a different key for a pinned client throws
   * key-mismatch and pins nothing. Atomic across `pins`, but not against a concurrent
   * pinKeys on this same LocalIndex.
   */
  async pinKeys(pins: readonly ({ client: ClientId } & PinnedKey)[]): Promise<void> {
    const pinned = await this.getPinnedKeys();
    const batch: BatchOp[] = [];
    for (const pin of pins) {
      const existing = pinned.get(pin.client);
      if (existing !== undefined) {
        if (existing.publicKey === pin.publicKey) continue;
        throw new BmError(
          ErrorCode.keyMismatch,
          `client ${pin.client} now presents a different public key than the one pinned when it was first seen`,
          'its segments are ignored; if that client was really re-created, run `bm-log verify` and re-pin deliberately',
          { client: pin.client },
        );
      }
      const checked = pinnedKeySchema.safeParse({ publicKey: pin.publicKey, name: pin.name });
      if (!checked.success) throw new BmError(ErrorCode.internal, `not a public key to pin for ${pin.client}`);
      pinned.set(pin.client, checked.data);
      batch.push({ type: 'put', sublevel: this.keys, key: mustClientKey(pin.client), value: encodeMsgpack(checked.data) });
    }
    if (batch.length > 0) batch.push({ type: 'del', sublevel: this.meta, key: CLEAN_STATE_KEY });
    await this.writeBatch(batch);
  }

  /** The whole base manifest, read in chunks by one iterator. */
  async getManifest(): Promise<Map<SyncPath, BaseEntry>> {
    const out = new Map<SyncPath, BaseEntry>();
    for (const [key, bytes] of await this.readAll(this.manifest)) {
      out.set(key as SyncPath, fromManifestRow(key, bytes));
    }
    return out;
  }

  /** The manifest rows of `paths` that exist (one getMany). */
  async getManifestEntries(paths: readonly SyncPath[]): Promise<Map<SyncPath, BaseEntry>> {
    const values: (Uint8Array | undefined)[] = await this.read(() => this.manifest.getMany([...paths]));
    const out = new Map<SyncPath, BaseEntry>();
    for (const [i, p] of paths.entries()) {
      const bytes = values[i];
      if (bytes !== undefined) out.set(p, fromManifestRow(p, bytes));
    }
    return out;
  }

  async applyManifest(change: { put: readonly BaseEntry[]; del: readonly SyncPath[] }): Promise<void> {
    await this.commitBatch({ manifestPut: change.put, manifestDel: change.del });
  }

  /**
   * Lets go of the table files LevelDB has mapped into memory, by closing and reopening the
   * database. LevelDB (1.20, inside classic-level) maps every table file it reads, up to
   * 1,000, and keeps the mapping while the table is in its cache: the pages a few hundred
   * scattered reads touch (a lazy sync's per-path rows: ~23 MB of the tables at 100,000
   * files) stay in the process's RSS for the rest of the run. Call it with no read or write
   * in flight.
   *
   * The folder stays this process's: a file naming this process (`index.reopening`) is
   * written before the LOCK is let go and removed after it is taken again, and `open`
   * refuses the folder while it names a live process. Should another process still take the
   * LOCK in between, or have written to the index meanwhile (a bm-log from before this
   * check), this throws already-running: what this process knew of the index may be stale.
   */
  async releaseMappedTables(): Promise<void> {
    const marker = path.join(path.dirname(this.valuesDir), REOPENING_FILE);
    const before = await this.read(() => this.meta.get(LAST_SYNC_KEY));
    const taken = () =>
      new BmError(
        ErrorCode.alreadyRunning,
        "another process opened this folder's index while this sync let go of it for a moment",
        'nothing more was done; what was synced before stays synced. Sync again when the other process is done',
      );
    try {
      // This process holds the LOCK: any marker left here is a crashed process's.
      await fsp.writeFile(marker, `${process.pid}\n`, { mode: 0o600 });
    } catch (e) {
      throw localIoError(e, `writing ${marker}`);
    }
    try {
      await this.db.close();
      // Another bm-log that takes the LOCK in between sees the marker and lets go at once.
      for (let attempt = 0; ; attempt++) {
        try {
          await this.db.open();
          break;
        } catch (e) {
          if (!isLevelLocked(e)) throw localIoError(e, 'reopening the local index');
          if (attempt === REOPEN_ATTEMPTS) throw taken();
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      for (const sub of [this.history, this.moves, this.collected, this.meta, this.segments, this.cursors, this.keys, this.manifest])
        await sub.open();
      const after = await this.read(() => this.meta.get(LAST_SYNC_KEY));
      if (!(before === after || (before !== undefined && after !== undefined && Buffer.from(before).equals(Buffer.from(after)))))
        throw taken();
    } finally {
      await fsp.rm(marker, { force: true }).catch(() => undefined);
    }
  }

  /** Releases the lock. Idempotent. */
  async close(): Promise<void> {
    await this.db.close();
  }

  /** The one place the index is written: one batch, fsynced before it resolves. */
  private async writeBatch(batch: BatchOp[]): Promise<void> {
    if (batch.length === 0) return;
    try {
      await this.db.batch(batch, { sync: true });
    } catch (e) {
      throw localIoError(e, 'writing the local index');
    }
  }

  private async read<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (e) {
      throw localIoError(e, 'reading the local index');
    }
  }

  private async readAll(sub: Sub): Promise<[string, Uint8Array][]> {
    return this.read(async () => {
      const rows: [string, Uint8Array][] = [];
      const it = sub.iterator();
      try {
        for (;;) {
          const chunk = await it.nextv(READ_CHUNK);
          if (chunk.length === 0) return rows;
          for (const row of chunk) rows.push(row);
        }
      } finally {
        await it.close();
      }
    });
  }
}

/**
 * Every item of a LevelDB iterator, read `READ_CHUNK` at a time (one call into LevelDB per
 * chunk: item by item, the iterator's own calls took 1.2 s of a CPU profile over the 100,000 paths of a
 * checkpoint computed in ranges, ADR-0029); closes it.
 */
async function eachInChunks<T>(it: { nextv(n: number): Promise<T[]>; close(): Promise<void> }, take: (item: T) => void): Promise<void> {
  try {
    for (;;) {
      const chunk = await it.nextv(READ_CHUNK);
      if (chunk.length === 0) return;
      for (const item of chunk) take(item);
    }
  } finally {
    await it.close();
  }
}

/**
 * LevelDB's memtable size (its default is 4 MiB). classic-level runs each write on a libuv
 * pool thread, so each memtable's blocks come from whichever threads' malloc arenas wrote
 * it, and every arena keeps its high-water mark: in a 100k-file first sync four arenas grew
 * to ~9 MB each (~40 MB of RSS). At 1 MiB none grew past ~6 MB. The cost is four times as
 * many (smaller) level-0 tables for the compactions to merge (ADR-0012).
 */
const WRITE_BUFFER_SIZE = 1 << 20;

/** In the state folder while a process reopens its index (see `releaseMappedTables`): its pid. */
const REOPENING_FILE = 'index.reopening';
/** How often `releaseMappedTables` tries to take the LOCK back, 20 ms apart. */
const REOPEN_ATTEMPTS = 50;
/** The meta key every sync writes at its end: a change across a reopen means another process synced. */
const LAST_SYNC_KEY = 'lastSyncAt';

/**
 * True when `index.reopening` names a live process other than this one and is fresh: a
 * reopen takes well under a second, so a file older than a minute is a crashed process's
 * whose pid may have gone to another program since. A stale file is removed.
 */
async function isReopeningElsewhere(stateDir: string): Promise<boolean> {
  const marker = path.join(stateDir, REOPENING_FILE);
  const text = await fsp.readFile(marker, 'utf8').catch(() => undefined);
  if (text === undefined) return false;
  const pid = Number(text.trim());
  const age = Date.now() - ((await fsp.stat(marker).catch(() => undefined))?.mtimeMs ?? 0);
  if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && age < 60_000) {
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EPERM') return true; // alive, another user's
    }
  }
  await fsp.rm(marker, { force: true }).catch(() => undefined);
  return false;
}

/** True for LevelDB's "LOCK held by another process/instance", wherever it sits in the cause chain. */
function isLevelLocked(e: unknown): boolean {
  for (let cur: unknown = e, depth = 0; cur !== null && typeof cur === 'object' && depth < 5; depth++) {
    if ((cur as { code?: unknown }).code === 'LEVEL_LOCKED') return true;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}

function mustClientKey(client: ClientId): string {
  // A ULID never contains '!' or '"', which the segment key range relies on.
  if (!ULID_RE.test(client)) throw new BmError(ErrorCode.internal, `not a client id: ${JSON.stringify(client)}`);
  return client;
}

function segmentKey(client: ClientId, seq: number): string {
  if (!Number.isInteger(seq) || seq < 1 || seq > MAX_SEQ) throw new BmError(ErrorCode.internal, `segment seq out of range: ${seq}`);
  return `${mustClientKey(client)}!${String(seq).padStart(SEQ_DIGITS, '0')}`;
}

/** LevelDB hands back Buffers; callers get a plain Uint8Array over the same memory. */
function asPlainBytes(b: Uint8Array): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

const hash = z.string().regex(HASH_RE);
const cursorSchema = z.object({ seq: z.number().int().min(1), hash }).strict();
const pinnedKeySchema = z.object({ publicKey: z.string().regex(/^[0-9a-f]{64}$/), name: z.string() }).strict();
/** A manifest row: the entry without its path, which is the key. */
type ManifestRow = Omit<BaseEntry, 'path'>;

function toManifestRow(e: BaseEntry): ManifestRow {
  const row = { hash: e.hash, size: e.size, mode: e.mode, mtimeMs: e.mtimeMs, ino: e.ino, heads: [...e.heads], version: e.version };
  return e.copyOf === undefined ? row : { ...row, copyOf: { path: e.copyOf.path, version: e.copyOf.version } };
}

const MANIFEST_KEYS = new Set(['hash', 'size', 'mode', 'mtimeMs', 'ino', 'heads', 'version', 'copyOf']);

/**
 * Why a decoded manifest row is not one (undefined when it is). Checked by hand, not with a
 * zod schema: every sync reads every row (100,000 at a time), and this is ten times faster.
 */
function computeManifestRowProblem(r: unknown): string | undefined {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return 'not a map';
  const row = r as Record<string, unknown>;
  for (const k in row) if (!MANIFEST_KEYS.has(k)) return `unknown field ${k}`;
  if (typeof row.hash !== 'string' || !HASH_RE.test(row.hash)) return 'hash';
  if (!Number.isSafeInteger(row.size) || (row.size as number) < 0) return 'size';
  if (!Number.isSafeInteger(row.mode) || (row.mode as number) < 0) return 'mode';
  if (typeof row.mtimeMs !== 'number' || typeof row.ino !== 'number') return 'mtimeMs or ino';
  if (!Array.isArray(row.heads) || !row.heads.every((h) => typeof h === 'string' && ULID_RE.test(h))) return 'heads';
  if (row.version !== null && (typeof row.version !== 'string' || !ULID_RE.test(row.version))) return 'version';
  if (row.copyOf !== undefined) {
    const c = row.copyOf as Record<string, unknown> | null;
    if (
      typeof c !== 'object' ||
      c === null ||
      typeof c.path !== 'string' ||
      typeof c.version !== 'string' ||
      !ULID_RE.test(c.version) ||
      Object.keys(c).length !== 2
    )
      return 'copyOf';
  }
  return undefined;
}

function fromManifestRow(key: string, bytes: Uint8Array): BaseEntry {
  const r = decodeRow(bytes, `manifest row ${key}`);
  const problem = computeManifestRowProblem(r);
  if (problem !== undefined) throw new BmError(ErrorCode.localIo, `local index manifest row ${key} is damaged (${problem})`, DAMAGED_HINT);
  const row = r as ManifestRow;
  const entry = {
    path: key as SyncPath,
    hash: row.hash,
    size: row.size,
    mode: row.mode,
    mtimeMs: row.mtimeMs,
    ino: row.ino,
    heads: row.heads,
    version: row.version,
  };
  // exactOptionalPropertyTypes: no `copyOf: undefined` key when there is none.
  return row.copyOf === undefined ? entry : { ...entry, copyOf: { path: row.copyOf.path, version: row.copyOf.version } };
}

function decodeRow(bytes: Uint8Array, what: string): unknown {
  try {
    return decodeMsgpack(bytes, what);
  } catch (e) {
    throw new BmError(ErrorCode.localIo, `local index ${what} is not valid msgpack`, DAMAGED_HINT, {}, { cause: e });
  }
}

function parseRow<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, bytes: Uint8Array, what: string): T {
  const r = schema.safeParse(decodeRow(bytes, what));
  if (!r.success)
    throw new BmError(ErrorCode.localIo, `local index ${what} is damaged (${r.error.issues[0]?.message ?? 'invalid'})`, DAMAGED_HINT);
  return r.data;
}
