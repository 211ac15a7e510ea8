import type { ClientId, VersionId } from '../events/ids.js';
import type { ContentRef, MergeRecord, PathEventType } from '../events/schema.js';
import type { SyncPath } from '../events/sync-path.js';

/**
 * One version of one path, as the projection knows it: an event flattened with what it
 * inherits from its segment. A tombstone, and a resolve that deleted, have content null.
 */
export interface VersionRecord {
  readonly id: VersionId;
  readonly path: SyncPath;
  readonly type: PathEventType;
  readonly client: ClientId;
  /** Seq of the segment that carried the event. */
  readonly seq: number;
  /** Informational wall-clock time of the writer; never used to decide. */
  readonly time: string;
  readonly replaces: readonly VersionId[];
  readonly content: ContentRef | null;
  /** The writer's `seen` frontier: other clients' log heads when it wrote this. */
  readonly seen: Readonly<Record<string, number>>;
  /** Bucket snapshot version the writer had synced against, when the bucket has snapshots. */
  readonly snapshot: string | null;
  /**
   * A merge put's record (format 2, ADR-0020): the parents it merged and their ancestor. Kept
   * for `log` and `verify`; never read to decide (checkpoints do not carry it).
   */
  readonly merge?: MergeRecord;
  /**
   * A move (format 2, ADR-0020): on a put, the version of another path it continues; on a
   * tombstone, the path the content went on at. `log` shows them, and the planner sends an
   * edit of a moved path's old name to its new one. (Checkpoints do not carry them yet: a
   * client starting from a checkpoint that covers a move sees a plain put and delete there.)
   */
  readonly from?: { readonly path: SyncPath; readonly version: VersionId };
  readonly to?: SyncPath;
}
