import type { ByteParts } from '../events/codec.js';
import type { Chunks } from '../events/store/lent-chunks.js';
import type { SyncPath } from '../events/sync-path.js';
import type { LocalFile, LocalScan } from '../reconcile/local-scan.js';

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
  scan(manifest: ScanBase, isIgnored: (path: string) => boolean): Promise<ScanResult>;
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
  rescan(prev: ScanResult, touched: readonly SyncPath[], manifest: ScanBase, isIgnored: (path: string) => boolean): Promise<ScanResult>;
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
