import type { SyncPath } from '../events/sync-path.js';
import type { PlanOp } from '../reconcile/plan-sync.js';
import type { ProgressSink } from '../reconcile/ports.js';
import { runSync, type SyncReport } from '../reconcile/run-sync.js';
import type { ClientSession } from '../client/client-session.js';

/*
 * One sync of an open folder (`bm-log sync`, `resolve`, `init`; the API's `sync` and
 * `resolve`; ADR-0028): the request as the engine takes it. Nothing is printed: progress goes
 * to the ProgressSink port, each file action to `onApplied`, and the whole report is returned
 * for the caller to show (the CLI prints it, the API hands back its summary).
 */

/** What one sync is asked to do. */
export interface SyncRequest {
  /** Plan only: nothing is published, downloaded or written. */
  readonly dryRun?: boolean;
  /** Carry out deletes beyond the mass-delete guard. */
  readonly force?: boolean;
  /** The mass-delete guard's limit (files a sync may delete here without `force`). */
  readonly maxDelete?: number;
  /** End the conflict at `path`, keeping a version (id or its last 8 characters) or the file here ('local'). */
  readonly resolve?: { readonly path: SyncPath; readonly keep: string };
  /** Told of the sync's phases and counts (the engine's ProgressSink port); quick, never throws. */
  readonly progress?: ProgressSink;
  /** Told of every file action as it is carried out; quick, never throws. */
  readonly onApplied?: (op: PlanOp) => void;
  /** How many actions the report keeps (default: the engine's). */
  readonly keepApplied?: number;
}

/** Runs one sync of the open folder `s` as `r` asks, and returns the engine's full report. */
export async function executeFolderSync(s: ClientSession, r: SyncRequest = {}): Promise<SyncReport> {
  const ctx = r.progress === undefined ? s.ctx : { ...s.ctx, onProgress: r.progress };
  return runSync(ctx, {
    dryRun: r.dryRun === true,
    force: r.force === true,
    ...(r.maxDelete !== undefined ? { maxDelete: r.maxDelete } : {}),
    ...(r.resolve ? { resolve: r.resolve } : {}),
    ...(r.keepApplied !== undefined ? { keepApplied: r.keepApplied } : {}),
    ...(r.onApplied ? { onApplied: r.onApplied } : {}),
  });
}
