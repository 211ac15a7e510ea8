import type { SyncPath } from '../events/sync-path.js';
import { computeHeads, type PathState, type Projection } from '../projections/project-paths.js';
import type { BaseEntry } from './ports.js';
import { computeConflictCopyOwner, isConflictCopyName, isShortenedCopyName } from './conflict-copy-name.js';
import { computeLiveFolders, ConflictKind, isLive, type ConflictNote } from './conflict-notes.js';
import type { LocalScan } from './ports.js';
import { NoticeReason, type Notice, type PlanFocus, type PlanInput } from './plan.js';

/**
 * Focused plans (ADR-0009): which paths a plan from an earlier plan and a dirty set must plan
 * again, what it carries over, and when it must plan in full instead. `planSync` uses them
 * around the decision table (decide-path.ts); the result equals a full plan (property-tested).
 */

/** A path with a live head in the cloud and no local file (see PlanInput.cloudOnly). */
export function isCloudOnly(p: SyncPath, st: PathState | undefined, local: LocalScan): boolean {
  return st !== undefined && !local.files.has(p) && computeHeads(st).some((h) => h.content !== null);
}

/** What `isFocusBounded` reads (`liveFolders`: `computeLiveFolders` of `cloud` and `cloudOnly`). */
export interface FocusBoundInputs {
  readonly base: ReadonlyMap<string, BaseEntry>;
  readonly local: LocalScan;
  readonly cloud: Projection;
  readonly liveFolders: ReadonlySet<string>;
  readonly cloudOnly?: ReadonlySet<string> | undefined;
  readonly hidesBelow?: (p: string) => boolean;
}

/**
 * False when a focused plan of `targets` could meet a file/folder clash (ADR-0016), whose
 * layout depends on paths outside the focus: a target that is, or may be, a file (here, in the
 * base or live in the cloud) where a folder stands or a live path lies below it, or a target
 * below such a file. Where the cloud holds only the focus (a lazy plan), `cloudOnly` stands in
 * for the live paths it lacks (a live path without a local file is in it), and `hidesBelow`
 * names targets whose folder may hold paths not loaded at all (a stage's last paths, ADR-0011).
 */
export function isFocusBounded(targets: Iterable<string>, s: FocusBoundInputs): boolean {
  const isLiveHere = (p: string): boolean => {
    const st = s.cloud.get(p as SyncPath);
    return st !== undefined ? isLive(st) : s.cloudOnly?.has(p) === true;
  };
  for (const t of targets) {
    const row = s.base.get(t);
    const fileish = s.local.files.has(t as SyncPath) || (row !== undefined && row.copyOf === undefined) || isLiveHere(t);
    if (fileish && (s.local.dirs.has(t) || s.liveFolders.has(t) || s.hidesBelow?.(t) === true)) return false;
    for (let slash = t.indexOf('/'); slash > 0; slash = t.indexOf('/', slash + 1)) {
      const above = t.slice(0, slash);
      if (s.local.files.has(above as SyncPath) || isLiveHere(above)) return false;
    }
  }
  return true;
}

/**
 * True when `planSync(input)` can plan from its focus alone: the focus does not fall back to a
 * full plan, and is bounded (`isFocusBounded`). A lazy sync folds everything when it is not.
 */
export function isFocusPlannable(input: PlanInput, hidesBelow?: (p: string) => boolean): boolean {
  const focus = input.focus === undefined ? undefined : computeFocus(input.focus, input.base, input.local);
  if (focus === undefined) return false;
  const { base, local, cloud, cloudOnly } = input;
  const liveFolders = computeLiveFolders(cloud, cloudOnly);
  return isFocusBounded(focus.targets, { base, local, cloud, liveFolders, cloudOnly, ...(hidesBelow === undefined ? {} : { hidesBelow }) });
}

/** The paths a focused plan plans again, or undefined when it would plan in full. */
export function computeFocusTargets(f: PlanFocus, base: ReadonlyMap<string, BaseEntry>, local: LocalScan): ReadonlySet<string> | undefined {
  return computeFocus(f, base, local)?.targets;
}

export interface Focus {
  /** The paths to plan again (not yet filtered to those any state holds). */
  readonly targets: ReadonlySet<string>;
  /** What `previous` said about paths not planned again (twins aside: recomputed each time). */
  readonly keptConflicts: readonly ConflictNote[];
  readonly keptNotices: readonly Notice[];
}

/** The path whose iteration of the plan emits `n` (a conflict copy's notice: its main path). */
export function noticeOwner(n: Notice): string {
  return n.reason === NoticeReason.editedConflictCopy ? computeConflictCopyOwner(n.path) : n.path;
}

/**
 * What a focused plan plans and keeps, or undefined where it must plan in full: anything
 * unreadable (its notices name every path under it); a file-versus-folder clash (whether a
 * path is blocked depends on other paths' files); an untracked file with a conflict-copy
 * name (noticed in a pass over every file). Dirty conflict copies stand for their main path.
 */
export function computeFocus(f: PlanFocus, base: ReadonlyMap<string, BaseEntry>, local: LocalScan): Focus | undefined {
  if (local.unreadable.length > 0) return undefined;
  const targets = new Set<string>();
  const add = (p: string): boolean => {
    if (!isConflictCopyName(p)) {
      targets.add(p);
      return true;
    }
    const tracked = base.get(p)?.copyOf;
    if (tracked === undefined && local.files.has(p as SyncPath)) return false;
    if (tracked !== undefined) targets.add(tracked.path);
    // A name cut to fit does not tell its owner (ADR-0016): tracked, the row did; else plan in full.
    if (isShortenedCopyName(p)) return tracked !== undefined;
    targets.add(computeConflictCopyOwner(p));
    return true;
  };
  for (const p of f.dirty) if (!add(p)) return undefined;
  for (const op of f.previous.ops) {
    if (!add(op.path)) return undefined;
    if (op.kind === 'writeCopy') targets.add(op.of);
    if (op.kind === 'follow') targets.add(op.follow.to); // it publishes at the new name too
    if (op.kind === 'record' && op.copyOf !== undefined) targets.add(op.copyOf);
  }
  const keptConflicts: ConflictNote[] = [];
  for (const c of f.previous.conflicts) {
    if (c.kind === ConflictKind.fileVersusFolder) return undefined;
    if (c.kind !== ConflictKind.twins && !targets.has(c.path)) keptConflicts.push(c);
  }
  const keptNotices: Notice[] = [];
  for (const n of f.previous.notices) {
    if (n.reason !== NoticeReason.editedConflictCopy && n.reason !== NoticeReason.collectedPathKept) return undefined;
    if (n.reason === NoticeReason.editedConflictCopy && isShortenedCopyName(n.path)) return undefined;
    if (!targets.has(noticeOwner(n))) keptNotices.push(n);
  }
  return { targets, keptConflicts, keptNotices };
}

/** Two lists each in plan order (by owner path), merged in that order; `a` first on ties. */
export function mergeByOwner<T>(a: readonly T[], b: readonly T[], owner: (x: T) => string): T[] {
  if (a.length === 0) return [...b];
  if (b.length === 0) return [...a];
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(owner(b[j]!) < owner(a[i]!) ? b[j++]! : a[i++]!);
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}
