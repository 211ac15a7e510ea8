import { BmError, ErrorCode } from '../errors.js';
import { createSyncPathCheck, type SyncPath } from '../events/sync-path.js';
import { computeHeads, type PathState } from '../projections/project-paths.js';
import type { BaseEntry } from './ports.js';
import { isConflictCopyName } from './conflict-copy-name.js';
import { computeLiveFolders, type ConflictNote } from './conflict-notes.js';
import { decideInScope, isOutOfScope, type PathDecision, type PathInput, type PathSurroundings } from './decide-path.js';
import type { LocalScan } from './ports.js';
import { NoticeReason, type Notice, type Plan, type PlanInput, type PlanOp } from './plan.js';
import { computeFocus, isFocusBounded, mergeByOwner, noticeOwner, type Focus } from './plan-focus.js';
import { computeTwinConflicts } from './twin-conflicts.js';

export { ConflictKind, type ConflictNote } from './conflict-notes.js';
export {
  isSubscribed,
  NoticeReason,
  type Notice,
  type Plan,
  type PlanFocus,
  type PlanInput,
  type PlanOp,
  type PlanOpKind,
  type PlanOptions,
} from './plan.js';
export {
  computeFocusTargets,
  isCloudOnly,
  isFocusBounded,
  isFocusPlannable,
  noticeOwner,
  type FocusBoundInputs,
} from './plan-focus.js';
export { computeTwinConflicts } from './twin-conflicts.js';

const NO_COPIES: readonly BaseEntry[] = [];

/**
 * Pure: compares the four states and returns the plan of one sync round: the ADR-0001 table
 * (`decideInScope`, decide-path.ts) for every path, in path order, with three optimisations
 * around it, each giving what the table gives (property-tested):
 * - the in-sync fast path (`isPlainInSync`): a path whose file shows its only head, unchanged,
 *   is skipped without asking the table;
 * - focused re-planning (ADR-0009, plan-focus.ts): only the paths that may have changed since
 *   an earlier plan are asked again, the rest of that plan's conflicts and notices carried over;
 * - the cloud-only lazy path (`cloudOnly`, ADR-0009): `base` and `cloud` hold only the focus's
 *   paths, and twins are found among `cloudOnly` instead of every cloud path.
 * Invariants (property-tested): missing local data (unreadable, ignored, unsubscribed) never
 * yields a tombstone or a local delete; an upload or tombstone replaces only the version the
 * local file was derived from, so a concurrent version stays a head (a conflict), never
 * overwritten; after executing the ops of a round and re-planning, the plan converges to empty.
 */
export function planSync(input: PlanInput): Plan {
  const { base, local, cloud } = input;
  const copiesByPath = computeCopiesByPath(base);
  // Folders holding a live path in the cloud (ADR-0016). A lazy plan's cloud holds only its
  // paths; its focus is then bounded (below) so that no path it plans needs the others.
  const liveFolders = computeLiveFolders(cloud, input.cloudOnly);
  const focus = computePlanFocus(input, liveFolders);
  // (A focus implies none: an untracked copy name would be dirty or noticed in `previous`.)
  const hasUntrackedCopyNames = focus === undefined && [...local.files.keys()].some((p) => isConflictCopyName(p) && !base.has(p));
  const layout = createPlanLayout(local);
  const s = computeSurroundings(input, layout, hasUntrackedCopyNames);
  const ops: PlanOp[] = [];
  const conflicts: ConflictNote[] = [];
  const notices: Notice[] = [];
  const isSafePath = createSyncPathCheck();
  for (const p of [...computeCandidates(input, copiesByPath, focus)].sort()) {
    if (!isSafePath(p) || isOutOfScope(p, s, notices)) continue;
    const st = cloud.get(p);
    const row: PathInput = {
      path: p,
      base: base.get(p),
      local: local.files.get(p),
      cloud: st,
      copies: copiesByPath.get(p) ?? NO_COPIES,
      folderHere: liveFolders.has(p) || local.dirs.has(p),
    };
    if (!hasUntrackedCopyNames && !liveFolders.has(p) && isPlainInSync(row, st)) continue;
    const d = decideInScope(row, s);
    ops.push(...d.ops);
    conflicts.push(...d.conflicts);
    notices.push(...d.notices);
    layout.add(d);
  }
  if (focus === undefined) notices.push(...computeUntrackedCopyNotices(base, local, ops));
  const twins = computeTwinConflicts(local, cloud, input.cloudOnly);
  if (focus === undefined) return { ops, conflicts: [...conflicts, ...twins], notices };
  // The paths planned now, merged with what `previous` said about every other path, in the
  // order a full plan gives: by the path each conflict or notice belongs to.
  return {
    ops,
    conflicts: [...mergeByOwner(focus.keptConflicts, conflicts, (c) => c.path), ...twins],
    notices: mergeByOwner(focus.keptNotices, notices, noticeOwner),
  };
}

/**
 * The in-sync fast path, by far the most common case on a large tree: one live head, which
 * the file shows unchanged since the last sync, and no conflict copies around. The table
 * would decide nothing (property-tested); checked first, it spares its allocations. (A file
 * at a folder's name is never that: the caller checks `liveFolders`; a local folder has no file.)
 */
function isPlainInSync(row: PathInput, st: PathState | undefined): boolean {
  const { base: b, local: l } = row;
  if (st === undefined || b === undefined || l === undefined || row.copies.length > 0) return false;
  const heads = computeHeads(st);
  const w = heads[0];
  if (heads.length !== 1 || w!.content === null) return false;
  const c = w!.content;
  const showsHead = b.version === w!.id && b.heads.length === 1 && b.heads[0] === w!.id;
  return showsHead && l.hash === b.hash && l.mode === b.mode && c.hash === l.hash && c.mode === l.mode;
}

/** What the table reads around each path of `input`: the options, the scan, the layout so far. */
export function computeSurroundings(input: PlanInput, layout: PlanLayout, hasUntrackedCopyNames: boolean): PathSurroundings {
  const { base, local } = input;
  return {
    options: input.options,
    unreadable: local.unreadable,
    localFile: (p) => local.files.get(p),
    isTracked: (p) => base.has(p),
    isBlocked: layout.isBlocked,
    hasUntrackedCopyNames,
    mergeOf: (p) => input.merges?.get(p),
    moveOf: (p) => input.moves?.get(p),
    followOf: (p) => input.follows?.get(p),
  };
}

/** The focus a plan can use, or undefined to plan in full (a lazy plan must have one). */
function computePlanFocus(input: PlanInput, liveFolders: ReadonlySet<string>): Focus | undefined {
  const { base, local, cloud, cloudOnly } = input;
  let focus = input.focus === undefined ? undefined : computeFocus(input.focus, base, local);
  if (focus !== undefined && !isFocusBounded(focus.targets, { base, local, cloud, liveFolders, cloudOnly })) {
    if (cloudOnly !== undefined)
      throw new BmError(ErrorCode.internal, 'a lazy plan reaches a file/folder clash: fold first (isFocusPlannable)');
    focus = undefined;
  }
  if (cloudOnly !== undefined && focus === undefined) throw new BmError(ErrorCode.internal, 'a plan of partial state needs a focus');
  return focus;
}

/** Conflict copies tracked in the base, grouped by the path they belong to. */
function computeCopiesByPath(base: ReadonlyMap<string, BaseEntry>): Map<string, BaseEntry[]> {
  const copiesByPath = new Map<string, BaseEntry[]>();
  for (const b of base.values()) {
    if (b.copyOf) {
      const list = copiesByPath.get(b.copyOf.path) ?? [];
      list.push(b);
      copiesByPath.set(b.copyOf.path, list);
    }
  }
  return copiesByPath;
}

/** The paths to ask the table about: every path any state holds, or the focus's among them. */
function computeCandidates(input: PlanInput, copiesByPath: ReadonlyMap<string, BaseEntry[]>, focus: Focus | undefined): Set<SyncPath> {
  const { base, local, cloud } = input;
  const candidates = new Set<string>();
  if (focus === undefined) {
    for (const [p, b] of base) if (!b.copyOf) candidates.add(p);
    for (const p of local.files.keys()) if (!base.get(p)?.copyOf) candidates.add(p);
    for (const p of cloud.keys()) candidates.add(p);
    for (const p of copiesByPath.keys()) candidates.add(p);
  } else {
    for (const p of focus.targets) {
      const b = base.get(p);
      const isLocalOnly = local.files.has(p as SyncPath) && b === undefined;
      if ((b !== undefined && !b.copyOf) || isLocalOnly || cloud.has(p as SyncPath) || copiesByPath.has(p)) candidates.add(p);
    }
  }
  // Checked one by one (`createSyncPathCheck`) before the table sees them.
  return candidates as Set<SyncPath>;
}

/**
 * The layout a plan builds, path by path in path order (ADR-0016): a file cannot be written
 * where a folder stands, nor below a local file (unless the plan moves it aside) or a file the
 * plan writes. `add` takes each path's decision; `isBlocked` is what the table reads.
 */
export interface PlanLayout {
  readonly isBlocked: (p: SyncPath) => boolean;
  readonly add: (d: PathDecision) => void;
}

export function createPlanLayout(local: LocalScan): PlanLayout {
  const plannedFiles = new Set<string>();
  const plannedRemovals = new Set<string>();
  const isBlocked = (p: SyncPath): boolean => {
    if (local.dirs.has(p)) return true;
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const anc = parts.slice(0, i).join('/');
      if ((local.files.has(anc as SyncPath) && !plannedRemovals.has(anc)) || plannedFiles.has(anc)) return true;
    }
    return false;
  };
  const add = (d: PathDecision): void => {
    for (const p of d.writes) plannedFiles.add(p);
    for (const p of d.movesAside) plannedRemovals.add(p);
  };
  return { isBlocked, add };
}

/** Untracked files that look like conflict copies are never uploaded as paths of their own. */
function computeUntrackedCopyNotices(base: ReadonlyMap<string, BaseEntry>, local: LocalScan, ops: readonly PlanOp[]): Notice[] {
  const planned = new Set<string>(ops.map((o) => o.path));
  const out: Notice[] = [];
  for (const p of local.files.keys()) {
    if (isConflictCopyName(p) && !base.get(p)?.copyOf && !planned.has(p)) {
      out.push({
        path: p,
        reason: NoticeReason.untrackedConflictCopy,
        detail: 'looks like a conflict copy; not synced (rename it to sync it)',
      });
    }
  }
  return out;
}
