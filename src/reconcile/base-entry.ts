import type { VersionId } from '../events/ids.js';
import type { SyncPath } from '../events/sync-path.js';

/**
 * The local base manifest: for each path, what this client last synced. It is both
 * "local at baseline" (hash/size/mode, plus mtime/ino so unchanged files are not re-hashed)
 * and "cloud at baseline" (`heads`: the cloud versions of the path this client had seen
 * when it last synced the path).
 */
export interface BaseEntry {
  readonly path: SyncPath;
  /** Lowercase hex SHA-256 of the bytes on disk at the last sync. */
  readonly hash: string;
  readonly size: number;
  readonly mode: number;
  readonly mtimeMs: number;
  readonly ino: number;
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
