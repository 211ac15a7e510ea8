import type { Chunks } from '../events/store/lent-chunks.js';
import { BmError, ErrorCode, isBmError, unreachable } from '../errors.js';
import { readBlob, writeBlob } from '../events/blobs.js';
import type { ByteParts } from '../events/codec.js';
import { keyOfBlob } from '../events/layout.js';
import type { ClientId, ContentHash, IdFactory, VaultId, VersionId } from '../events/ids.js';
import type { Cursor, LogFault } from '../events/log.js';
import { MAX_EVENTS_PER_SEGMENT, type ContentRef, type Event } from '../events/schema.js';
import type { KeyPair } from '../events/signing.js';
import type { ObjectStore } from '../events/store/object-store.js';
import type { SyncPath } from '../events/sync-path.js';
import type { BaseEntry, LocalFile, LocalTree, ScanBase, ScanNotice, ScanResult } from './ports.js';
import type { SyncContext } from './sync-context.js';
import { computeHeads, type Projection } from '../projections/project-paths.js';
import { isAckDue } from '../projections/project-vault.js';
import { computeFocusTargets, computeTwinConflicts, isFocusPlannable, NoticeReason, planSync, type ConflictNote, type Notice, type Plan, type PlanFocus, type PlanInput, type PlanOp, type PlanOpKind } from './plan-sync.js';
import { BEING_COLLECTED, computeBlobBanNow, fetchNewSegments, foldFetchedLog, publishOwnSegment, releaseFetchedSegments } from './sync-log.js';
import { CLEAN_STATE_KEY } from './ports.js';
import { computeRecordFocus, confirmCleanState, readCleanRecord, type CleanState, type LazyBase } from './clean-state.js';
import { computeLazyBase, LazyPaths, namesCondemnedBlob } from './lazy-state.js';
import { checkOwnCheckpointDue, executeOwnCheckpoint, isClaimRewriteDue, type CheckpointEvery, type OwnCheckpointReport } from './own-checkpoint.js';
import { hasUncheckedCheckpoints } from './check-checkpoints.js';
import { computeStages, isInStage, STAGE_PATHS, StageNotes, type Stage } from './staged-sync.js';
import { computeScanChanges } from './local-scan.js';
import { AppliedOps, zeroCounts } from './applied-ops.js';
import { computeLiveFolders } from './conflict-notes.js';




/** An op that writes or deletes a local file. */
function isLocalOp(o: PlanOp): o is Extract<PlanOp, { kind: 'download' | 'writeCopy' | 'deleteLocal' | 'removeCopy' }> {
  return o.kind === 'download' || o.kind === 'writeCopy' || o.kind === 'deleteLocal' || o.kind === 'removeCopy';
}

/** The default of `SyncContext.chunkOps`. */
const CHUNK_OPS = 4000;

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
}

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
const MAX_ROUNDS = 4;

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
}

/** Runs `fn` over `items` with at most `n` in flight; results in input order. */
async function mapLimit<T, R>(items: readonly T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}

/**
 * A local file as an upload source. The file may vanish or become unreadable after the scan;
 * every adapter must then see local-io (which skips just that file), not a raw ENOENT that
 * aborts the whole sync or that a directory remote reports as its own failure.
 */
export async function* openUploadSource(tree: LocalTree, path: SyncPath, size: number): Chunks {
  try {
    yield* tree.openRead(path, size);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException | null)?.code;
    if (isBmError(e) || typeof code !== 'string') throw e;
    throw new BmError(ErrorCode.localIo, `reading ${path} failed (${code})`, 'left as it is; the next sync retries', {}, { cause: e });
  }
}

function baseFromFile(file: LocalFile, heads: readonly VersionId[], version: VersionId | null, copyOf?: { path: SyncPath; version: VersionId }): BaseEntry {
  const b = { path: file.path, hash: file.hash, size: file.size, mode: file.mode, mtimeMs: file.mtimeMs, ino: file.ino, heads: [...heads], version };
  return copyOf ? { ...b, copyOf } : b;
}

/**
 * One sync: fetch and verify new events, scan, plan, guard, then execute in rounds until
 * the plan is empty. Order inside a round: blobs, then the segment naming them, then local
 * writes, then one atomic manifest commit, so a crash at any instant leaves either the old
 * or the new state and never an event naming a missing blob.
 */
export async function runSync(ctx: SyncContext, options: SyncOptions = {}): Promise<SyncReport> {
  const { index, store, identity } = ctx;
  const concurrency = ctx.concurrency ?? 8;
  const dryRun = options.dryRun === true;

  // 1. Fetch what is new and verify it (a new client joins from the newest checkpoint). The
  // clean-state record is read first: committing fetched acknowledgements deletes it.
  const publishing = options.resolve !== undefined || options.restore !== undefined;
  let record = publishing ? undefined : await readCleanRecord(ctx);
  // Without a record the sync folds (or, in stages, reads) what it fetched from the index, so
  // the fetch commits it as it comes instead of keeping it decoded (only a lazy sync, which
  // starts from a record, folds its fetched segments from memory).
  // The fetch holds little either way (a window of segments, or the few new ones of a
  // lazy sync): V8's young generation is held small until a sync has to fold everything.
  ctx.onWorkingSet?.('small');
  let fetched = await fetchNewSegments(ctx, { dryRun, stream: record === undefined });
  // Nothing new on either side since a sync that ended with nothing to do: its plan stands.
  const clean = await confirmCleanState(ctx, record, fetched);
  // (Unless this client's checkpoint can now shed claims: then it goes on and rewrites it, ADR-0014.)
  if (clean !== undefined && (dryRun || !(await isClaimRewriteDue(ctx, ctx.checkpointEvery)))) {
    // (Written again when committing fetched acknowledgements or keys deleted it: they change
    // nothing it says.)
    const committedSomething = fetched.fetched.fetchedSegments > 0 || fetched.fetched.newKeys.length > 0;
    if (!dryRun) await index.commitBatch({ meta: { lastSyncAt: ctx.now().toISOString(), ...(committedSomething ? { [CLEAN_STATE_KEY]: clean } : {}) } });
    return { ...cleanReport(clean, fetched.requests, dryRun), restored: fetched.restored };
  }
  // 2. Project every verified event: all of them, or (a lazy sync, ADR-0009) only those of
  // the paths this sync's focused plans look at, read as they are needed, or (a first sync in
  // stages, ADR-0011) those of one range of paths at a time.
  const lazyOpened = await LazyPaths.open(ctx, record, fetched, dryRun);
  const stagedOpened = lazyOpened === undefined && !publishing ? await LazyPaths.openStaged(ctx, fetched, dryRun) : undefined;
  const opened = lazyOpened ?? stagedOpened;
  const staged = stagedOpened !== undefined;
  if (opened === undefined) ctx.onWorkingSet?.('large');
  const log = opened?.log ?? (await foldFetchedLog(ctx, fetched, { dryRun }));
  let lazy = opened?.lazy;
  // Faults a later full fold found (other writers' checkpoints its log does not support).
  const lateFaults: LogFault[] = [];
  // In stages, the fetched segments are in the index and the vault state is folded: let them go.
  if (staged) fetched = releaseFetchedSegments(fetched);
  const names = log.names;
  const projection: Projection = log.state.paths;

  const clientName = (c: string) => names.get(c) ?? c.slice(-6);
  const planOptions = { subscriptions: ctx.subscriptions, isIgnored: ctx.isIgnored, clientName, self: identity.client };
  const applied = new AppliedOps(options.keepApplied, options.onApplied);
  const report = {
    skipped: [] as Skipped[],
    notices: [] as (Notice | ScanNotice)[],
    eventsPublished: 0,
    segmentsPublished: 0,
    ackPublished: false,
    blobsUploaded: 0,
    bytesUploaded: 0,
    bytesDownloaded: 0,
    checkpoint: null as OwnCheckpointReport | null,
  };
  if (options.resolve && !dryRun) await publishResolve(options.resolve);
  if (options.restore && !dryRun) await publishRestore(options.restore);
  let firstPlan: Plan | undefined;
  let lastPlan: Plan | undefined;
  let lastScan: ScanResult | undefined;
  let rounds = 0;

  // Read once (a lazy sync: only its conflict copies, then rows as needed); each round's
  // committed changes are applied to it in memory, as they were to the index.
  const manifest = opened?.manifest ?? (await index.getManifest());
  // A client with the whole history checks every new writer checkpoint against it (ADR-0014):
  // a lazy sync that finds one folds everything first.
  if (lazyOpened !== undefined && !dryRun && (await hasUncheckedCheckpoints(ctx.store, index, fetched.fetched.cursors))) await foldEverything();
  let touched: SyncPath[] = [];
  // A lazy sync has not read the manifest: the scan reuses the hashes of files the record's
  // scan returned with the same stats (the manifest rows it holds, loaded or committed, first).
  // In stages, the rows of earlier stages are let go: a rescan reuses the last scan's hashes.
  const witnessBase = lazy !== undefined && !staged ? ctx.tree.witnessBase(record!.witness) : undefined;
  if (lazy !== undefined && !staged && witnessBase === undefined) await foldEverything();
  const scanBase: ScanBase = staged
    ? { get: (p) => manifest.get(p as SyncPath) ?? lastScan?.files.get(p as SyncPath) }
    : witnessBase === undefined
      ? manifest
      : { get: (p) => (lazy !== undefined ? (manifest.get(p as SyncPath) ?? witnessBase.get(p)) : manifest.get(p as SyncPath)) };
  // Each plan after the first starts from the one before; the first from the clean-state
  // record, when there is one: only what changed since is planned again (ADR-0009). The first
  // plan of a stage plans the stage's paths (as if an earlier plan had found nothing to do
  // elsewhere); a stage that has to fold everything plans everything from then on.
  const planRound = async (local: ScanResult, focus: PlanFocus | undefined): Promise<Plan> => {
    let cloudOnly: ReadonlySet<string> | undefined;
    if (lazy !== undefined) {
      const targets = focus === undefined ? undefined : computeFocusTargets(focus, manifest, local);
      if (targets === undefined || !lazy.isWorthLoading(targets)) await foldEverything();
      else {
        await lazy.load(targets);
        lazy.refreshCloudOnly(targets, local);
        cloudOnly = lazy.cloudOnly;
        // A file/folder clash reaches past the focus (ADR-0016): plan it from everything.
        const input = { base: manifest, local, cloud: projection, options: planOptions, ...(focus === undefined ? {} : { focus }), cloudOnly };
        if (!isFocusPlannable(input, (p) => lazy!.hidesBelow(p))) {
          await foldEverything();
          cloudOnly = undefined;
        }
      }
    }
    const whole = (f: PlanFocus | undefined) => (lazy === undefined && f !== undefined && f.previous === stageStart ? undefined : f);
    let plan = await planWith(local, whole(focus), cloudOnly);
    if (lazy !== undefined && namesCondemnedBlob(plan, log.state.vault)) {
      await foldEverything();
      plan = await planWith(local, whole(focus), undefined);
    }
    return plan;
  };
  const planWith = async (local: ScanResult, focus: PlanFocus | undefined, cloudOnly: ReadonlySet<string> | undefined): Promise<Plan> => {
    const input: PlanInput = { base: manifest, local, cloud: projection, options: planOptions, ...(focus === undefined ? {} : { focus }), ...(cloudOnly === undefined ? {} : { cloudOnly }) };
    const plan = planSync(input);
    await ctx.onPlan?.(input, plan, staged && lazy !== undefined ? 'stage' : 'all');
    return plan;
  };
  const since = (prev: { plan: Plan; scan: ScanResult }, scan: ScanResult): PlanFocus => ({ previous: prev.plan, dirty: computeScanChanges(prev.scan, scan) });

  // In stages: ranges of the paths of the scan and of the log, each run through the rounds
  // below on its own. Otherwise one stage of every path.
  let stages: readonly (Stage | undefined)[] = [undefined];
  // The `previous` of the current stage's first plan: no conflict or notice elsewhere.
  let stageStart: PlanFocus['previous'] | undefined;
  let localSorted: readonly string[] = [];
  if (staged) {
    lastScan = await ctx.tree.scan(manifest, ctx.isIgnored);
    const cut = await computeStages(lastScan.files.keys(), index.iterateStatePaths!(), Math.max(1, ctx.stagePaths ?? STAGE_PATHS));
    stages = cut.stages;
    localSorted = cut.local;
    ctx.onStageBoundary?.();
  }
  const stageNotes = new StageNotes();
  let stagesSettled = true;
  let maxRounds = 0;
  let nextLocal = 0;
  for (const stage of stages) {
    // A stage that folded everything planned every path: nothing is left for the others.
    if (staged && lazy === undefined) break;
    let stageFocus: PlanFocus | undefined;
    if (stage !== undefined) {
      const local: string[] = [];
      for (; nextLocal < localSorted.length && isInStage(localSorted[nextLocal]!, stage); nextLocal++) local.push(localSorted[nextLocal]!);
      // The stage's paths, and those of the ops the stage before left undone (it ended
      // without settling): they are planned again here.
      stageStart = { ops: lastPlan?.ops ?? [], conflicts: [], notices: [] };
      stageFocus = { previous: stageStart, dirty: await lazy!.loadRange(stage.from, stage.to, local) };
    }
    lastPlan = undefined;
    rounds = 0;
    for (; rounds < MAX_ROUNDS; rounds++) {
      // After a round, only the folders its local writes and deletes touched are listed again.
      // (The first scan of a lazy sync goes by the witness alone: the manifest rows it holds then,
      // the conflict copies', are the ones that scan saw.)
      const scan = lastScan === undefined ? await ctx.tree.scan(witnessBase ?? manifest, ctx.isIgnored) : await ctx.tree.rescan(lastScan, touched, scanBase, ctx.isIgnored);
      touched = [];
      const first = lastPlan === undefined;
      // A stage's first plan also takes what the rescan after the stage before found changed
      // (the user may have changed files of any stage meanwhile).
      if (first && stageFocus !== undefined && lastScan !== undefined && scan !== lastScan) stageFocus = { ...stageFocus, dirty: [...stageFocus.dirty, ...computeScanChanges(lastScan, scan)] };
      const plan = await planRound(scan, !first ? since({ plan: lastPlan!, scan: lastScan! }, scan) : stage !== undefined ? stageFocus : computeRecordFocus(ctx, record, fetched, scan));
      // The record's witness (~8 MB at 100k files) is not needed after the first plan, nor are
      // the fetched segments, which are in the index now (a dry run stops after this plan): let
      // them go.
      record = undefined;
      if (!dryRun) fetched = releaseFetchedSegments(fetched);
      if (first) {
        if (firstPlan === undefined) report.notices.push(...scan.notices);
        firstPlan ??= plan;
        report.notices.push(...plan.notices);
      }
      // Every round: a delete the user makes while a sync runs meets the same guards.
      checkGuards(plan, trackedCount(), scan.files.size, options);
      lastPlan = plan;
      lastScan = scan;
      if (plan.ops.length === 0 || dryRun) break;
      const published = report.eventsPublished;
      const skippedBefore = report.skipped.length;
      const committed = await executeInChunks(plan);
      touched = plan.ops.filter(isLocalOp).map((o) => o.path);
      lazy?.noteCommit(committed.put, committed.del);
      for (const p of committed.del) manifest.delete(p);
      for (const b of committed.put) manifest.set(b.path, b);
      // Another round is only needed to show what this round published (a fresh conflict's
      // winner and copies); without new events it would just retry what was skipped.
      if (report.eventsPublished === published) {
        rounds++;
        // Not executed, so nothing is retried: one more look (a rescan of the folders this round
        // touched, and a plan) only tells whether the folder is now clean, for the record below.
        if (report.skipped.length === skippedBefore) {
          const after = await ctx.tree.rescan(scan, touched, scanBase, ctx.isIgnored);
          const check = await planRound(after, since({ plan, scan }, after));
          if (check.ops.length === 0) {
            lastPlan = check;
            lastScan = after;
            touched = [];
          }
        }
        break;
      }
    }
    maxRounds = Math.max(maxRounds, rounds);
    if (staged && lazy !== undefined) {
      // What this stage's last plan says of its paths stands; then they are let go.
      stagesSettled &&= lastPlan!.ops.length === 0;
      stageNotes.take(lastPlan!, lazy.loaded);
      lazy.refreshCloudOnly(lazy.loaded, lastScan!);
      lazy.drop();
      ctx.onStageBoundary?.();
    }
  }
  rounds = maxRounds;
  // A sync in stages that never folded everything: its last plan covered one stage.
  const inStages = staged && lazy !== undefined;
  const settledPlan: Pick<Plan, 'ops' | 'conflicts' | 'notices'> | undefined =
    inStages && lastScan !== undefined
      ? { ops: stagesSettled ? [] : lastPlan!.ops, conflicts: stageNotes.conflicts(computeTwinConflicts(lastScan, new Map(), lazy!.cloudOnly)), notices: stageNotes.notices() }
      : lastPlan;

  // 3. Acknowledge: a sync that folded other clients' events its own log has not yet shown as
  // seen says so with an empty segment, so GC can learn that every active client has them.
  if (!dryRun && isAckDue(log.state.vault, identity.client)) {
    await publishOwnSegment(ctx, log, [], ctx.takeSnapshot ? await ctx.takeSnapshot() : null);
    report.segmentsPublished++;
    report.ackPublished = true;
  }
  // 3b. Checkpoint this client's own log once it has grown enough since the last one, so that
  // a new client reads that instead of the log (ADR-0014). It needs every path's state: a lazy
  // sync folds everything for it; a first sync in stages leaves it to a later sync.
  if (!dryRun && !inStages && (await checkOwnCheckpointDue(ctx, identity.client, fetched.fetched.fetchedEvents, ctx.checkpointEvery))) {
    if (lazy !== undefined) await foldEverything();
    report.checkpoint = await executeOwnCheckpoint(ctx, log);
  }

  // 4. Remember a state with nothing to do, so that the next sync can tell it is unchanged
  // without folding or planning (ADR-0008), or plan only what changed since (ADR-0009).
  // Written after everything else this sync wrote: any later change to the index deletes it
  // in the same batch.
  if (!dryRun) {
    const witness = lastScan?.witnessParts ?? lastScan?.witness;
    const faultless = log.faults.length === 0 && lateFaults.length === 0;
    const settled = settledPlan !== undefined && settledPlan.ops.length === 0 && witness !== undefined && faultless && ctx.scopeKey !== undefined;
    const record: CleanState<Uint8Array | ByteParts> | undefined = settled
      ? { v: 2, scope: ctx.scopeKey!, witness: witness!, conflicts: [...settledPlan!.conflicts], planNotices: [...settledPlan!.notices], scanNotices: [...lastScan!.notices], ...(await lazyBaseOf(lastScan!)) }
      : undefined;
    await index.commitBatch({ meta: { lastSyncAt: ctx.now().toISOString(), ...(record === undefined ? {} : { [CLEAN_STATE_KEY]: record }) } });
  }

  return {
    clean: false,
    lazy: lazyOpened !== undefined && lazy !== undefined,
    staged: inStages,
    plan: firstPlan!,
    rounds,
    ...report,
    applied: applied.kept,
    appliedCounts: applied.counts,
    appliedOmitted: applied.omitted,
    conflicts: settledPlan?.conflicts ?? [],
    faults: lateFaults.length === 0 ? log.faults : [...log.faults, ...lateFaults],
    restored: fetched.restored,
    fetchRequests: log.requests,
    joinedFromCheckpoint: log.joinedNow,
    dryRun,
  };

  /**
   * Leaves lazy mode: folds the whole index (which holds everything this sync fetched and
   * published) and reads the whole manifest (which holds every round's commit) into the maps
   * the sync works on. The vault state stays: it is already the full one.
   */
  async function foldEverything(): Promise<void> {
    ctx.onWorkingSet?.('large');
    const full = await foldFetchedLog(ctx, fetched, { dryRun });
    // (A lazy start had no fetch fault: any fault of the full fold is a checkpoint's.)
    lateFaults.push(...full.faults.filter((f) => !log.faults.includes(f)));
    projection.clear();
    for (const [p, st] of full.state.paths) projection.set(p, st);
    const rows = await index.getManifest();
    manifest.clear();
    for (const [p, b] of rows) manifest.set(p, b);
    lazy = undefined;
  }

  function trackedCount(): number {
    if (lazy !== undefined) return lazy.tracked;
    let n = 0;
    for (const b of manifest.values()) if (b.copyOf === undefined) n++;
    return n;
  }

  /**
   * What the next sync needs to start lazily, when this index can serve it: complete per-path
   * rows (an index made before collection rows gets them here, from this sync's full fold) and
   * no checkpoint below the log (its paths have no rows).
   */
  async function lazyBaseOf(scan: ScanResult): Promise<{ lazy?: LazyBase }> {
    if (lazy !== undefined) return { lazy: lazy.snapshot(log.state.vault, scan) };
    if (log.checkpoint !== undefined || index.readPathStates === undefined || index.canReadPathStates === undefined) return {};
    if (!(await index.canReadPathStates())) {
      await index.indexCollections?.(projection);
      if (!(await index.canReadPathStates())) return {};
    }
    return { lazy: computeLazyBase(log, manifest, scan) };
  }

  /** Publishes events as this client's next segment(s) and folds them into the projection. */
  async function publish(events: readonly Event[]): Promise<void> {
    if (events.length === 0) return;
    const snapshot = ctx.takeSnapshot ? await ctx.takeSnapshot() : null;
    for (let i = 0; i < events.length; i += MAX_EVENTS_PER_SEGMENT) {
      const seg = await publishOwnSegment(ctx, log, events.slice(i, i + MAX_EVENTS_PER_SEGMENT), snapshot);
      report.segmentsPublished++;
      report.eventsPublished += seg.body.events.length;
    }
  }

  /** Writer rule (ii) of ADR-0007: content a GC is collecting is not named until it is gone. */
  function isBeingCollected(hash: string): boolean {
    return computeBlobBanNow(log, hash as ContentHash, ctx.now().getTime()) !== undefined;
  }

  /** `bm-log resolve`: one resolve event replacing every head of the path. */
  async function publishResolve(request: ResolveRequest): Promise<void> {
    const st = projection.get(request.path);
    const heads = st ? computeHeads(st) : [];
    // A file a folder displaces is a conflict with one head too (ADR-0016): PATH is then the folder.
    const displaced = heads[0]?.content != null && computeLiveFolders(projection).has(request.path);
    if (heads.length < 2 && !displaced) throw new BmError(ErrorCode.usage, `${request.path} has no open conflict`, 'see `bm-log conflicts`');
    let content: ContentRef | null;
    if (request.keep === 'local') {
      const file = await ctx.tree.statFile(request.path);
      if (file === undefined) {
        content = null;
      } else {
        if (isBeingCollected(file.hash)) throw new BmError(ErrorCode.staleFetch, `the bytes of ${request.path} are being garbage-collected on the remote`, `nothing was published; ${BEING_COLLECTED}`);
        await writeBlob(store, { size: file.size, sha256: file.hash, open: () => openUploadSource(ctx.tree, file.path, file.size) });
        content = { hash: file.hash as ContentRef['hash'], size: file.size, mode: file.mode };
      }
    } else {
      const keep = request.keep.toUpperCase();
      const matches = [...(st?.versions.values() ?? [])].filter((v) => v.id === keep || v.id.endsWith(keep));
      if (matches.length !== 1) throw new BmError(ErrorCode.usage, `${matches.length === 0 ? 'no' : 'more than one'} version of ${request.path} matches ${request.keep}`, 'use a version id (or its last 8 characters) from `bm-log conflicts`');
      content = matches[0]!.content;
      // An old version's content may have been collected by GC since: never name a missing blob.
      if (content !== null && (isBeingCollected(content.hash) || (await store.head(keyOfBlob(content.hash))) === undefined)) {
        throw new BmError(ErrorCode.usage, `the content of version ${matches[0]!.id} of ${request.path} is no longer on the remote (collected)`, 'nothing was published; keep one of the versions `bm-log conflicts` lists');
      }
    }
    await publish([{ type: 'resolve', id: ctx.newId() as VersionId, path: request.path, replaces: heads.map((h) => h.id), content }]);
  }

  /** `bm-log restore`: new versions carrying old content, replacing what is there now. */
  async function publishRestore(requests: readonly RestoreRequest[]): Promise<void> {
    const events: Event[] = [];
    for (const r of requests) {
      const st = projection.get(r.path);
      const heads = st ? computeHeads(st) : [];
      const replaces = heads.map((h) => h.id);
      if (r.content === null) {
        if (heads.some((h) => h.content !== null)) events.push({ type: 'tombstone', id: ctx.newId() as VersionId, path: r.path, replaces });
        continue;
      }
      if (heads.length === 1 && heads[0]!.content?.hash === r.content.hash && heads[0]!.content.mode === r.content.mode) continue;
      // The content must still exist: a restore may never publish an event naming a missing blob.
      if (isBeingCollected(r.content.hash) || (await store.head(keyOfBlob(r.content.hash))) === undefined) {
        throw new BmError(ErrorCode.blobMissing, `the content of ${r.path} at that point (${r.content.hash}) is no longer on the remote`, 'nothing was restored; pick a later point (see `bm-log log PATH`)');
      }
      events.push({ type: 'put', id: ctx.newId() as VersionId, path: r.path, replaces, content: r.content });
    }
    await publish(events);
  }

  /** Carries out one round's plan; returns the manifest changes it committed. */
  /**
   * Carries out `plan` a chunk at a time (`SyncContext.chunkOps`), each chunk's blobs, events
   * and local writes followed by its own manifest commit, so that what one chunk built can be
   * let go before the next. Every op of a path is in the chunk of its first op, so a path's
   * rows are committed once, as `executeRound` would commit them. A crash between chunks
   * leaves the earlier chunks published and committed: the next sync finds the rest as it
   * finds a round cut short.
   */
  async function executeInChunks(plan: Plan): Promise<{ put: readonly BaseEntry[]; del: readonly SyncPath[] }> {
    const size = Math.max(1, ctx.chunkOps ?? CHUNK_OPS);
    if (plan.ops.length <= size) return executeRound(plan);
    const chunks: PlanOp[][] = [[]];
    const chunkOf = new Map<string, PlanOp[]>();
    for (const op of plan.ops) {
      let chunk = chunkOf.get(op.path);
      if (chunk === undefined) {
        if (chunks.at(-1)!.length >= size) chunks.push([]);
        chunk = chunks.at(-1)!;
        chunkOf.set(op.path, chunk);
      }
      chunk.push(op);
    }
    const put: BaseEntry[] = [];
    const del: SyncPath[] = [];
    const progress = { done: 0, total: plan.ops.filter(isLocalOp).length };
    for (const ops of chunks) {
      const done = await executeRound({ ...plan, ops }, progress);
      put.push(...done.put);
      del.push(...done.del);
    }
    return { put, del };
  }

  async function executeRound(plan: Plan, progress?: { done: number; readonly total: number }): Promise<{ put: readonly BaseEntry[]; del: readonly SyncPath[] }> {
    const put: BaseEntry[] = [];
    const del: SyncPath[] = [];
    const skip = (op: PlanOp, detail: string, code?: ErrorCode): void => {
      report.skipped.push({ path: op.path, op: op.kind, detail, ...(code === undefined ? {} : { code }) });
    };

    // a. Blobs first: an event may only name content that is already on the remote.
    const publishable: PlanOp[] = [];
    const uploads = plan.ops.filter((o) => o.kind === 'upload' || (o.kind === 'resolve' && o.file !== null));
    const uploaded = await mapLimit(uploads, concurrency, async (op) => {
      const file = op.kind === 'upload' ? op.file : op.kind === 'resolve' ? op.file : null;
      if (file === null) return true;
      if (isBeingCollected(file.hash)) {
        skip(op, BEING_COLLECTED);
        report.notices.push({ path: op.path, reason: NoticeReason.beingCollected, detail: BEING_COLLECTED });
        return false;
      }
      try {
        const r = await writeBlob(store, { size: file.size, sha256: file.hash, open: () => openUploadSource(ctx.tree, file.path, file.size) });
        if (r === 'created') {
          report.blobsUploaded++;
          report.bytesUploaded += file.size;
        }
        return true;
      } catch (e) {
        if (isBmError(e, ErrorCode.localIo)) {
          skip(op, 'changed or unreadable while uploading; left for the next sync');
          return false;
        }
        throw e;
      }
    });
    const failedUploads = new Set(uploads.filter((_, i) => !uploaded[i]));
    for (const op of plan.ops) if ((op.kind === 'upload' || op.kind === 'tombstone' || op.kind === 'resolve') && !failedUploads.has(op)) publishable.push(op);

    // b. One segment (or a few, past the size limit) carrying this round's events.
    const newVersion = new Map<PlanOp, VersionId>();
    const events: Event[] = publishable.map((op) => {
      const id = ctx.newId() as VersionId;
      newVersion.set(op, id);
      switch (op.kind) {
        case 'upload':
          return { type: 'put', id, path: op.path, replaces: [...op.replaces], content: { hash: op.file.hash as never, size: op.file.size, mode: op.file.mode } };
        case 'tombstone':
          return { type: 'tombstone', id, path: op.path, replaces: [...op.replaces] };
        case 'resolve':
          return { type: 'resolve', id, path: op.path, replaces: [...op.replaces], content: op.file ? { hash: op.file.hash as never, size: op.file.size, mode: op.file.mode } : null };
        default:
          throw new BmError(ErrorCode.internal, `not a publishing op: ${op.kind}`);
      }
    });
    await publish(events);
    const headIds = (p: SyncPath) => {
      const st = projection.get(p);
      return st ? computeHeads(st).map((h) => h.id) : [];
    };
    for (const op of publishable) {
      applied.push(op);
      const id = newVersion.get(op)!;
      if (op.kind === 'upload') put.push(baseFromFile(op.file, headIds(op.path), id));
      else if (op.kind === 'resolve' && op.file) put.push(baseFromFile(op.file, headIds(op.path), id));
      else del.push(op.path);
    }

    // c. Local writes and deletes, each guarded against changes since the scan. Deletes first:
    // a file a folder displaces is moved aside before the folder's files are written (ADR-0016).
    const local = plan.ops.filter(isLocalOp);
    const removals = local.filter((o) => o.kind === 'deleteLocal' || o.kind === 'removeCopy');
    const writes = local.filter((o) => o.kind === 'download' || o.kind === 'writeCopy');
    // Progress counts over the whole round when it runs in chunks.
    const counter = progress ?? { done: 0, total: local.length };
    const applyLocal = async (op: (typeof local)[number]): Promise<void> => {
      try {
        switch (op.kind) {
          case 'download':
          case 'writeCopy': {
            const content = op.version.content!;
            const expect = op.kind === 'download' ? op.expect : null;
            const r = await ctx.tree.writeFile(op.path, await readBlob(store, content.hash, content.size), content.hash, content.mode, expect);
            if (r === 'changed') return skip(op, 'changed locally since the scan; left as it is, will sync next time');
            report.bytesDownloaded += content.size;
            put.push(op.kind === 'download' ? baseFromFile(r, headIds(op.path), op.version.id) : baseFromFile(r, [op.version.id], op.version.id, { path: op.of, version: op.version.id }));
            break;
          }
          case 'deleteLocal':
          case 'removeCopy': {
            const r = await ctx.tree.removeFile(op.path, op.expect);
            if (r === 'changed') return skip(op, 'changed locally since the scan; not deleted, will sync as an edit');
            del.push(op.path);
            break;
          }
          default:
            unreachable(op);
        }
        applied.push(op);
      } catch (e) {
        const skippable = isBmError(e, ErrorCode.blobCorrupt, ErrorCode.blobMissing, ErrorCode.localIo, ErrorCode.badPath);
        if (skippable) return skip(op, `${e.message}; ${e.hint}`, e.code);
        throw e;
      } finally {
        ctx.onProgress?.(++counter.done, counter.total);
      }
    };
    await mapLimit(removals, concurrency, applyLocal);
    await mapLimit(writes, concurrency, applyLocal);

    // d. Bookkeeping.
    for (const op of plan.ops) {
      switch (op.kind) {
        case 'record':
          put.push(baseFromFile(op.file, op.heads, op.version, op.copyOf ? { path: op.copyOf, version: op.version } : undefined));
          applied.push(op);
          break;
        case 'forget':
          del.push(op.path);
          applied.push(op);
          break;
        case 'upload':
        case 'tombstone':
        case 'resolve':
        case 'download':
        case 'writeCopy':
        case 'deleteLocal':
        case 'removeCopy':
          break;
        default:
          unreachable(op);
      }
    }
    const putPaths = new Set(put.map((b) => b.path));
    const committed = { put, del: [...new Set(del)].filter((p) => !putPaths.has(p)) };
    await index.commitBatch({ manifestPut: committed.put, manifestDel: committed.del, meta: { lastSyncAt: ctx.now().toISOString() } });
    return committed;
  }
}

/** The report of a sync that found nothing new since a sync that ended with nothing to do. */
function cleanReport(clean: CleanState, fetchRequests: number, dryRun: boolean): SyncReport {
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

function checkGuards(plan: Plan, tracked: number, localCount: number, options: SyncOptions): void {
  if (options.force) return;
  if (localCount === 0 && tracked > 0) {
    throw new BmError(ErrorCode.safetyGuard, `the sync folder is empty, but ${tracked} files were synced from it before`, 'refusing to delete them for everyone; if you really emptied the folder, run again with --force', { tracked });
  }
  const tombstones = plan.ops.filter((o) => o.kind === 'tombstone').length;
  if (tombstones === 0) return;
  const limit = options.maxDelete;
  const overAbsolute = tombstones > (limit ?? DEFAULT_MAX_DELETE);
  const overRatio = limit === undefined && tracked >= MIN_TRACKED_FOR_RATIO && tombstones > tracked * DEFAULT_MAX_DELETE_RATIO;
  if (overAbsolute || overRatio) {
    throw new BmError(
      ErrorCode.safetyGuard,
      `this sync would delete ${tombstones} of ${tracked} files for everyone (limit: ${limit ?? `${DEFAULT_MAX_DELETE} or ${DEFAULT_MAX_DELETE_RATIO * 100}%`})`,
      'nothing was published; check with `bm-log sync --dry-run`, then raise --max-delete or use --force',
      { tombstones, tracked },
    );
  }
}
