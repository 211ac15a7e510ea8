import type { SyncPath } from '../events/sync-path.js';

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

/**
 * The local tree now. A scan that could not read part of the tree says so in `unreadable`:
 * paths under those entries are unknown and the planner never reads their absence as a
 * delete.
 */
export interface LocalScan {
  readonly files: ReadonlyMap<SyncPath, LocalFile>;
  /** Folders present locally (relative, no trailing slash), for file-vs-folder clashes. */
  readonly dirs: ReadonlySet<string>;
  /** Relative paths (files or folders) that could not be read. */
  readonly unreadable: readonly string[];
}
