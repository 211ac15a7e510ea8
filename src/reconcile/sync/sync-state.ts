import type { LogFault } from '../../events/log.js';
import type { SyncPath } from '../../events/sync-path.js';
import type { Projection } from '../../projections/project-paths.js';
import { hasUncheckedCheckpoints } from '../check-checkpoints.js';
import type { CleanState, LazyBase } from '../clean-state.js';
import { computeLazyBase, LazyPaths, namesCondemnedBlob } from '../lazy-state.js';
import { computeFocusTargets, computeTwinConflicts, isFocusPlannable, type Plan, type PlanFocus, type PlanInput } from '../plan-sync.js';
import type { BaseEntry, LocalScan, ScanBase, ScanResult } from '../ports.js';
import { computeStages, isInStage, STAGE_PATHS, StageNotes, type Stage } from '../staged-sync.js';
import type { SyncContext } from '../sync-context.js';
import { foldFetchedLog, releaseFetchedSegments, type FetchedLog, type OpenLog } from '../sync-log.js';
import type { PathFollow } from '../path-follow.js';
import type { PathMerge } from '../path-merge.js';
import type { LocalMove } from '../plan.js';
import type { Committed } from './execute-plan.js';

/*
 * The open-state stage and the modes (ADR-0023). A sync holds the log's paths and the manifest
 * in one of three ways, each a strategy object:
 * - `FullMode`: everything folded and read (the default, and where the others end up when
 *   they must see everything: `SyncState.foldEverything`);
 * - `PathsMode` 'lazy' (focused, ADR-0009): only the paths its focused plans look at, read from
 *   the index's per-path rows as needed, from the clean-state record's base;
 * - `StagedMode` (a first sync in stages, ADR-0011): a range of paths at a time.
 * The clean-state shortcut (ADR-0008) never opens the state at all (see fetch.ts).
 */

/** What a plan is made from beyond the base, the scan and the projection. */
export interface PlanScope {
  readonly cloudOnly?: ReadonlySet<string>;
}

/** How a sync holds the paths it plans. */
export interface SyncMode {
  readonly kind: 'full' | 'lazy' | 'staged';
  /**
   * Loads what a plan of `local` with `focus` needs: the plan's scope, or 'fold' when only a
   * plan from everything can be trusted.
   */
  preparePlan(state: SyncState, local: ScanResult, focus: PlanFocus | undefined): Promise<PlanScope | 'fold'>;
  /** True when `plan` must be made again from everything (it names content some GC condemned). */
  needsFullPlan(state: SyncState, plan: Plan): boolean;
  /** Manifest rows that are not conflict copies (the delete guards use it). */
  tracked(state: SyncState): number;
  /** Takes an execution's manifest commit into account; called before it is applied to the manifest. */
  noteCommit(committed: Committed): void;
  /** What the next sync needs to start lazily, when this index can serve it. */
  lazyBase(state: SyncState, scan: ScanResult): Promise<LazyBase | undefined>;
}

/** Everything folded and read. */
export class FullMode implements SyncMode {
  readonly kind = 'full';

  async preparePlan(): Promise<PlanScope> {
    return {};
  }

  needsFullPlan(): boolean {
    return false;
  }

  tracked(state: SyncState): number {
    let n = 0;
    for (const b of state.manifest.values()) if (b.copyOf === undefined) n++;
    return n;
  }

  noteCommit(): void {}

  /**
   * Complete per-path rows (an index made before collection rows gets them here, from this
   * sync's full fold) and no checkpoint below the log (its paths have no rows).
   */
  async lazyBase(state: SyncState, scan: ScanResult): Promise<LazyBase | undefined> {
    const { index } = state.ctx;
    if (state.log.checkpoint !== undefined || index.readPathStates === undefined || index.canReadPathStates === undefined) return undefined;
    if (!(await index.canReadPathStates())) {
      await index.indexCollections?.(state.projection);
      if (!(await index.canReadPathStates())) return undefined;
    }
    return computeLazyBase(state.log, state.manifest, scan);
  }
}

/** Only the paths the plans look at, loaded as needed (`LazyPaths`). */
export class PathsMode implements SyncMode {
  constructor(
    readonly kind: 'lazy' | 'staged',
    readonly paths: LazyPaths,
  ) {}

  async preparePlan(state: SyncState, local: ScanResult, focus: PlanFocus | undefined): Promise<PlanScope | 'fold'> {
    const targets = focus === undefined ? undefined : computeFocusTargets(focus, state.manifest, local);
    if (targets === undefined || !this.paths.isWorthLoading(targets)) return 'fold';
    await this.paths.load(targets);
    this.paths.refreshCloudOnly(targets, local);
    const cloudOnly = this.paths.cloudOnly;
    // A file/folder clash reaches past the focus (ADR-0016): plan it from everything.
    const input = {
      base: state.manifest,
      local,
      cloud: state.projection,
      options: state.planOptions,
      ...(focus === undefined ? {} : { focus }),
      cloudOnly,
    };
    return isFocusPlannable(input, (p) => this.paths.hidesBelow(p)) ? { cloudOnly } : 'fold';
  }

  needsFullPlan(state: SyncState, plan: Plan): boolean {
    return namesCondemnedBlob(plan, state.log.state.vault);
  }

  tracked(): number {
    return this.paths.tracked;
  }

  noteCommit(committed: Committed): void {
    this.paths.noteCommit(committed.put, committed.del);
  }

  async lazyBase(state: SyncState, scan: ScanResult): Promise<LazyBase> {
    return this.paths.snapshot(state.log.state.vault, scan);
  }
}

/** A first sync in stages: the paths of one range of the scan's and the log's paths at a time. */
export class StagedMode extends PathsMode {
  private readonly notes = new StageNotes();
  private settled = true;
  private localSorted: readonly string[] = [];
  private nextLocal = 0;

  constructor(paths: LazyPaths) {
    super('staged', paths);
  }

  /** Cuts the stages from the first scan and the paths the index's events name. */
  async computeStages(ctx: Pick<SyncContext, 'index' | 'stagePaths'>, scan: ScanResult): Promise<readonly Stage[]> {
    const cut = await computeStages(scan.files.keys(), ctx.index.iterateStatePaths!(), Math.max(1, ctx.stagePaths ?? STAGE_PATHS));
    this.localSorted = cut.local;
    return cut.stages;
  }

  /**
   * Loads a stage's paths; returns the focus of its first plan: the stage's paths and those of
   * the ops the stage before left undone (`undone`: it ended without settling).
   */
  async openStage(stage: Stage, undone: Plan['ops']): Promise<PlanFocus> {
    const local: string[] = [];
    const sorted = this.localSorted;
    for (; this.nextLocal < sorted.length && isInStage(sorted[this.nextLocal]!, stage); this.nextLocal++)
      local.push(sorted[this.nextLocal]!);
    return { previous: { ops: undone, conflicts: [], notices: [] }, dirty: await this.paths.loadRange(stage.from, stage.to, local) };
  }

  /** What a stage's last plan says of its paths stands; then they are let go. */
  closeStage(last: Plan, scan: ScanResult): void {
    this.settled &&= last.ops.length === 0;
    this.notes.take(last, this.paths.loaded);
    this.paths.refreshCloudOnly(this.paths.loaded, scan);
    this.paths.drop();
  }

  /** The plan the stages settled on together (as one plan of every path would say it). */
  computeSettledPlan(last: Plan, scan: LocalScan): Pick<Plan, 'ops' | 'conflicts' | 'notices'> {
    const conflicts = this.notes.conflicts(computeTwinConflicts(scan, new Map(), this.paths.cloudOnly));
    return { ops: this.settled ? [] : last.ops, conflicts, notices: this.notes.notices() };
  }
}

/**
 * The working state of one sync after its state is opened: the log, the manifest (all of it,
 * or the rows its mode loaded; each execution's commit is applied to it in memory as to the
 * index), the mode, and the fetch (whose segments are let go once they are in the index).
 */
export class SyncState {
  /** Faults a later full fold found (other writers' checkpoints its log does not support). */
  readonly lateFaults: LogFault[] = [];
  readonly planOptions: PlanInput['options'];
  /** This client's detached own versions (`PlanOptions.detached`): loaded when the sync opens, added to as it publishes them. */
  readonly detachedOwn = new Set<string>();
  /** The merge stage's outcomes by path (ADR-0020), each for the heads it was made for. */
  readonly merges = new Map<string, PathMerge>();
  /** The move stage's outcomes (ADR-0020): the moves made here, by both paths; the edits sent on to a new path, by old path. */
  readonly moves = new Map<string, LocalMove>();
  readonly follows = new Map<string, PathFollow>();

  constructor(
    readonly ctx: SyncContext,
    readonly dryRun: boolean,
    readonly log: OpenLog,
    readonly manifest: Map<SyncPath, BaseEntry>,
    public mode: SyncMode,
    public fetched: FetchedLog,
    /** The mode the sync opened in. */
    readonly openedAs: SyncMode['kind'],
  ) {
    const names = log.names;
    const clientName = (c: string) => names.get(c) ?? c.slice(-6);
    const self = ctx.identity.client;
    this.planOptions = { subscriptions: ctx.subscriptions, isIgnored: ctx.isIgnored, clientName, self, detached: this.detachedOwn };
  }

  get projection(): Projection {
    return this.log.state.paths;
  }

  /**
   * Leaves a lazy or staged mode: folds the whole index (which holds everything this sync
   * fetched and published) and reads the whole manifest (which holds every commit) into the
   * maps the sync works on. The vault state stays: it is already the full one.
   */
  async foldEverything(): Promise<void> {
    this.ctx.onWorkingSet?.('large');
    const full = await foldFetchedLog(this.ctx, this.fetched, { dryRun: this.dryRun });
    // (A lazy start had no fetch fault: any fault of the full fold is a checkpoint's.)
    this.lateFaults.push(...full.faults.filter((f) => !this.log.faults.includes(f)));
    this.projection.clear();
    for (const [p, st] of full.state.paths) this.projection.set(p, st);
    const rows = await this.ctx.index.getManifest();
    this.manifest.clear();
    for (const [p, b] of rows) this.manifest.set(p, b);
    this.mode = new FullMode();
  }

  /** Applies an execution's manifest commit to the manifest in memory. */
  applyCommit(committed: Committed): void {
    this.mode.noteCommit(committed);
    for (const p of committed.del) this.manifest.delete(p);
    for (const b of committed.put) this.manifest.set(b.path, b);
  }
}

/** The opened state, and where its scans take hashes from. */
export interface OpenedState {
  readonly state: SyncState;
  /** The base of the sync's first full scan (a lazy sync's: the record's witnessed scan). */
  readonly firstScanBase: ScanBase;
  /** The base of every rescan. */
  readonly scanBase: (lastScan: () => ScanResult | undefined) => ScanBase;
}

/**
 * The open-state stage: projects every verified event (full), or only those of the paths the
 * focused plans look at, read as they are needed (lazy, from the clean-state record), or those
 * of one range of paths at a time (staged: a first sync, not one that publishes a resolve or
 * restore).
 */
export async function openSyncState(
  ctx: SyncContext,
  record: CleanState | undefined,
  fetched: FetchedLog,
  o: { dryRun: boolean; publishing: boolean },
): Promise<OpenedState> {
  // A vault with members folds everything (ADR-0021): the per-path rows the lazy and staged
  // modes read hold every event, counted or not, and a member change can void events already there.
  const members = fetched.root !== undefined;
  const lazy = members ? undefined : await LazyPaths.open(ctx, record, fetched, o.dryRun);
  const staged = lazy === undefined && !o.publishing && !members ? await LazyPaths.openStaged(ctx, fetched, o.dryRun) : undefined;
  if (staged !== undefined) {
    // The fetched segments are in the index and the vault state is folded: let them go.
    const state = new SyncState(
      ctx,
      o.dryRun,
      staged.log,
      staged.manifest,
      new StagedMode(staged.lazy),
      releaseFetchedSegments(fetched),
      'staged',
    );
    // The rows of earlier stages are let go: a rescan reuses the last scan's hashes.
    const scanBase = (last: () => ScanResult | undefined): ScanBase => ({
      get: (p) => state.manifest.get(p as SyncPath) ?? last()?.files.get(p as SyncPath),
    });
    return { state, firstScanBase: state.manifest, scanBase };
  }
  if (lazy === undefined) {
    ctx.onWorkingSet?.('large');
    const log = await foldFetchedLog(ctx, fetched, { dryRun: o.dryRun });
    const state = new SyncState(ctx, o.dryRun, log, await ctx.index.getManifest(), new FullMode(), fetched, 'full');
    return { state, firstScanBase: state.manifest, scanBase: () => state.manifest };
  }
  const state = new SyncState(ctx, o.dryRun, lazy.log, lazy.manifest, new PathsMode('lazy', lazy.lazy), fetched, 'lazy');
  // A client with the whole history checks every new writer checkpoint against it (ADR-0014):
  // a lazy sync that finds one folds everything first.
  if (!o.dryRun && (await hasUncheckedCheckpoints(ctx.store, ctx.index, fetched.fetched.cursors))) await state.foldEverything();
  // A lazy sync has not read the manifest: the scan reuses the hashes of files the record's
  // scan returned with the same stats (the manifest rows it holds, loaded or committed, first).
  const witnessBase = state.mode.kind === 'lazy' ? ctx.tree.witnessBase(record!.witness) : undefined;
  if (witnessBase === undefined) {
    if (state.mode.kind === 'lazy') await state.foldEverything();
    return { state, firstScanBase: state.manifest, scanBase: () => state.manifest };
  }
  const scanBase: ScanBase = {
    get: (p) =>
      state.mode.kind === 'lazy' ? (state.manifest.get(p as SyncPath) ?? witnessBase.get(p)) : state.manifest.get(p as SyncPath),
  };
  return { state, firstScanBase: witnessBase, scanBase: () => scanBase };
}
