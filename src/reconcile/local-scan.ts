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

/**
 * Every path where two scans of one tree differ: a file added, removed or different in any
 * field, a folder added or removed. (What a sync round changed, for the next round's focused
 * plan, ADR-0009.)
 */
export function computeScanChanges(a: LocalScan, b: LocalScan): Set<string> {
  const out = new Set<string>();
  if (a === b) return out;
  for (const [p, f] of a.files) {
    const g = b.files.get(p);
    if (g === f) continue; // a rescan hands unchanged folders' files over as they were
    if (g === undefined || g.hash !== f.hash || g.mode !== f.mode || g.size !== f.size || g.mtimeMs !== f.mtimeMs || g.ino !== f.ino) out.add(p);
  }
  for (const p of b.files.keys()) if (!a.files.has(p)) out.add(p);
  for (const d of a.dirs) if (!b.dirs.has(d)) out.add(d);
  for (const d of b.dirs) if (!a.dirs.has(d)) out.add(d);
  return out;
}
