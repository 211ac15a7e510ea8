import type { ByteParts } from '../events/codec.js';
import type { ClientId, VaultId, VersionId } from '../events/ids.js';
import type { Cursor } from '../events/log.js';
import type { KeyPair } from '../events/signing.js';
import type { Chunks } from '../events/store/lent-chunks.js';
import type { SyncPath } from '../events/sync-path.js';
import type { PathState } from '../projections/project-paths.js';

/*
 * The ports of the sync core (ADR-0023): what the engine needs from the local folder
 * (`LocalTree`), from the local index (`SyncIndex`) and the records they exchange with it
 * (`LocalFile`, `BaseEntry`, scans), and the clean-state rule every index must keep. Adapters
 * (src/local/, the simulation's doubles) implement these and import them from here; this
 * module imports nothing from the core or the adapters, so no import cycle can pass through it.
 */

// ---- The local folder ----

/** One regular file found by the local scan. */
export interface LocalFile {
  readonly path: SyncPath;
  /** Lowercase hex SHA-256; reused from the manifest when size, mtime and inode match. */
  readonly hash: string;
  readonly size: number;
  readonly mode: number;
  readonly mtimeMs: number;
  readonly ino: number;
}

/** The local files by fold key (`computeFoldKey`), for twin conflicts. */
export interface FoldLookup {
  /** Every group of two or more local paths with one fold key. */
  readonly twins: readonly (readonly string[])[];
  /** The local paths whose fold key is `key`. */
  find(key: string): readonly string[];
}

/**
 * The local tree now. A scan that could not read part of the tree says so in `unreadable`:
 * paths under those entries are unknown and the planner never reads their absence as a
 * delete.
 */
export interface LocalScan {
  /**
   * A real folder's scan keeps its files in columns (ScanFiles, ADR-0010), which can also tell
   * what changed since an earlier scan folder by folder (`changesSince`).
   */
  readonly files: ReadonlyMap<SyncPath, LocalFile> & {
    changesSince?(earlier: ReadonlyMap<SyncPath, LocalFile>): Set<string> | undefined;
    foldLookup?(): FoldLookup;
  };
  /** Folders present locally (relative, no trailing slash), for file-vs-folder clashes. */
  readonly dirs: ReadonlySet<string>;
  /** Relative paths (files or folders) that could not be read. */
  readonly unreadable: readonly string[];
}

/** True when two scans' entries for one path agree in every field. */
export function isSameFile(a: LocalFile, b: LocalFile): boolean {
  return a.hash === b.hash && a.mode === b.mode && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;
}

/**
 * Where a scan reuses hashes from (the manifest, or a witnessed scan): a file whose size,
 * mtime and inode equal its row's keeps the row's hash instead of being read.
 */
export interface ScanBase {
  get(path: string): { readonly hash: string; readonly size: number; readonly mtimeMs: number; readonly ino: number } | undefined;
}

/** Something the scan passed over, for the sync report. */
export interface ScanNotice {
  readonly path: string;
  readonly detail: string;
}

export interface ScanResult extends LocalScan {
  readonly notices: readonly ScanNotice[];
  /** Files hashed because size, mtime or inode differed from the manifest. */
  readonly hashed: number;
  /**
   * Present when the scan read everything: what `unchanged` needs to tell later that a scan
   * would return this same result again (the clean-state shortcut, ADR-0008).
   */
  readonly witness?: Uint8Array;
  /** The witness as parts (views of the scan's own arrays), where a tree can give it so. */
  readonly witnessParts?: ByteParts;
}

/** The result of a guarded local write or delete. */
export type GuardedResult = 'done' | 'changed';

/**
 * The local side of a sync: the files under one sync root. Real folders use FsTree; the
 * simulation uses an in-memory tree with the same contract.
 *
 * Contract:
 * - `scan` lists regular files (never following symlinks; symlinks and special files are
 *   skipped with a notice), reusing the manifest's hash when size, mtime and inode match, and
 *   reports what it could not read in `unreadable` instead of leaving it out. It removes
 *   bm-log's own stale temp files (`.bm-tmp-*`) left by a killed process; callers hold the
 *   folder lock, so no live bm-log is writing them.
 * - `writeFile` and `removeFile` are guarded: right before acting they re-check that the
 *   file still is `expect` (null: must be absent) and return 'changed', doing nothing, when
 *   it is not. A write is atomic (temp file in the same folder, fsync, rename): a reader or
 *   a crash sees the old file or the new one, never a mix.
 * - Nothing is ever written or removed outside the root, nor through a symlink.
 */
export interface LocalTree {
  readonly root: string;
  /** `progress`, when given, is told of the files listed and hashed. */
  scan(manifest: ScanBase, isIgnored: (path: string) => boolean, progress?: ProgressSink): Promise<ScanResult>;
  /**
   * True only when a scan now, with the same manifest and rules, would return exactly what
   * the scan that gave `witness` returned. False whenever in doubt: the caller then scans.
   */
  unchanged(witness: Uint8Array): Promise<boolean>;
  /**
   * Every path where `scan` differs from the scan that gave `witness`: files added, removed,
   * or with another size, mtime, inode or mode; folders added or removed; names whose kind
   * changed. It may name more (never less); undefined when it cannot tell (then: plan in full).
   */
  diffWitness(witness: Uint8Array, scan: ScanResult): Set<string> | undefined;
  /** The files of the scan that gave `witness`, with their stats and hashes, as a scan base. */
  witnessBase(witness: Uint8Array): ScanBase | undefined;
  /**
   * A scan after the caller changed only the files at `touched` since `prev` (a sync round's
   * local writes and deletes): what a full scan would return, except that changes others
   * made since `prev` outside the folders on the way to `touched` may go unseen until the
   * next scan. May simply scan in full.
   */
  rescan(
    prev: ScanResult,
    touched: readonly SyncPath[],
    manifest: ScanBase,
    isIgnored: (path: string) => boolean,
    progress?: ProgressSink,
  ): Promise<ScanResult>;
  /**
   * Reads a file (for an upload) as lent chunks (see `Chunks`). The file is opened when the
   * iteration starts; a file gone by then fails it with ENOENT. `size`, when known, sizes the
   * read buffer: a 1 MiB buffer per small file added up to ~100 MB of buffers awaiting GC in
   * a sync of 200 files.
   */
  openRead(path: SyncPath, size?: number): Chunks;
  /**
   * Writes `content` at `path` with `mode` if `path` still is `expect`, checking the bytes
   * against `hash` before they replace anything (blob-corrupt otherwise). Returns the new
   * file as the scan would see it, or 'changed' when the guard refused. `content` may be lent
   * chunks: each is written before the next is asked for.
   */
  writeFile(path: SyncPath, content: Chunks, hash: string, mode: number, expect: LocalFile | null): Promise<LocalFile | 'changed'>;
  /** Removes `path` if it still is `expect`. Empty folders left behind are removed too. */
  removeFile(path: SyncPath, expect: LocalFile): Promise<GuardedResult>;
  /** Stats and hashes one file now (undefined when absent). */
  statFile(path: SyncPath): Promise<LocalFile | undefined>;
}

// ---- Progress ----

/** The kinds of work a sync reports progress on. */
export type ProgressWork = 'hash' | 'upload' | 'download';

/**
 * What a sync tells as it goes, for a progress display (the CLI draws it; the engine prints
 * nothing). Totals only grow: each plan (of each round and each stage of a first sync in
 * stages) adds its transfers, so a display that sums them covers the whole sync.
 * - `phase`: the sync moved on to fetching events, scanning the folder, planning, carrying
 *   out a plan, or finishing (acknowledge, checkpoint, commit);
 * - `listed`: the scan's walk found `files` regular files;
 * - `total`: `files` files and `bytes` bytes of `work` are to come;
 * - `bytes`: `bytes` more bytes of `work` were read or written;
 * - `file`: one file of `work` is done (or skipped): `bytes` are its bytes no `bytes` event
 *   told (all of them for a blob the remote already held);
 * - `stages`, `stage`: a first sync in stages (ADR-0011) has `count` stages; stage `index`
 *   (from 0) starts.
 */
export type SyncProgress =
  | { readonly kind: 'phase'; readonly phase: 'fetch' | 'scan' | 'plan' | 'transfer' | 'finish' }
  | { readonly kind: 'listed'; readonly files: number }
  | { readonly kind: 'total'; readonly work: ProgressWork; readonly files: number; readonly bytes: number }
  | { readonly kind: 'bytes'; readonly work: ProgressWork; readonly bytes: number }
  | { readonly kind: 'file'; readonly work: ProgressWork; readonly bytes: number }
  | { readonly kind: 'stages'; readonly count: number }
  | { readonly kind: 'stage'; readonly index: number };

/** Told of a sync's progress; must be quick and must not throw. */
export type ProgressSink = (p: SyncProgress) => void;

// ---- The local index ----

/**
 * The local base manifest: for each path, what this client last synced. It is both
 * "local at baseline" (hash/size/mode, plus mtime/ino so unchanged files are not re-hashed)
 * and "cloud at baseline" (`heads`: the cloud versions of the path this client had seen
 * when it last synced the path).
 */
export interface BaseEntry extends LocalFile {
  // (The file's fields are as the scan saw it at the last sync: `hash` is of the bytes on disk then.)
  /** Cloud heads of this path at the last sync (cloud at baseline). */
  readonly heads: readonly VersionId[];
  /**
   * The version whose content the file on disk showed at the last sync (what a local edit
   * or delete was derived from, and so the only version it may replace); null when unknown.
   */
  readonly version: VersionId | null;
  /**
   * Set when this local file is a conflict copy: the real path and the version it shows.
   * A conflict copy is never uploaded as a path of its own.
   */
  readonly copyOf?: { readonly path: SyncPath; readonly version: VersionId };
}

/**
 * Everything a sync commits at once: `SyncIndex.commitBatch` writes all of it atomically (after
 * a crash the index holds either none of it or all of it).
 */
export interface CommitOps {
  readonly manifestPut?: readonly BaseEntry[];
  readonly manifestDel?: readonly SyncPath[];
  /** Meta keys to set; a value of `undefined` deletes the key. */
  readonly meta?: Readonly<Record<string, unknown>>;
  readonly segments?: readonly { readonly client: ClientId; readonly seq: number; readonly bytes: Uint8Array }[];
  readonly cursors?: ReadonlyMap<ClientId, Cursor>;
}

/**
 * The slice of the local index a sync needs (LocalIndex implements it; the simulation has an
 * in-memory one). `commitBatch` must be atomic.
 */
export interface SyncIndex {
  getManifest(): Promise<Map<SyncPath, BaseEntry>>;
  getCursors(): Promise<Map<ClientId, Cursor>>;
  getPinnedKeys(): Promise<Map<ClientId, { publicKey: string; name: string }>>;
  pinKeys(pins: readonly { client: ClientId; publicKey: string; name: string }[]): Promise<void>;
  /** Stored segments in (client, seq) order: of one client from `fromSeq` (inclusive) on when `client` is given. */
  iterateSegments(client?: ClientId, fromSeq?: number): AsyncIterable<{ client: ClientId; seq: number; bytes: Uint8Array }>;
  /** One stored segment's bytes, exactly as fetched or published (ADR-0015 puts back this client's own from here). */
  getSegment(client: ClientId, seq: number): Promise<Uint8Array | undefined>;
  /**
   * Point reads for a lazy sync (ADR-0009): each path's folded state from per-path rows, and
   * manifest rows. Without them (or when `canReadPathStates` says the rows are incomplete)
   * every sync that finds a change folds the whole log and reads the whole manifest.
   */
  readPathStates?(paths: Iterable<string>): Promise<Map<SyncPath, PathState>>;
  canReadPathStates?(): Promise<boolean>;
  getManifestEntries?(paths: readonly SyncPath[]): Promise<Map<SyncPath, BaseEntry>>;
  /**
   * Lets go of memory the reads above left mapped (LevelDB's table files, see LocalIndex),
   * with nothing in flight; called after a lazy sync read many paths at once.
   */
  releaseMappedTables?(): Promise<void>;
  /**
   * For a first sync in stages (ADR-0011): every path some stored event names, once each, in
   * `compareUtf8` order; the states and manifest rows of the paths in a range of that order;
   * whether the manifest holds any row. Without them a first sync folds and plans everything.
   */
  iterateStatePaths?(): AsyncIterable<string>;
  readPathRange?(
    from: string | undefined,
    to: string | undefined,
  ): Promise<{ states: Map<SyncPath, PathState>; rows: Map<SyncPath, BaseEntry> }>;
  hasManifestRows?(): Promise<boolean>;
  /** Completes the rows `readPathStates` needs on an index made before them, from a full fold of it. */
  indexCollections?(paths: ReadonlyMap<SyncPath, PathState>): Promise<void>;
  /** A meta value (the checkpoint a client joined from is kept there); optional for test doubles. */
  getMeta?<T>(key: string): Promise<T | undefined>;
  commitBatch(ops: CommitOps): Promise<void>;
}

/**
 * Meta key of this client's detached own versions (`PlanOptions.detached`, ADR-0028): written
 * before the events that create them are published, so a sync after a crash between the two
 * still knows them. The newest MAX_DETACHED_OWN are kept: one matters only until a sync has
 * brought it to the folder (or the file's change beside it as a conflict).
 */
export const DETACHED_OWN_KEY = 'detached-own';
export const MAX_DETACHED_OWN = 1000;

/**
 * Meta key of the clean-state record (ADR-0008): what the last sync that ended with nothing
 * to do saw. Every batch that changes the manifest, the segments, the cursors or the pinned
 * keys deletes it in the same atomic write (`voidsCleanState`), so a record that exists always
 * describes the state the index holds now. Every `SyncIndex` keeps this rule.
 */
export const CLEAN_STATE_KEY = 'clean-state';

/** True when `ops` changes what a sync folds or compares (and so voids the clean-state record). */
export function voidsCleanState(ops: CommitOps): boolean {
  if (ops.meta !== undefined && CLEAN_STATE_KEY in ops.meta) return false;
  return (
    (ops.manifestPut?.length ?? 0) > 0 ||
    (ops.manifestDel?.length ?? 0) > 0 ||
    (ops.segments?.length ?? 0) > 0 ||
    (ops.cursors?.size ?? 0) > 0
  );
}

// ---- Who syncs ----

export interface SyncIdentity {
  readonly client: ClientId;
  readonly vault: VaultId;
  readonly name: string;
  readonly keys: KeyPair;
}
