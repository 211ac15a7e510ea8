import { compareUtf8, type SyncPath } from '../events/sync-path.js';
import type { Projection } from '../projections/project-paths.js';
import { decodeVaultState, encodeVaultState } from '../projections/project-vault.js';
import type { BaseEntry } from './ports.js';
import type { CleanState, LazyBase } from './clean-state.js';
import type { LocalScan } from './ports.js';
import { isCloudOnly, type Plan } from './plan-sync.js';
import type { SyncIndex } from './ports.js';
import { holdsFetchedSegments, openLazyLog, openStagedLog, type FetchedLog, type LogContext, type OpenLog } from './sync-log.js';

type PointReads = Required<Pick<SyncIndex, 'readPathStates' | 'getManifestEntries'>> &
  Pick<SyncIndex, 'releaseMappedTables' | 'readPathRange'>;

/**
 * A load reads its paths in chunks of this many at least, and at most four chunks, each
 * followed by `releaseMappedTables`: scattered reads of a few hundred paths map most of the
 * index's tables (~23 MB at 100k files). A load of fewer paths reads them at once and keeps
 * the mappings (a few MB at most).
 */
const LOAD_CHUNK = 100;

/**
 * A first sync in stages lets go of the index's mapped tables before every this many
 * stages it reads (and before its first, after the key scan of the whole history): its
 * range reads and the compactions of its commits map table after table, up to ~30 MB more
 * RSS in a 100k-file first sync. A reopen took 22-51 ms there (25 of them: 0.3 s in all).
 */
const RELEASE_EVERY_RANGES = 2;

/** Loads of more paths than this (or 2% of the tracked files) fold everything instead. */
const LAZY_MAX_PATHS = 1000;

/**
 * The state of a lazy sync (ADR-0009): the log's paths and the manifest hold only the paths
 * its focused plans look at, read from the index's per-path rows as they are needed, plus
 * what the clean-state record kept of the rest (every conflict copy row, the number of
 * tracked rows, the cloud-only paths for twin checks, the vault state).
 */
export class LazyPaths {
  /** Paths whose manifest row and cloud state are loaded (present or known to be absent). */
  private readonly known = new Set<string>();
  /** PlanInput.cloudOnly, kept up to date for the loaded paths. */
  readonly cloudOnly: Set<string>;
  /** Manifest rows that are not conflict copies. */
  tracked: number;
  /** Ranges read (`loadRange`). */
  private ranges = 0;
  /** The end of the last range read (a stage's), past which nothing is loaded yet. */
  private rangeEnd: string | undefined;

  private constructor(
    private readonly index: PointReads,
    base: Pick<LazyBase, 'cloudOnly' | 'tracked'>,
    private readonly manifest: Map<SyncPath, BaseEntry>,
    private readonly paths: Projection,
  ) {
    this.cloudOnly = new Set(base.cloudOnly);
    this.tracked = base.tracked;
  }

  /**
   * A first sync in stages (ADR-0011), when this index can serve one: no manifest row yet
   * (so nothing to tombstone: the delete guards need every path at once), per-path rows that
   * are complete, and a fetch that neither failed nor joined from a checkpoint; not a dry run
   * (its fetched segments are not in the index). The log holds the vault state and no path;
   * `loadRange` reads each stage's. Otherwise undefined.
   */
  static async openStaged(
    ctx: LogContext,
    fetched: FetchedLog,
    dryRun: boolean,
  ): Promise<{ log: OpenLog; manifest: Map<SyncPath, BaseEntry>; lazy: LazyPaths } | undefined> {
    const { index } = ctx;
    if (dryRun || fetched.faults.length > 0 || fetched.joinedNow || fetched.checkpointBytes !== undefined) return undefined;
    if (index.readPathStates === undefined || index.getManifestEntries === undefined || index.canReadPathStates === undefined)
      return undefined;
    if (index.readPathRange === undefined || index.iterateStatePaths === undefined || index.hasManifestRows === undefined) return undefined;
    if (!(await index.canReadPathStates()) || (await index.hasManifestRows())) return undefined;
    const log = await openStagedLog(ctx, fetched);
    const manifest = new Map<SyncPath, BaseEntry>();
    return { log, manifest, lazy: new LazyPaths(pointReadsOf(index), { cloudOnly: [], tracked: 0 }, manifest, log.state.paths) };
  }

  /**
   * Loads the states and manifest rows of every path in [from, to) (a stage), and takes
   * `local` (the stage's local files) as known too; returns the stage's paths.
   */
  async loadRange(from: string | undefined, to: string | undefined, local: readonly string[]): Promise<Set<string>> {
    if (this.ranges++ % RELEASE_EVERY_RANGES === 0) await this.index.releaseMappedTables?.();
    this.rangeEnd = to;
    const { states, rows } = await this.index.readPathRange!(from, to);
    const paths = new Set<string>(local);
    for (const [p, row] of rows) {
      this.manifest.set(p, row);
      paths.add(p);
    }
    for (const [p, st] of states) {
      this.paths.set(p, st);
      paths.add(p);
    }
    for (const p of paths) this.known.add(p);
    return paths;
  }

  /**
   * True when paths below the folder `p` (`p/...`) may lie past the range last read, so that
   * they are not loaded yet: the range ends between `p` and `p0` ('0' follows '/').
   */
  hidesBelow(p: string): boolean {
    const end = this.rangeEnd;
    return end !== undefined && compareUtf8(p, end) < 0 && compareUtf8(end, `${p}0`) < 0;
  }

  /** The paths loaded so far. */
  get loaded(): ReadonlySet<string> {
    return this.known;
  }

  /**
   * Lets go of every loaded path (their states and manifest rows, conflict copies' rows
   * aside), as after a stage: a later load reads them again from the index.
   */
  drop(): void {
    for (const p of this.known) {
      if (this.manifest.get(p as SyncPath)?.copyOf === undefined) this.manifest.delete(p as SyncPath);
    }
    this.paths.clear();
    this.known.clear();
  }

  /**
   * A lazy start, when the record allows one: it carries the lazy base, the index can serve
   * complete per-path rows, and the fetch neither failed nor joined from a checkpoint (a dry
   * run, whose fetched segments are not in the index, always folds). Otherwise undefined.
   */
  static async open(
    ctx: LogContext,
    record: CleanState | undefined,
    fetched: FetchedLog,
    dryRun: boolean,
  ): Promise<{ log: OpenLog; manifest: Map<SyncPath, BaseEntry>; lazy: LazyPaths } | undefined> {
    const { index } = ctx;
    const base = record?.lazy;
    // (It folds the fetched segments into the record's vault state: they must be at hand.)
    if (
      base === undefined ||
      dryRun ||
      fetched.faults.length > 0 ||
      fetched.joinedNow ||
      fetched.checkpointBytes !== undefined ||
      !holdsFetchedSegments(fetched)
    )
      return undefined;
    if (index.readPathStates === undefined || index.getManifestEntries === undefined || index.canReadPathStates === undefined)
      return undefined;
    const vault = decodeVaultState(base.vault);
    if (vault === undefined || !(await index.canReadPathStates())) return undefined;
    const log = openLazyLog(ctx, fetched, vault);
    const manifest = new Map<SyncPath, BaseEntry>(base.copies.map((b) => [b.path, b]));
    return { log, manifest, lazy: new LazyPaths(pointReadsOf(index), base, manifest, log.state.paths) };
  }

  /**
   * Whether reading `targets` path by path beats folding everything: true for up to 1,000
   * paths not loaded yet, or 2% of the tracked files where that is more. Per-path reads cost
   * ~0.4 ms a path (two range reads and a point read each); a catch-up of 3,000 changes at
   * 10k files took 3.5 s and 260 MB that way, against 2.9-3.1 s and 185-196 MB folded in full.
   */
  isWorthLoading(targets: Iterable<string>): boolean {
    let n = 0;
    for (const p of targets) if (!this.known.has(p)) n++;
    return n <= Math.max(LAZY_MAX_PATHS, this.tracked / 50);
  }

  /** Reads the manifest rows and cloud states of `targets` not loaded yet. */
  async load(targets: Iterable<string>): Promise<void> {
    const missing = [...targets].filter((p) => !this.known.has(p)) as SyncPath[];
    if (missing.length === 0) return;
    const size = Math.max(LOAD_CHUNK, Math.ceil(missing.length / 4));
    for (let i = 0; i < missing.length; i += size) {
      const chunk = missing.slice(i, i + size);
      const [rows, states] = await Promise.all([this.index.getManifestEntries(chunk), this.index.readPathStates(chunk)]);
      if (missing.length >= LOAD_CHUNK) await this.index.releaseMappedTables?.();
      for (const p of chunk) {
        const row = rows.get(p);
        if (row !== undefined) this.manifest.set(p, row);
        const st = states.get(p);
        if (st !== undefined) this.paths.set(p, st);
        this.known.add(p);
      }
    }
  }

  /** Re-decides cloud-only membership of `paths` (loaded) against `scan` and the paths now. */
  refreshCloudOnly(paths: Iterable<string>, scan: LocalScan): void {
    for (const p of paths) {
      if (isCloudOnly(p as SyncPath, this.paths.get(p as SyncPath), scan)) this.cloudOnly.add(p);
      else this.cloudOnly.delete(p);
    }
  }

  /** Counts a round's manifest commit into `tracked`; call before applying it to the manifest. */
  noteCommit(put: readonly BaseEntry[], del: readonly SyncPath[]): void {
    const isTracked = (b: BaseEntry | undefined) => (b !== undefined && b.copyOf === undefined ? 1 : 0);
    for (const b of put) this.tracked += isTracked(b) - isTracked(this.manifest.get(b.path));
    for (const p of del) this.tracked -= isTracked(this.manifest.get(p));
  }

  /** The lazy base for the record of this sync, whose last plan was made on `scan`. */
  snapshot(vault: OpenLog['state']['vault'], scan: LocalScan): LazyBase {
    this.refreshCloudOnly(this.known, scan);
    return { vault: encodeVaultState(vault), copies: computeCopies(this.manifest), tracked: this.tracked, cloudOnly: [...this.cloudOnly] };
  }
}

function pointReadsOf(index: SyncIndex): PointReads {
  return {
    readPathStates: index.readPathStates!.bind(index),
    getManifestEntries: index.getManifestEntries!.bind(index),
    ...(index.releaseMappedTables === undefined ? {} : { releaseMappedTables: index.releaseMappedTables.bind(index) }),
    ...(index.readPathRange === undefined ? {} : { readPathRange: index.readPathRange.bind(index) }),
  };
}

/** The lazy base of a sync that folded everything (its last plan made on `scan`). */
export function computeLazyBase(log: OpenLog, manifest: ReadonlyMap<SyncPath, BaseEntry>, scan: LocalScan): LazyBase {
  const cloudOnly: string[] = [];
  for (const [p, st] of log.state.paths) if (isCloudOnly(p, st, scan)) cloudOnly.push(p);
  let tracked = 0;
  for (const b of manifest.values()) if (b.copyOf === undefined) tracked++;
  return { vault: encodeVaultState(log.state.vault), copies: computeCopies(manifest), tracked, cloudOnly };
}

function computeCopies(manifest: ReadonlyMap<SyncPath, BaseEntry>): BaseEntry[] {
  const out: BaseEntry[] = [];
  for (const b of manifest.values()) if (b.copyOf !== undefined) out.push(b);
  return out;
}

/** True when a plan would name content some GC condemned: only a full fold can tell whether it may (ADR-0007). */
export function namesCondemnedBlob(plan: Plan, vault: OpenLog['state']['vault']): boolean {
  if (vault.condemnations.size === 0) return false;
  return plan.ops.some((op) => {
    const hash =
      op.kind === 'merge'
        ? op.merge.content.hash
        : op.kind === 'follow'
          ? op.follow.content.hash
          : (op.kind === 'upload' || op.kind === 'resolve') && op.file !== null
            ? op.file.hash
            : null;
    return hash !== null && vault.condemnations.has(hash as never);
  });
}
