import type { VersionId } from '../events/ids.js';
import type { SyncPath } from '../events/sync-path.js';
import { computeHeads, isCollected, type PathState } from '../projections/project-paths.js';
import type { VersionRecord } from '../projections/version-record.js';
import type { BaseEntry } from './ports.js';
import { computeConflictCopyPath, isConflictCopyName } from './conflict-copy-name.js';
import { computeConflictNote, ConflictKind, type ConflictNote } from './conflict-notes.js';
import type { LocalFile } from './ports.js';
import { isFollowOf, type PathFollow } from './path-follow.js';
import { isMergeOf, type PathMerge } from './path-merge.js';
import { isSubscribed, NoticeReason, type LocalMove, type Notice, type PlanOp, type PlanOptions } from './plan.js';

/**
 * The ADR-0001 decision table as one pure function: one path's base row, local file and cloud
 * state in; the ops, conflicts and notices of that path out. `planSync` gathers these inputs
 * for every path and calls it, with its optimisations (the in-sync fast path, focused plans,
 * lazy plans) around it; a property test checks that its ops equal this table's, path by path.
 * Each row of the ADR's table has a golden in test/reconcile/table/.
 */

/** One path's state, as the table reads it. */
export interface PathInput {
  /** A safe path (the caller checks: an unsafe name is no path at all). */
  readonly path: SyncPath;
  /** The base manifest row: what this client last synced here. */
  readonly base: BaseEntry | undefined;
  /** The file here now. */
  readonly local: LocalFile | undefined;
  /** The path's cloud state: its versions, heads and collected history. */
  readonly cloud: PathState | undefined;
  /** The tracked conflict copies of this path (base rows whose `copyOf.path` is it). */
  readonly copies: readonly BaseEntry[];
  /** A folder stands at the path: live paths below it in the cloud, or a folder here (ADR-0016). */
  readonly folderHere: boolean;
}

/** What the table reads beyond the path itself, read-only: scope, copies' files, the layout. */
export interface PathSurroundings {
  readonly options: PlanOptions;
  /** What the scan could not read (files or folders). */
  readonly unreadable: readonly string[];
  /** The local file at another path (a conflict copy's). */
  readonly localFile: (p: SyncPath) => LocalFile | undefined;
  /** True when the base manifest has a row for `p`. */
  readonly isTracked: (p: string) => boolean;
  /** A file cannot be written at `p`: a folder stands there, or a file where a folder is needed. */
  readonly isBlocked: (p: SyncPath) => boolean;
  /** Some local file has a conflict-copy name the base does not track (a copy a crash left). */
  readonly hasUntrackedCopyNames: boolean;
  /** The merge stage's outcome for the path's heads, if it has one (ADR-0020). */
  readonly mergeOf: (p: SyncPath) => PathMerge | undefined;
  /** The move this client made that `p` is either end of, if the move stage paired one (ADR-0020). */
  readonly moveOf: (p: SyncPath) => LocalMove | undefined;
  /** The move stage's outcome for an edit of `p` that a move of `p` met, if it has one (ADR-0020). */
  readonly followOf: (p: SyncPath) => PathFollow | undefined;
}

/** The table's answer for one path. */
export interface PathDecision {
  readonly ops: PlanOp[];
  readonly conflicts: ConflictNote[];
  readonly notices: Notice[];
  /** Paths the ops write a file at (downloads, copies): later paths below them are blocked. */
  readonly writes: SyncPath[];
  /** Local files the ops move aside for a folder: no longer blocking the paths below them. */
  readonly movesAside: SyncPath[];
}

/** One path's decision under way: its input, its heads, and what it has decided so far. */
interface Decider extends PathDecision {
  readonly input: PathInput;
  readonly s: PathSurroundings;
  readonly heads: readonly VersionRecord[];
}

const EMPTY_HEADS: readonly VersionRecord[] = [];

/** The whole table for one path: scope first (ADR-0001 "Scope"), then `decideInScope`. */
export function decidePath(input: PathInput, s: PathSurroundings): PathDecision {
  const notices: Notice[] = [];
  if (isOutOfScope(input.path, s, notices)) return { ops: [], conflicts: [], notices, writes: [], movesAside: [] };
  return decideInScope(input, s);
}

/**
 * ADR-0001 "Scope": conflict-copy names are bm-log's own, never paths of their own;
 * unsubscribed, ignored and unreadable paths get no op of any kind (an unreadable one a notice).
 */
export function isOutOfScope(path: string, s: PathSurroundings, notices: Notice[]): boolean {
  if (isConflictCopyName(path) || !isSubscribed(path, s.options.subscriptions) || s.options.isIgnored(path)) return true;
  if (isUnder(path, s.unreadable)) {
    notices.push({ path, reason: NoticeReason.unreadable, detail: 'could not be read; left as it is, never treated as deleted' });
    return true;
  }
  return false;
}

/** The table's rows for a path in scope (`isOutOfScope` false). */
export function decideInScope(input: PathInput, s: PathSurroundings): PathDecision {
  const heads = input.cloud === undefined ? EMPTY_HEADS : computeHeads(input.cloud);
  const d: Decider = { input, s, heads, ops: [], conflicts: [], notices: [], writes: [], movesAside: [] };
  const { path, base: b, local: l, copies } = input;
  const w = heads[0];
  // A live file where a folder stands, in the cloud or here: the folder keeps the name.
  const displaced = w?.content != null && input.folderHere;
  const merge = heads.length > 1 ? s.mergeOf(path) : undefined;
  const applies = merge !== undefined && isMergeOf(merge, heads) ? merge : undefined;
  const note = computeConflictNote(path, heads, displaced);
  if (displaced) planDisplaced(d);
  else if (planResolve(d)) {
    // The user resolved it by deleting conflict copies: that comes before any merge.
  } else if (applies?.kind === 'merged' && planMerge(d, applies)) {
    return { ops: d.ops, conflicts: d.conflicts, notices: d.notices, writes: d.writes, movesAside: d.movesAside };
  } else if (planFollow(d)) {
    return { ops: d.ops, conflicts: d.conflicts, notices: d.notices, writes: d.writes, movesAside: d.movesAside };
  } else {
    planMain(d, b, l, w);
    planCopies(
      d,
      heads.slice(1).filter((h) => h.content !== null),
      copies,
    );
  }
  if (note !== undefined) d.conflicts.unshift(note);
  return { ops: d.ops, conflicts: d.conflicts, notices: d.notices, writes: d.writes, movesAside: d.movesAside };
}

/**
 * ADR-0001 "merge" rows: the heads merge (the merge stage computed it for exactly these heads)
 * and the file here shows what was synced (unchanged, or absent and never synced here): the
 * merge is published and written here, replacing every head; conflict copies of earlier
 * rounds go. A change made here is published first by the other rows (an edit, a delete), and
 * the heads it then makes are merged in the next round. False when it does not apply.
 */
function planMerge(d: Decider, m: Extract<PathMerge, { kind: 'merged' }>): boolean {
  const { path, base: b, local: l, copies } = d.input;
  const unchanged = b !== undefined && l !== undefined && l.hash === b.hash && l.mode === b.mode;
  const neverHere = b === undefined && l === undefined;
  if ((!unchanged && !neverHere) || d.s.isBlocked(path)) return false;
  d.writes.push(path);
  d.ops.push({ kind: 'merge', path, merge: m, expect: l ?? null });
  planCopies(d, [], copies);
  return true;
}

/**
 * ADR-0001 "move versus edit" rows: the path moved elsewhere while an edit of it, made without
 * seeing the move, is a head beside the move's tombstone. When the move stage computed where
 * that edit goes for exactly these heads and the file here shows what was synced (unchanged, or
 * absent and not tracked), the edit goes on at the new name (`follow`), replacing every head
 * here. A change made here is published first by the other rows. False when it does not apply.
 */
function planFollow(d: Decider): boolean {
  const { path, base: b, local: l, copies } = d.input;
  if (d.heads.length < 2) return false;
  const f = d.s.followOf(path);
  if (f?.kind !== 'follow' || !isFollowOf(f, d.heads, undefined)) return false;
  const unchanged = b !== undefined && l !== undefined && l.hash === b.hash && l.mode === b.mode;
  if (!unchanged && !(b === undefined && l === undefined)) return false;
  d.ops.push({ kind: 'follow', path, follow: f });
  planCopies(d, [], copies);
  return true;
}

/**
 * Resolution by deleting conflict copies, if that is what happened: every tracked copy known
 * to be gone resolves the path; some gone rejects only their versions. True when planned.
 */
function planResolve(d: Decider): boolean {
  const { path, base: b, local: l, copies } = d.input;
  if (b === undefined) return false;
  const heads = d.heads;
  const gone = copies.filter((c) => isKnownGone(d, c));
  // The resolve replaces only heads this client had seen (its base heads): a version that
  // arrived since was never shown here and stays a head. None left: nothing to resolve here.
  const seen = b.heads.filter((id) => heads.some((h) => h.id === id));
  if (copies.length > 0 && gone.length === copies.length && heads.length > 1 && seen.length > 0) {
    d.ops.push({ kind: 'resolve', path, replaces: withOwnUnrecorded(d, seen), file: l ?? null });
    for (const c of copies) d.ops.push({ kind: 'forget', path: c.path });
    return true;
  }
  // Some copies deleted, others kept: the user rejected those versions only. A partial
  // resolve replaces them and the version the main file showed (keeping the main file);
  // the versions whose copies remain stay heads, so the conflict goes on without them.
  const rejected = gone.map((c) => c.copyOf!.version).filter((id) => b.heads.includes(id) && heads.some((h) => h.id === id));
  if (rejected.length === 0) return false;
  const shownHead = b.version !== null && heads.some((h) => h.id === b.version) ? [b.version] : [];
  d.ops.push({ kind: 'resolve', path, replaces: withOwnUnrecorded(d, [...rejected, ...shownHead]), file: l ?? null });
  for (const c of gone) d.ops.push({ kind: 'forget', path: c.path });
  return true;
}

/**
 * A path whose live file a folder displaces (ADR-0016): no file at the path, every live
 * version beside it as a conflict copy, on every client alike. A change of the file here is
 * published first (`planMain`); an unchanged file is moved aside (removed: its bytes are in
 * the cloud, and its copy is written); copies the user deleted reject those versions.
 */
function planDisplaced(d: Decider): void {
  const { path, base: b, local: l, copies } = d.input;
  const heads = d.heads;
  const rejected = copies
    .filter((c) => isKnownGone(d, c))
    .map((c) => c.copyOf!.version)
    .filter((id) => heads.some((h) => h.id === id));
  if (l === undefined && rejected.length > 0) {
    // The file this client had at the path is gone too: the version it showed is rejected with them.
    const shown = b?.version != null && heads.some((h) => h.id === b.version) && !rejected.includes(b.version) ? [b.version] : [];
    d.ops.push({ kind: 'resolve', path, replaces: withOwnUnrecorded(d, [...rejected, ...shown]), file: null });
    for (const c of copies) if (isKnownGone(d, c)) d.ops.push({ kind: 'forget', path: c.path });
    return;
  }
  const changedHere = l !== undefined && (b === undefined || l.hash !== b.hash || l.mode !== b.mode);
  if (changedHere || (b !== undefined && l === undefined)) {
    planMain(d, b, l, heads[0]);
    return;
  }
  if (l !== undefined) {
    d.movesAside.push(path);
    d.ops.push({ kind: 'deleteLocal', path, expect: l, version: heads[0]! });
  }
  planCopies(
    d,
    heads.filter((h) => h.content !== null),
    copies,
  );
}

/** The main file: ADR-0001's local delta against its cloud delta. */
function planMain(d: Decider, b: BaseEntry | undefined, l: LocalFile | undefined, w: VersionRecord | undefined): void {
  if (b === undefined) planUntracked(d, l, w);
  else if (l === undefined) planDeletedHere(d, b, w);
  else if (l.hash !== b.hash || l.mode !== b.mode) planEditedHere(d, b, l, w);
  else planUnchangedHere(d, b, l, w);
}

/** No base row: absent here (download) or new here (record the same bytes, or upload). */
function planUntracked(d: Decider, l: LocalFile | undefined, w: VersionRecord | undefined): void {
  const { path } = d.input;
  const heads = d.heads;
  if (l === undefined) {
    if (w?.content) planDownload(d, w, null);
    return;
  }
  if (w && sameContent(l, w) && heads.length === 1) {
    d.ops.push({ kind: 'record', path, file: l, version: w.id, heads: heads.map((h) => h.id) });
    return;
  }
  if (recordOwn(d, l)) return;
  // New here. Replace only deletes (no content is lost) and this client's own versions; a
  // concurrent live version of another client stays a head.
  const deletes = heads.filter((h) => h.content === null).map((h) => h.id);
  const move = d.s.moveOf(path);
  const from = move?.to === path ? { from: move.fromVersion } : {};
  d.ops.push({ kind: 'upload', path, file: l, replaces: withOwnUnrecorded(d, deletes), ...from });
}

/** Deleted here: a tombstone of what the file showed, unless the cloud has no live version. */
function planDeletedHere(d: Decider, b: BaseEntry, w: VersionRecord | undefined): void {
  const { path } = d.input;
  if (w === undefined || w.content === null) {
    d.ops.push({ kind: 'forget', path }); // deleted on both sides (or never in the cloud)
    return;
  }
  const move = d.s.moveOf(path);
  const to = move?.from === path ? { to: move.to } : {};
  d.ops.push({ kind: 'tombstone', path, replaces: withOwnUnrecorded(d, computeShown(b)), ...to });
}

/** Edited here: upload replacing what the file showed (a concurrent version stays a head). */
function planEditedHere(d: Decider, b: BaseEntry, l: LocalFile, w: VersionRecord | undefined): void {
  const { path } = d.input;
  const heads = d.heads;
  if (isPathCollected(d, b, w)) {
    d.ops.push({ kind: 'upload', path, file: l, replaces: [] });
    const detail = 'deleted for everyone and collected while you edited it here; your file was kept and uploaded as a new file';
    d.notices.push({ path, reason: NoticeReason.collectedPathKept, detail });
    return;
  }
  if (!sameIds(b.heads, heads) && w && sameContent(l, w) && heads.length === 1) {
    d.ops.push({ kind: 'record', path, file: l, version: w.id, heads: heads.map((h) => h.id) });
    return;
  }
  if (recordOwn(d, l)) return;
  // An edit also replaces the deletes its writer had seen (in base.heads): that closes an
  // edit-versus-delete conflict by editing, and no content is lost by replacing a delete.
  const shown = computeShown(b);
  const seenDeletes = heads.filter((h) => h.content === null && b.heads.includes(h.id) && !shown.includes(h.id)).map((h) => h.id);
  d.ops.push({ kind: 'upload', path, file: l, replaces: withOwnUnrecorded(d, [...shown, ...seenDeletes]) });
}

/** Unchanged here: make the file show the cloud's winner. */
function planUnchangedHere(d: Decider, b: BaseEntry, l: LocalFile, w: VersionRecord | undefined): void {
  const { path } = d.input;
  const headIds = d.heads.map((h) => h.id);
  const cloudChanged = !sameIds(b.heads, d.heads);
  if (isPathCollected(d, b, w)) d.ops.push({ kind: 'deleteLocal', path, expect: l, version: null });
  else if (w === undefined) {
    // The cloud has no version of a path we synced (lost or collected history): publish it again.
    d.ops.push({ kind: 'upload', path, file: l, replaces: [] });
  } else if (w.content === null) {
    if (cloudChanged) d.ops.push({ kind: 'deleteLocal', path, expect: l, version: w });
    else d.ops.push({ kind: 'upload', path, file: l, replaces: headIds });
  } else if (sameContent(l, w)) {
    if (cloudChanged || b.version !== w.id) d.ops.push({ kind: 'record', path, file: l, version: w.id, heads: headIds });
  } else planDownload(d, w, l);
}

/**
 * A GC collected the path (its deletes were acknowledged by everyone, ADR-0007): what the
 * file showed is gone from the cloud for good, not lost history to publish again.
 */
function isPathCollected(d: Decider, b: BaseEntry, w: VersionRecord | undefined): boolean {
  const st = d.input.cloud;
  return w === undefined && (isCollected(st, b.version) || b.heads.some((id) => isCollected(st, id)));
}

/** What the file showed at the last sync: its version, or the heads when that is unknown. */
function computeShown(b: BaseEntry): VersionId[] {
  return b.version === null ? [...b.heads] : [b.version];
}

function planDownload(d: Decider, v: VersionRecord, expect: LocalFile | null): void {
  const { path } = d.input;
  if (d.s.isBlocked(path)) {
    const detail = `a local file stands where this path needs a folder; version ${v.id} was not written here`;
    d.conflicts.push({ path, kind: ConflictKind.fileVersusFolder, heads: [], detail });
    d.notices.push({ path, reason: NoticeReason.blockedByFolder, detail: 'not downloaded: a local file or folder stands in the way' });
    return;
  }
  d.writes.push(path);
  d.ops.push({ kind: 'download', path, version: v, expect });
}

/** Makes the conflict copies of the path show `shown` (live heads), and only them. */
function planCopies(d: Decider, shown: readonly VersionRecord[], tracked: readonly BaseEntry[]): void {
  const { path } = d.input;
  const wanted = new Map<string, VersionRecord>();
  for (const h of shown) wanted.set(computeConflictCopyPath(path, d.s.options.clientName(h.client), h.id), h);
  for (const c of tracked) planTrackedCopy(d, c, wanted);
  // (Only where some local file has a copy name the base does not know: rare, and computing
  // every version's copy name for every path would dominate the plan of a large tree.)
  if (d.s.hasUntrackedCopyNames) planUntrackedCopies(d, shown, tracked);
  for (const [cp, v] of wanted) planWantedCopy(d, cp as SyncPath, v);
}

/** A tracked copy: kept while its version is a losing head (`wanted`), else taken away if untouched. */
function planTrackedCopy(d: Decider, c: BaseEntry, wanted: Map<string, VersionRecord>): void {
  if (isHidden(d.s, c.path)) {
    wanted.delete(c.path); // unknown state: neither rewritten nor removed nor forgotten
    return;
  }
  const cur = d.s.localFile(c.path);
  const still = wanted.get(c.path);
  if (still && still.id === c.copyOf?.version) {
    wanted.delete(c.path);
    const detail = 'edits to a conflict copy are not synced; copy what you want into the main file';
    if (cur && cur.hash !== c.hash) d.notices.push({ path: c.path, reason: NoticeReason.editedConflictCopy, detail });
    return;
  }
  // The copy's version is no longer a losing head: take the copy away if untouched.
  if (cur === undefined) d.ops.push({ kind: 'forget', path: c.path });
  else if (cur.hash === c.hash) d.ops.push({ kind: 'removeCopy', path: c.path, expect: cur });
  else {
    d.ops.push({ kind: 'forget', path: c.path });
    const detail = 'conflict resolved elsewhere; your edited copy was left in place and is not synced';
    d.notices.push({ path: c.path, reason: NoticeReason.editedConflictCopy, detail });
  }
}

/**
 * A copy written by a sync that stopped before recording it (a crash) is untracked. Once its
 * version is no longer a losing head it goes like a tracked one, if it still holds exactly
 * that version's bytes: then it is bm-log's own copy and the cloud keeps those bytes.
 */
function planUntrackedCopies(d: Decider, shown: readonly VersionRecord[], tracked: readonly BaseEntry[]): void {
  const { path } = d.input;
  const trackedCopies = new Set<string>(tracked.map((c) => c.path));
  for (const v of d.input.cloud?.versions.values() ?? []) {
    const cp = computeConflictCopyPath(path, d.s.options.clientName(v.client), v.id);
    const cur = d.s.localFile(cp);
    const isOld = !shown.some((h) => h.id === v.id) && !trackedCopies.has(cp) && !d.s.isTracked(cp);
    if (cur && v.content && cur.hash === v.content.hash && isOld) d.ops.push({ kind: 'removeCopy', path: cp, expect: cur });
  }
}

/** A copy the path's conflict needs: written, recorded when already there, or noticed when a stranger holds its name. */
function planWantedCopy(d: Decider, copyPath: SyncPath, v: VersionRecord): void {
  if (isHidden(d.s, copyPath)) return;
  const cur = d.s.localFile(copyPath);
  if (cur === undefined) {
    if (d.s.isBlocked(copyPath)) {
      const detail = 'conflict copy not written: a local file stands where its folder is needed';
      d.notices.push({ path: copyPath, reason: NoticeReason.blockedByFolder, detail });
      return;
    }
    d.writes.push(copyPath);
    d.ops.push({ kind: 'writeCopy', path: copyPath, of: d.input.path, version: v });
  } else if (sameContent(cur, v))
    d.ops.push({ kind: 'record', path: copyPath, file: cur, version: v.id, heads: [v.id], copyOf: d.input.path });
  else {
    const detail = 'a different file already has this conflict copy name; left as it is';
    d.notices.push({ path: copyPath, reason: NoticeReason.untrackedConflictCopy, detail });
  }
}

/**
 * This client's own heads of a path that its base row has not recorded: versions a sync of
 * this client published from this file (its ops, or `resolve`/`restore`) whose manifest commit
 * never happened (a crash or a full disk between the publish and the commit). The file was
 * derived from them, or they from it: a client's own successive versions are never
 * concurrent, so a change here replaces them too (ADR-0016).
 */
function computeOwnUnrecorded(d: Decider): VersionRecord[] {
  const b = d.input.base;
  const detached = d.s.options.detached;
  return d.heads.filter(
    (h) => h.client === d.s.options.self && h.id !== b?.version && !(b?.heads.includes(h.id) ?? false) && !(detached?.has(h.id) ?? false),
  );
}

/** `replaces` and this client's own unrecorded heads: what a change made here replaces. */
function withOwnUnrecorded(d: Decider, replaces: readonly VersionId[]): VersionId[] {
  const out = [...replaces];
  for (const h of computeOwnUnrecorded(d)) if (!out.includes(h.id)) out.push(h.id);
  return out;
}

/** Records `l` as showing the own unrecorded head with its bytes, if there is one. */
function recordOwn(d: Decider, l: LocalFile): boolean {
  const v = computeOwnUnrecorded(d).find((h) => sameContent(l, h));
  if (v !== undefined) d.ops.push({ kind: 'record', path: d.input.path, file: l, version: v.id, heads: d.heads.map((h) => h.id) });
  return v !== undefined;
}

/** A copy the scan knows is gone (not merely unreadable or now ignored). */
function isKnownGone(d: Decider, c: BaseEntry): boolean {
  return d.s.localFile(c.path) === undefined && !isHidden(d.s, c.path);
}

/** A path the scan cannot show (unreadable, or ignored): its absence says nothing. */
function isHidden(s: PathSurroundings, p: string): boolean {
  return isUnder(p, s.unreadable) || s.options.isIgnored(p);
}

export function isUnder(path: string, entries: readonly string[]): boolean {
  return entries.some((u) => path === u || path.startsWith(u.endsWith('/') ? u : `${u}/`));
}

function sameContent(file: LocalFile, v: VersionRecord): boolean {
  return v.content !== null && v.content.hash === file.hash && v.content.mode === file.mode;
}

function sameIds(a: readonly VersionId[], b: readonly VersionRecord[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set<string>(a);
  return b.every((v) => s.has(v.id));
}
