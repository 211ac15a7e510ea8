import type { VersionId } from '../events/ids.js';
import type { SyncPath } from '../events/sync-path.js';
import type { Projection } from '../projections/project-paths.js';
import type { VersionRecord } from '../projections/version-record.js';
import type { BaseEntry } from './ports.js';
import type { ConflictNote } from './conflict-notes.js';
import type { PathFollow } from './path-follow.js';
import type { PathMerge } from './path-merge.js';
import type { LocalFile, LocalScan } from './ports.js';

/**
 * A plan is data: the operations one sync round performs, in order, plus what it found
 * worth telling (open conflicts, skipped paths). `executePlan` performs it; `--dry-run`
 * prints it. The decision table is ADR-0001 (`decidePath`, decide-path.ts); every row has a
 * scenario test and a table golden.
 *
 * Effects on the remote: upload, tombstone, resolve (each publishes one event); merge
 * publishes one and then writes its bytes here (ADR-0020), guarded like a download; follow
 * publishes two (a tombstone and a put, ADR-0020). An upload `from` and a tombstone `to` are
 * one move: the executor publishes both in one segment, or neither.
 * Effects on disk: download, deleteLocal, writeCopy, removeCopy (each re-checks the file
 * it replaces or removes right before acting, via `expect`).
 * Bookkeeping only: record, forget (base manifest rows).
 */
export type PlanOp =
  /**
   * Publish `file` as a new version of `path` replacing `replaces`; with `from`, the new name of
   * a moved file (ADR-0020), published with the tombstone `to` this path in one segment.
   */
  | {
      readonly kind: 'upload';
      readonly path: SyncPath;
      readonly file: LocalFile;
      readonly replaces: readonly VersionId[];
      readonly from?: LocalMove['fromVersion'];
    }
  /** Publish a delete of `path` replacing `replaces` (what the deleted file showed); with `to`, the old name of a moved file. */
  | { readonly kind: 'tombstone'; readonly path: SyncPath; readonly replaces: readonly VersionId[]; readonly to?: SyncPath }
  /**
   * An edit of a moved path's old name goes on at the new name (ADR-0020): one segment with a
   * tombstone of `path` (`to` the new name) replacing every head, and the put at the new name.
   * Nothing here is written: the next round's rows delete the old file and fetch the new one.
   */
  | { readonly kind: 'follow'; readonly path: SyncPath; readonly follow: Extract<PathFollow, { kind: 'follow' }> }
  /** End the conflict at `path`: replace every head the user had seen, keeping `file` (null: deleted). */
  | { readonly kind: 'resolve'; readonly path: SyncPath; readonly replaces: readonly VersionId[]; readonly file: LocalFile | null }
  /**
   * Publish the merge of the path's heads (`merge.heads`, all replaced) and write its bytes at
   * `path`; `expect` is the file the write may replace (null: must be absent).
   */
  | {
      readonly kind: 'merge';
      readonly path: SyncPath;
      readonly merge: Extract<PathMerge, { kind: 'merged' }>;
      readonly expect: LocalFile | null;
    }
  /** Write `version`'s content at `path`; `expect` is the file it may replace (null: must be absent). */
  | { readonly kind: 'download'; readonly path: SyncPath; readonly version: VersionRecord; readonly expect: LocalFile | null }
  /** Remove the local file at `path` (the cloud deleted it) if it still is `expect`. */
  | { readonly kind: 'deleteLocal'; readonly path: SyncPath; readonly expect: LocalFile; readonly version: VersionRecord | null }
  /** Write a conflict copy of `version` (a losing head of `of`) at `path`, which must be absent. */
  | { readonly kind: 'writeCopy'; readonly path: SyncPath; readonly of: SyncPath; readonly version: VersionRecord }
  /** Remove a conflict copy whose version is no longer a head, if it still is `expect`. */
  | { readonly kind: 'removeCopy'; readonly path: SyncPath; readonly expect: LocalFile }
  /** Bookkeeping: the file on disk already shows `version`; remember it with the heads. */
  | {
      readonly kind: 'record';
      readonly path: SyncPath;
      readonly file: LocalFile;
      readonly version: VersionId;
      readonly heads: readonly VersionId[];
      readonly copyOf?: SyncPath;
    }
  /** Bookkeeping: drop the base row of `path`. */
  | { readonly kind: 'forget'; readonly path: SyncPath };

export type PlanOpKind = PlanOp['kind'];

/**
 * A move this client made (ADR-0020): the file at `from` (its base showed `fromVersion`) is
 * gone and the file at `to` is new here; `computeLocalMoves` paired them. The planner publishes
 * the tombstone of `from` and the upload of `to` as the two halves of one move.
 */
export interface LocalMove {
  readonly from: SyncPath;
  readonly to: SyncPath;
  readonly fromVersion: { readonly path: SyncPath; readonly version: VersionId };
}

export { ConflictKind, type ConflictNote } from './conflict-notes.js';

export const NoticeReason = {
  unreadable: 'unreadable',
  notSubscribed: 'not-subscribed',
  editedConflictCopy: 'edited-conflict-copy',
  untrackedConflictCopy: 'untracked-conflict-copy',
  blockedByFolder: 'blocked-by-folder',
  /** A GC collected this deleted path while the file here was edited: kept, uploaded as new. */
  collectedPathKept: 'collected-path-kept',
  /** Not uploaded: a GC is collecting a blob with these bytes (ADR-0007); retried after it. */
  beingCollected: 'being-collected',
} as const;
export type NoticeReason = (typeof NoticeReason)[keyof typeof NoticeReason];

export interface Notice {
  readonly path: string;
  readonly reason: NoticeReason;
  readonly detail: string;
}

export interface Plan {
  readonly ops: readonly PlanOp[];
  /** Every path whose cloud state has more than one head, plus twins and file/folder clashes. */
  readonly conflicts: readonly ConflictNote[];
  readonly notices: readonly Notice[];
}

export interface PlanOptions {
  /** Folder prefixes ending in '/'; empty means the whole tree. */
  readonly subscriptions: readonly string[];
  /** Ignore rules (.bmignore and built-ins): ignored paths are out of scope on both sides. */
  readonly isIgnored: (path: string) => boolean;
  /** Display name of a client, for conflict copy names. */
  readonly clientName: (client: string) => string;
  /** This client's id: its own versions are never concurrent with its later ones (ADR-0016). */
  readonly self: string;
  /**
   * This client's own versions that no file here was derived from: published by `restore` or a
   * write through the API (ADR-0028). A change of the file made before one reached it is
   * concurrent with it, as with another client's version, so the exception for own versions
   * above does not cover them. Absent: none.
   */
  readonly detached?: ReadonlySet<string>;
}

export interface PlanInput {
  /** Local base manifest: what this client last synced (and cloud-at-baseline heads). */
  readonly base: ReadonlyMap<string, BaseEntry>;
  readonly local: LocalScan;
  /** Cloud now: the projection of every verified event. */
  readonly cloud: Projection;
  readonly options: PlanOptions;
  /** Plan only what may have changed since an earlier plan (ADR-0009); the result is the same. */
  readonly focus?: PlanFocus;
  /**
   * Set by a lazy sync (ADR-0009), whose `base` and `cloud` hold only the paths the focus
   * names (plus every tracked conflict copy): every path with a live head in the cloud and no
   * local file, which twin conflicts are found among (instead of iterating `cloud`). Needs a
   * focus that does not fall back (`computeFocusTargets`).
   */
  readonly cloudOnly?: ReadonlySet<string>;
  /**
   * The merges of paths with concurrent heads (ADR-0020), computed from their bytes by the
   * merge stage: each applies while the path's heads are the ones it was made for.
   */
  readonly merges?: ReadonlyMap<string, PathMerge>;
  /** The moves this client made, by both their paths (ADR-0020), from the move stage. */
  readonly moves?: ReadonlyMap<string, LocalMove>;
  /** Edits of moved paths' old names to send on, by old path (ADR-0020), from the move stage. */
  readonly follows?: ReadonlyMap<string, PathFollow>;
}

/**
 * An earlier plan of the same client under the same options, and every path whose base row,
 * local file or folder, or cloud state may differ from what that plan saw. Every other path
 * would be planned as it was then: no op (those went into `dirty` through `previous.ops`), and
 * the same conflicts and notices. So only the dirty paths (and the paths their conflict
 * copies belong to) are planned again, and the rest of `previous` is carried over; the result
 * equals a full plan (property-tested). Where a rule reaches across paths in a way a dirty
 * set cannot bound (unreadable folders, file-versus-folder clashes, untracked conflict
 * copies), the planner plans in full instead.
 */
export interface PlanFocus {
  readonly previous: Pick<Plan, 'ops' | 'conflicts' | 'notices'>;
  readonly dirty: Iterable<string>;
}

export function isSubscribed(path: string, subscriptions: readonly string[]): boolean {
  return subscriptions.length === 0 || subscriptions.some((s) => path.startsWith(s));
}
