import type { PendingJoiner } from '../member-state.js';
import { BmError, ErrorCode } from '../../errors.js';
import type { LogFault } from '../../events/log.js';
import type { VersionId } from '../../events/ids.js';
import type { ContentRef } from '../../events/schema.js';
import type { SyncPath } from '../../events/sync-path.js';
import { zeroCounts } from '../applied-ops.js';
import type { CleanState } from '../clean-state.js';
import type { OwnCheckpointReport } from '../own-checkpoint.js';
import type { ConflictNote, Notice, Plan, PlanOp, PlanOpKind } from '../plan-sync.js';
import type { ScanNotice } from '../ports.js';

/*
 * What a sync is asked to do (`SyncOptions`) and what it reports (`SyncReport`), the counters
 * its stages add to as they go (`SyncTally`), and the delete guards every plan meets.
 */

export interface SyncOptions {
  readonly dryRun?: boolean;
  /** Refuse a sync that would tombstone more files than this. */
  readonly maxDelete?: number;
  /** Skip the safety guards (max-delete, empty root). */
  readonly force?: boolean;
  /** Resolve a conflict first (`bm-log resolve`). */
  readonly resolve?: ResolveRequest;
  /** Publish these past states first (`bm-log restore`): each replaces every current head. */
  readonly restore?: readonly RestoreRequest[];
  /**
   * Keep at most this many of the ops carried out in `SyncReport.applied` (besides every local
   * delete); the rest are only counted (`appliedCounts`). All of them when unset.
   */
  readonly keepApplied?: number;
  /**
   * Called with every op carried out, as it is done (before `keepApplied` bounds what the
   * report keeps): `--json` writes each one out instead of keeping 100,000 of them. It must
   * not throw; the sync does not wait for it.
   */
  readonly onApplied?: (op: PlanOp) => void;
}

/** Bring `path` back to `content` (null: deleted), as an ordinary new put or tombstone. */
export interface RestoreRequest {
  readonly path: SyncPath;
  readonly content: ContentRef | null;
  /**
   * A write through the API (issue 26): the version its writer had read, checked against the
   * path's heads after the fetch (`planExpectedWrite`). Without it the request replaces every
   * current head, as `bm-log restore` does.
   */
  readonly expected?: ExpectedVersion;
  /** The id of the version to publish (the API names it to its caller); a fresh one when unset. */
  readonly id?: VersionId;
}

/** What a writer had read of a path: `version` (null: no file there), and what a stale write does. */
export interface ExpectedVersion {
  readonly version: VersionId | null;
  /** 'refuse': throw StaleVersionError, publish nothing; 'conflict': replace only `version`, as a person's stale edit does. */
  readonly onStale: 'refuse' | 'conflict';
}

/** What `bm-log restore` publishes for one path: nothing (it already is so), a tombstone or a put. */
export type RestoreStep =
  | { readonly kind: 'none' }
  | { readonly kind: 'tombstone'; readonly replaces: readonly VersionId[] }
  | { readonly kind: 'put'; readonly replaces: readonly VersionId[]; readonly content: ContentRef };

/** Keep the local file ('local') or a version (id or its last characters) of `path`. */
export interface ResolveRequest {
  readonly path: SyncPath;
  readonly keep: 'local' | string;
}

/** Default delete guard: more than this many tombstones... */
export const DEFAULT_MAX_DELETE = 100;
/** ...or more than this share of the tracked files (when at least MIN_TRACKED_FOR_RATIO). */
export const DEFAULT_MAX_DELETE_RATIO = 0.5;
const MIN_TRACKED_FOR_RATIO = 20;

export interface Skipped {
  readonly path: string;
  readonly op: PlanOp['kind'];
  readonly detail: string;
  /** The error that made the op fail, when one did (blob-corrupt and blob-missing are integrity failures). */
  readonly code?: ErrorCode;
}

export interface SyncReport {
  /** The first round's plan (what a dry run prints). */
  readonly plan: Plan;
  readonly rounds: number;
  /**
   * Operations carried out, all rounds: all of them, or as `SyncOptions.keepApplied` bounds
   * them (see `AppliedOps`).
   */
  readonly applied: readonly PlanOp[];
  /** Operations carried out, by kind (all of them, kept or not). */
  readonly appliedCounts: Readonly<Record<PlanOpKind, number>>;
  /** Operations carried out but not kept in `applied`. */
  readonly appliedOmitted: number;
  readonly skipped: readonly Skipped[];
  readonly conflicts: readonly ConflictNote[];
  readonly notices: readonly (Notice | ScanNotice)[];
  readonly faults: readonly LogFault[];
  /** This client's own objects that had vanished from the remote and were put back, by key (ADR-0015). */
  readonly restored: readonly string[];
  readonly eventsPublished: number;
  /** Segments written, acknowledgements included. */
  readonly segmentsPublished: number;
  /** An empty segment was published to acknowledge what this sync folded (ADR-0007). */
  readonly ackPublished: boolean;
  /** This sync started from the writers' checkpoints (a new client joining) instead of the whole log. */
  readonly joinedFromCheckpoint: boolean;
  /** The checkpoint of this client's own log this sync wrote (ADR-0014), or null. */
  readonly checkpoint: OwnCheckpointReport | null;
  /**
   * Nothing was fetched and the folder was exactly as the last sync that ended with nothing
   * to do left it, so this sync neither folded nor planned (ADR-0008).
   */
  readonly clean: boolean;
  /**
   * This sync read only the paths it planned (ADR-0009): their cloud state and manifest rows
   * from the index's per-path rows, the rest from the clean-state record, without folding the
   * log or reading the whole manifest.
   */
  readonly lazy: boolean;
  /**
   * A first sync in stages (ADR-0011): the paths were planned, executed and committed a range
   * at a time (`plan` is the first stage's first plan).
   */
  readonly staged: boolean;
  readonly blobsUploaded: number;
  readonly bytesUploaded: number;
  readonly bytesDownloaded: number;
  readonly fetchRequests: number;
  readonly dryRun: boolean;
  /** Clients that published a key and wait for an admin, shown by this sync for the first time (ADR-0032). */
  readonly pendingJoiners?: readonly PendingJoiner[];
}

/** The report's counters and lists, which the stages add to as they go (ADR-0023). */
export interface SyncTally {
  readonly skipped: Skipped[];
  readonly notices: (Notice | ScanNotice)[];
  eventsPublished: number;
  segmentsPublished: number;
  ackPublished: boolean;
  blobsUploaded: number;
  bytesUploaded: number;
  bytesDownloaded: number;
  checkpoint: OwnCheckpointReport | null;
}

export function createTally(): SyncTally {
  return {
    skipped: [],
    notices: [],
    eventsPublished: 0,
    segmentsPublished: 0,
    ackPublished: false,
    blobsUploaded: 0,
    bytesUploaded: 0,
    bytesDownloaded: 0,
    checkpoint: null,
  };
}

/** The report of a sync that found nothing new since a sync that ended with nothing to do. */
export function cleanReport(clean: CleanState, fetchRequests: number, dryRun: boolean): SyncReport {
  return {
    plan: { ops: [], conflicts: clean.conflicts, notices: clean.planNotices },
    rounds: 0,
    applied: [],
    appliedCounts: zeroCounts(),
    appliedOmitted: 0,
    skipped: [],
    conflicts: clean.conflicts,
    notices: [...clean.scanNotices, ...clean.planNotices],
    faults: [],
    restored: [],
    eventsPublished: 0,
    segmentsPublished: 0,
    ackPublished: false,
    joinedFromCheckpoint: false,
    checkpoint: null,
    blobsUploaded: 0,
    bytesUploaded: 0,
    bytesDownloaded: 0,
    fetchRequests,
    dryRun,
    clean: true,
    lazy: false,
    staged: false,
  };
}

/** The delete guards (max-delete, empty root): throws a safety-guard error when `plan` would pass them. */
export function checkGuards(plan: Plan, tracked: number, localCount: number, options: SyncOptions): void {
  if (options.force) return;
  if (localCount === 0 && tracked > 0) {
    const hint = 'refusing to delete them for everyone; if you really emptied the folder, run again with --force';
    throw new BmError(ErrorCode.safetyGuard, `the sync folder is empty, but ${tracked} files were synced from it before`, hint, {
      tracked,
    });
  }
  const tombstones = plan.ops.filter((o) => o.kind === 'tombstone').length;
  if (tombstones === 0) return;
  const limit = options.maxDelete;
  const overAbsolute = tombstones > (limit ?? DEFAULT_MAX_DELETE);
  const overRatio = limit === undefined && tracked >= MIN_TRACKED_FOR_RATIO && tombstones > tracked * DEFAULT_MAX_DELETE_RATIO;
  if (overAbsolute || overRatio) {
    const defaultLimit = `${DEFAULT_MAX_DELETE} or ${DEFAULT_MAX_DELETE_RATIO * 100}%`;
    throw new BmError(
      ErrorCode.safetyGuard,
      `this sync would delete ${tombstones} of ${tracked} files for everyone (limit: ${limit ?? defaultLimit})`,
      'nothing was published; check with `bm-log sync --dry-run`, then raise --max-delete or use --force',
      { tombstones, tracked },
    );
  }
}
