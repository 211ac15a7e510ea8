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

/**
 * Every path where two scans of one tree differ: a file added, removed or different in any
 * field, a folder added or removed. (What a sync round changed, for the next round's focused
 * plan, ADR-0009.)
 */
export function computeScanChanges(a: LocalScan, b: LocalScan): Set<string> {
  if (a === b) return new Set();
  const out = b.files.changesSince?.(a.files) ?? computeFileChanges(a, b);
  for (const d of a.dirs) if (!b.dirs.has(d)) out.add(d);
  for (const d of b.dirs) if (!a.dirs.has(d)) out.add(d);
  return out;
}

/** True when two scans' entries for one path agree in every field. */
export function isSameFile(a: LocalFile, b: LocalFile): boolean {
  return a.hash === b.hash && a.mode === b.mode && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;
}

function computeFileChanges(a: LocalScan, b: LocalScan): Set<string> {
  const out = new Set<string>();
  for (const [p, f] of a.files) {
    const g = b.files.get(p);
    if (g === undefined || !isSameFile(f, g)) out.add(p);
  }
  for (const p of b.files.keys()) if (!a.files.has(p)) out.add(p);
  return out;
}
