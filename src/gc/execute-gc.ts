import { BmError, ErrorCode } from '../errors.js';
import { HASH_RE, ULID_RE, type ContentHash, type IdFactory, type VersionId } from '../events/ids.js';
import { BLOBS_PREFIX, keyOfBlob, keyOfPack, PACKS_PREFIX } from '../events/layout.js';
import { computePackCollectHash } from '../events/packs.js';
import type { GcEvent } from '../events/schema.js';
import { listAll, type ObjectStore } from '../events/store/object-store.js';
import { SealedStore } from '../crypto/sealed-store.js';
import { isAckDue } from '../projections/project-vault.js';
import { executeOwnCheckpoint, type OwnCheckpointReport } from '../reconcile/own-checkpoint.js';
import { executeFetchLog, publishOwnSegment, type LogContext, type OpenLog } from '../reconcile/sync-log.js';
import { planGc, type GcPlan } from './plan-gc.js';

export interface GcContext extends LogContext {
  readonly newId: IdFactory;
}

export interface GcOptions {
  readonly dryRun?: boolean;
  readonly retentionMs: number;
  readonly graceMs: number;
  /** Write a checkpoint after the run (default true; never in a dry run). */
  readonly checkpoint?: boolean;
}

/** One pass: a fetch, a plan, the deletes it allowed, and the gc event recording them. */
export interface GcPass {
  readonly plan: GcPlan;
  /** Blobs deleted (or found already gone) and recorded in this pass's gc event. */
  readonly deleted: readonly ContentHash[];
  /** The keys of the packs among `deleted`. */
  readonly deletedPacks: readonly string[];
  /** Deletes not issued because this run was past the deadline of their condemnation. */
  readonly lateDeletes: readonly ContentHash[];
  /** The seq of this pass's gc event in this client's log, or null when nothing was published. */
  readonly publishedSeq: number | null;
  readonly requests: number;
}

export interface GcReport {
  readonly dryRun: boolean;
  readonly passes: readonly GcPass[];
  /** This client's checkpoint of its own log, written after the run (ADR-0014), or null. */
  readonly checkpoint: OwnCheckpointReport | null;
}

/** Every blob and pack on the remote (one listing of `blobs/` and one of `packs/`, paged). */
async function listBlobs(log: LogContext): Promise<{ blobs: Set<ContentHash>; packs: Map<ContentHash, string>; requests: number }> {
  const [listed, listedPacks] = await Promise.all([listAll(log.store, BLOBS_PREFIX), listAll(log.store, PACKS_PREFIX)]);
  const blobs = new Set<ContentHash>();
  for (const o of listed) {
    const h = o.key.slice(o.key.lastIndexOf('/') + 1);
    if (HASH_RE.test(h) && o.key === keyOfBlob(h)) blobs.add(h as ContentHash);
  }
  const packs = new Map<ContentHash, string>();
  for (const o of listedPacks) {
    const [client, id] = o.key.slice(PACKS_PREFIX.length).split('/');
    if (client === undefined || id === undefined || !ULID_RE.test(client) || !ULID_RE.test(id) || o.key !== keyOfPack(client, id)) continue;
    packs.set(computePackCollectHash(client, id), o.key);
  }
  const pages = (n: number) => Math.max(1, Math.ceil(n / 1000));
  return { blobs, packs, requests: pages(listed.length) + pages(listedPacks.length) };
}

/**
 * An encrypted vault's store lists only the keyed blob names it was told (ADR-0031): tell it
 * every content hash the history names, so that GC sees those blobs (and only those).
 */
function learnBlobNames(store: ObjectStore, state: OpenLog['state']): void {
  if (!(store instanceof SealedStore)) return;
  const keys: string[] = [...state.vault.condemnations.keys()].map(keyOfBlob);
  for (const st of state.paths.values()) for (const v of st.versions.values()) if (v.content !== null) keys.push(keyOfBlob(v.content.hash));
  store.learnKeys(keys);
}

/**
 * Runs garbage collection (ADR-0007; packs by ADR-0035): fetch the whole log, plan with the pure `planGc`,
 * delete the blobs and packs whose condemnation is due (each delete issued before the condemnation's
 * deadline: half its grace after this run's fetch), then publish one `gc` event recording the
 * collected paths, the new condemnations and the deletions. With grace 0 the blobs this run
 * condemns are due at once, so a second pass (a fresh fetch) deletes them. Ends with this
 * client's checkpoint of its own log (ADR-0014). A dry run fetches and plans and changes nothing.
 *
 * Needs the full history: refused on a client that joined from a checkpoint (its state has
 * the heads, not the versions whose retention protects their blobs).
 */
export async function executeGc(ctx: GcContext, options: GcOptions): Promise<GcReport> {
  const dryRun = options.dryRun === true;
  const passes: GcPass[] = [];
  let log: OpenLog | undefined;
  for (let pass = 0; pass < 2; pass++) {
    log = await executeFetchLog({ ...ctx, joinFromCheckpoint: false }, { dryRun });
    if (log.checkpoint !== undefined) {
      throw new BmError(
        ErrorCode.usage,
        'this client joined from a checkpoint and does not hold the whole history that garbage collection needs',
        'run `bm-log gc` on a client that has synced from the start (or init a fresh folder, which fetches the whole log when no checkpoint is used)',
      );
    }
    mustWholeLog(log);
    // The runner's own acknowledgement counts like anyone's: bring it up to what it just folded.
    if (!dryRun && isAckDue(log.state.vault, ctx.identity.client)) await publishOwnSegment(ctx, log, [], log.baseline);
    learnBlobNames(ctx.store, log.state);
    const listed = await listBlobs(ctx);
    const plan = planGc({
      state: log.state,
      keyed: log.keyed,
      blobs: listed.blobs,
      packs: listed.packs,
      nowMs: log.fetchStartMs,
      retentionMs: options.retentionMs,
      graceMs: options.graceMs,
    });
    const requests = log.requests + listed.requests;
    if (dryRun) {
      passes.push({ plan, deleted: [], deletedPacks: [], lateDeletes: [], publishedSeq: null, requests });
      break;
    }
    const deleted: ContentHash[] = [];
    const deletedPacks: string[] = [];
    const lateDeletes: ContentHash[] = [];
    for (const d of plan.delete) {
      // A deleter that runs late stops: writers count on deletes ending grace/2 after the fetch.
      if (d.deadlineMs !== null && ctx.now().getTime() > d.deadlineMs) {
        lateDeletes.push(d.hash);
        continue;
      }
      await ctx.store.delete(d.key);
      deleted.push(d.hash);
      if (d.key.startsWith(PACKS_PREFIX)) deletedPacks.push(d.key);
    }
    let publishedSeq: number | null = null;
    if (plan.collect.length > 0 || plan.condemn.length > 0 || deleted.length > 0) {
      const event: GcEvent = {
        type: 'gc',
        id: ctx.newId() as VersionId,
        retentionMs: options.retentionMs,
        graceMs: options.graceMs,
        frontier: { ...plan.frontier },
        collected: plan.collect.map((c) => ({ path: c.path, versions: [...c.versions] })),
        condemned: [...plan.condemn],
        deleted,
      };
      const seg = await publishOwnSegment(ctx, log, [event], log.baseline, { deadline: false });
      publishedSeq = seg.body.seq;
    }
    passes.push({ plan, deleted, deletedPacks, lateDeletes, publishedSeq, requests });
    // Grace 0 (the unprotected mode): what this pass condemned is due now; one more pass deletes it.
    if (!(options.graceMs === 0 && plan.condemn.length > 0)) break;
  }
  const checkpoint = !dryRun && options.checkpoint !== false && log !== undefined ? await executeOwnCheckpoint(ctx, log) : null;
  return { dryRun, passes, checkpoint };
}

/**
 * Garbage collection decides from the whole log: a fetch that met a fault (a segment or key that
 * vanished or was replaced, ADR-0015) may have missed events naming blobs it would condemn, and
 * a vanished segment put back later would then name deleted bytes. It collects nothing then.
 */
function mustWholeLog(log: OpenLog): void {
  const first = log.faults[0];
  if (first === undefined) return;
  throw new BmError(
    first.error.code,
    `garbage collection needs the whole log, and this fetch met ${log.faults.length} fault(s) on the remote (first: ${first.key}: ${first.error.message})`,
    'nothing was collected or deleted; see `bm-log sync` or `bm-log verify` for the faults, have them fixed ' +
      '(a client puts back its own vanished objects at its next sync), then run gc again',
    { faults: log.faults.length },
  );
}
