import { listCheckpoints } from '../events/checkpoints.js';
import { executeGc, type GcPass } from '../gc/execute-gc.js';
import { DEFAULT_GRACE_MS, DEFAULT_RETENTION_MS } from '../gc/plan-gc.js';
import { computeClientRows, executeRetire, type ClientRow } from '../gc/retire-client.js';
import { executeOwnCheckpoint, type OwnCheckpointReport } from '../reconcile/own-checkpoint.js';
import { executeFetchLog } from '../reconcile/sync-log.js';
import type { ClientSession } from '../client/client-session.js';

/*
 * The vault's housekeeping on an open folder (`bm-log gc`, `checkpoint`, `clients`, `retire`;
 * issue 26, ADR-0028): garbage collection of old versions' blobs (ADR-0009), a checkpoint of
 * this client's log (ADR-0014), the clients and how far each has acknowledged, and retiring a
 * client gc should no longer wait for. Nothing is printed; the results are plain data.
 */

/** How `gc` runs. */
export interface GcOptions {
  /** Plan only: nothing is published or deleted. */
  readonly dryRun?: boolean;
  /** Versions replaced longer ago than this are collected (default 30 days). */
  readonly retentionMs?: number;
  /** Condemned blobs are deleted after this long (default 7 days); shorter is safe only while nobody else syncs. */
  readonly graceMs?: number;
  /** Write a checkpoint of this client's log afterwards (default true). */
  readonly checkpoint?: boolean;
}

/** Pure: one pass of `gc` as data: who is active, what it collected, condemned and deleted. */
export function computeGcPassResult(p: GcPass) {
  return {
    active: p.plan.active,
    frontier: p.plan.frontier,
    collected: p.plan.collect,
    condemned: p.plan.condemn,
    deletable: p.plan.delete.map((d) => ({
      hash: d.hash,
      key: d.key,
      condemnedBy: `${d.condemnation.client}/${d.condemnation.seq}`,
      condemnedAt: d.condemnation.time,
    })),
    deleted: p.deleted,
    condemnedPacks: p.plan.condemnPacks,
    deletedPacks: p.deletedPacks,
    lateDeletes: p.lateDeletes,
    blobsListed: p.plan.blobsListed,
    blobsReferenced: p.plan.blobsReferenced,
    packsListed: p.plan.packsListed,
    packsReferenced: p.plan.packsReferenced,
    publishedSeq: p.publishedSeq,
    requests: p.requests,
  };
}

/** One pass of `gc`. */
export type GcPassResult = ReturnType<typeof computeGcPassResult>;

/** What `gc` did (or, in a dry run, would do). */
export interface GcResult {
  readonly dryRun: boolean;
  readonly retentionMs: number;
  readonly graceMs: number;
  readonly passes: readonly GcPassResult[];
  readonly checkpoint: OwnCheckpointReport | null;
}

/** Runs garbage collection on the open folder `s` (ADR-0009) and returns what each pass did. */
export async function executeFolderGc(s: ClientSession, o: GcOptions = {}): Promise<GcResult> {
  const retentionMs = o.retentionMs ?? DEFAULT_RETENTION_MS;
  const graceMs = o.graceMs ?? DEFAULT_GRACE_MS;
  const report = await executeGc({ ...s.ctx }, { dryRun: o.dryRun === true, retentionMs, graceMs, checkpoint: o.checkpoint !== false });
  const passes = report.passes.map(computeGcPassResult);
  return { dryRun: report.dryRun, retentionMs, graceMs, passes, checkpoint: report.checkpoint };
}

/** Fetches the log, then writes a checkpoint of this client's own log (ADR-0014); null when the latest is up to date. */
export async function executeFolderCheckpoint(s: ClientSession): Promise<OwnCheckpointReport | null> {
  const log = await executeFetchLog(s.ctx, { dryRun: false });
  return executeOwnCheckpoint(s.ctx, log);
}

/** Every client of the vault: its last segment, how far its log is acknowledged, its latest checkpoint, retired or not. */
export async function listClients(s: ClientSession): Promise<ClientRow[]> {
  const log = await executeFetchLog(s.ctx, { dryRun: true });
  return computeClientRows(log, s.config.clientId, (await listCheckpoints(s.store)).latest);
}

/** Publishes a retire event for the client with that exact id or name (gc stops waiting for it). */
export async function executeFolderRetire(s: ClientSession, target: string): ReturnType<typeof executeRetire> {
  return executeRetire(s.ctx, target);
}

export { DEFAULT_GRACE_MS, DEFAULT_RETENTION_MS };
export type { ClientRow, OwnCheckpointReport };
