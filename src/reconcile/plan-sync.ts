import { BmError, ErrorCode } from '../errors.js';
import type { VersionId } from '../events/ids.js';
import { computeFoldKey, createSyncPathCheck, type SyncPath } from '../events/sync-path.js';
import { computeHeads, isCollected, type PathState, type Projection } from '../projections/project-paths.js';
import type { VersionRecord } from '../projections/version-record.js';
import type { BaseEntry } from './ports.js';
import { computeConflictCopyOwner, computeConflictCopyPath, isConflictCopyName, isShortenedCopyName } from './conflict-copy-name.js';
import { computeConflictNote, computeLiveFolders, ConflictKind, isLive, type ConflictNote } from './conflict-notes.js';
import type { FoldLookup, LocalFile, LocalScan } from './ports.js';

/**
 * A plan is data: the operations one sync round performs, in order, plus what it found
 * worth telling (open conflicts, skipped paths). `executePlan` performs it; `--dry-run`
 * prints it. The decision table is ADR-0001; every row has a scenario test.
 *
 * Effects on the remote: upload, tombstone, resolve (each publishes one event).
 * Effects on disk: download, deleteLocal, writeCopy, removeCopy (each re-checks the file
 * it replaces or removes right before acting, via `expect`).
 * Bookkeeping only: record, forget (base manifest rows).
 */
export type PlanOp =
  /** Publish `file` as a new version of `path` replacing `replaces`. */
  | { readonly kind: 'upload'; readonly path: SyncPath; readonly file: LocalFile; readonly replaces: readonly VersionId[] }
  /** Publish a delete of `path` replacing `replaces` (what the deleted file showed). */
  | { readonly kind: 'tombstone'; readonly path: SyncPath; readonly replaces: readonly VersionId[] }
  /** End the conflict at `path`: replace every head the user had seen, keeping `file` (null: deleted). */
  | { readonly kind: 'resolve'; readonly path: SyncPath; readonly replaces: readonly VersionId[]; readonly file: LocalFile | null }
  /** Write `version`'s content at `path`; `expect` is the file it may replace (null: must be absent). */
  | { readonly kind: 'download'; readonly path: SyncPath; readonly version: VersionRecord; readonly expect: LocalFile | null }
  /** Remove the local file at `path` (the cloud deleted it) if it still is `expect`. */
  | { readonly kind: 'deleteLocal'; readonly path: SyncPath; readonly expect: LocalFile; readonly version: VersionRecord | null }
  /** Write a conflict copy of `version` (a losing head of `of`) at `path`, which must be absent. */
  | { readonly kind: 'writeCopy'; readonly path: SyncPath; readonly of: SyncPath; readonly version: VersionRecord }
  /** Remove a conflict copy whose version is no longer a head, if it still is `expect`. */
  | { readonly kind: 'removeCopy'; readonly path: SyncPath; readonly expect: LocalFile }
  /** Bookkeeping: the file on disk already shows `version`; remember it with the heads. */
  | { readonly kind: 'record'; readonly path: SyncPath; readonly file: LocalFile; readonly version: VersionId; readonly heads: readonly VersionId[]; readonly copyOf?: SyncPath }
  /** Bookkeeping: drop the base row of `path`. */
  | { readonly kind: 'forget'; readonly path: SyncPath };

export type PlanOpKind = PlanOp['kind'];

export { ConflictKind, type ConflictNote } from './conflict-notes.js';

export const NoticeReason = {
  unreadable: 'unreadable',
  notSubscribed: 'not-subscribed',
  editedConflictCopy: 'edited-conflict-copy',
  untrackedConflictCopy: 'untracked-conflict-copy',
  blockedByFolder: 'blocked-by-folder',
  /** A GC collected this deleted path while the file here was edited: kept, uploaded as new. */
  collectedPathKept: 'collected-path-kept',
  /** Not uploaded: a GC is collecting a blob with these bytes (ADR-0007); retried after it. */
  beingCollected: 'being-collected',
} as const;
export type NoticeReason = (typeof NoticeReason)[keyof typeof NoticeReason];

export interface Notice {
  readonly path: string;
  readonly reason: NoticeReason;
  readonly detail: string;
}

export interface Plan {
  readonly ops: readonly PlanOp[];
  /** Every path whose cloud state has more than one head, plus twins and file/folder clashes. */
  readonly conflicts: readonly ConflictNote[];
  readonly notices: readonly Notice[];
}

export interface PlanOptions {
  /** Folder prefixes ending in '/'; empty means the whole tree. */
  readonly subscriptions: readonly string[];
  /** Ignore rules (.bmignore and built-ins): ignored paths are out of scope on both sides. */
  readonly isIgnored: (path: string) => boolean;
  /** Display name of a client, for conflict copy names. */
  readonly clientName: (client: string) => string;
  /** This client's id: its own versions are never concurrent with its later ones (ADR-0016). */
  readonly self: string;
}

export interface PlanInput {
  /** Local base manifest: what this client last synced (and cloud-at-baseline heads). */
  readonly base: ReadonlyMap<string, BaseEntry>;
  readonly local: LocalScan;
  /** Cloud now: the projection of every verified event. */
  readonly cloud: Projection;
  readonly options: PlanOptions;
  /** Plan only what may have changed since an earlier plan (ADR-0009); the result is the same. */
  readonly focus?: PlanFocus;
  /**
   * Set by a lazy sync (ADR-0009), whose `base` and `cloud` hold only the paths the focus
   * names (plus every tracked conflict copy): every path with a live head in the cloud and no
   * local file, which twin conflicts are found among (instead of iterating `cloud`). Needs a
   * focus that does not fall back (`computeFocusTargets`).
   */
  readonly cloudOnly?: ReadonlySet<string>;
}

/**
 * An earlier plan of the same client under the same options, and every path whose base row,
 * local file or folder, or cloud state may differ from what that plan saw. Every other path
 * would be planned as it was then: no op (those went into `dirty` through `previous.ops`), and
 * the same conflicts and notices. So only the dirty paths (and the paths their conflict
 * copies belong to) are planned again, and the rest of `previous` is carried over; the result
 * equals a full plan (property-tested). Where a rule reaches across paths in a way a dirty
 * set cannot bound (unreadable folders, file-versus-folder clashes, untracked conflict
 * copies), the planner plans in full instead.
 */
export interface PlanFocus {
  readonly previous: Pick<Plan, 'ops' | 'conflicts' | 'notices'>;
  readonly dirty: Iterable<string>;
}

export function isSubscribed(path: string, subscriptions: readonly string[]): boolean {
  return subscriptions.length === 0 || subscriptions.some((s) => path.startsWith(s));
}

function isUnder(path: string, entries: readonly string[]): boolean {
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

const EMPTY_HEADS: readonly VersionRecord[] = [];

/**
 * Pure: compares the four states and returns the plan of one sync round.
 * Invariants (property-tested): missing local data (unreadable, ignored, unsubscribed) never
 * yields a tombstone or a local delete; an upload or tombstone replaces only the version the
 * local file was derived from, so a concurrent version stays a head (a conflict), never
 * overwritten; after executing the ops of a round and re-planning, the plan converges to empty.
 */
export function planSync(input: PlanInput): Plan {
  const { base, local, cloud, options } = input;
  const ops: PlanOp[] = [];
  const conflicts: ConflictNote[] = [];
  const notices: Notice[] = [];

  const headsOf = (p: string): readonly VersionRecord[] => {
    const st: PathState | undefined = cloud.get(p as SyncPath);
    return st === undefined ? EMPTY_HEADS : computeHeads(st);
  };
  const versionOf = (p: string, id: VersionId | null): VersionRecord | undefined =>
    id === null ? undefined : cloud.get(p as SyncPath)?.versions.get(id);

  // Conflict copies tracked in the base, grouped by the path they belong to.
  const copiesByPath = new Map<string, BaseEntry[]>();
  for (const b of base.values()) {
    if (b.copyOf) {
      const list = copiesByPath.get(b.copyOf.path) ?? [];
      list.push(b);
      copiesByPath.set(b.copyOf.path, list);
    }
  }

  // Folders holding a live path in the cloud (ADR-0016). A lazy plan's cloud holds only its
  // paths; its focus is then bounded (below) so that no path it plans needs the others.
  const liveFolders = computeLiveFolders(cloud, input.cloudOnly);
  let focus = input.focus === undefined ? undefined : computeFocus(input.focus, base, local);
  if (focus !== undefined && !isFocusBounded(focus.targets, { base, local, cloud, liveFolders, cloudOnly: input.cloudOnly })) {
    if (input.cloudOnly !== undefined) throw new BmError(ErrorCode.internal, 'a lazy plan reaches a file/folder clash: fold first (isFocusPlannable)');
    focus = undefined;
  }
  if (input.cloudOnly !== undefined && focus === undefined) throw new BmError(ErrorCode.internal, 'a plan of partial state needs a focus');
  // (A focus implies none: an untracked copy name would be dirty or noticed in `previous`.)
  const hasUntrackedCopyNames = focus === undefined && [...local.files.keys()].some((p) => isConflictCopyName(p) && !base.has(p));

  const candidates = new Set<string>();
  if (focus === undefined) {
    for (const [p, b] of base) if (!b.copyOf) candidates.add(p);
    for (const p of local.files.keys()) if (!base.get(p)?.copyOf) candidates.add(p);
    for (const p of cloud.keys()) candidates.add(p);
    for (const p of copiesByPath.keys()) candidates.add(p);
  } else {
    for (const p of focus.targets) {
      const b = base.get(p);
      if ((b !== undefined && !b.copyOf) || (local.files.has(p as SyncPath) && b === undefined) || cloud.has(p as SyncPath) || copiesByPath.has(p)) candidates.add(p);
    }
  }

  const outOfScope = (p: string): boolean => {
    if (!isSubscribed(p, options.subscriptions)) return true;
    if (options.isIgnored(p)) return true;
    if (isUnder(p, local.unreadable)) {
      notices.push({ path: p, reason: NoticeReason.unreadable, detail: 'could not be read; left as it is, never treated as deleted' });
      return true;
    }
    return false;
  };

  // A path the scan cannot show (unreadable, or ignored): its absence says nothing.
  const isHidden = (p: string): boolean => isUnder(p, local.unreadable) || options.isIgnored(p);

  // Files this plan writes (downloads, conflict copies), and local files it moves aside for a
  // folder (ADR-0016: an executor removes before it writes, so a folder may replace them).
  const plannedFiles = new Set<string>();
  const plannedRemovals = new Set<string>();
  // A folder needed by some file where a file stands (or will, by this plan), or a file where a folder stands.
  const blockedByFolder = (p: string): boolean => {
    if (local.dirs.has(p)) return true;
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const anc = parts.slice(0, i).join('/');
      if ((local.files.has(anc as SyncPath) && !plannedRemovals.has(anc)) || plannedFiles.has(anc)) return true;
    }
    return false;
  };

  const isSafePath = createSyncPathCheck();
  for (const p of [...candidates].sort()) {
    // Conflict-copy names are bm-log's own: out of scope as paths on both sides.
    if (!isSafePath(p) || isConflictCopyName(p) || outOfScope(p)) continue;
    const path = p;
    const b = base.get(path);
    const l = local.files.get(path);
    const heads = headsOf(path);
    const w = heads[0];
    // In sync, by far the most common case on a large tree: one live head, which the file
    // shows unchanged since the last sync, and no conflict copies around. Nothing to do
    // (planMain and planCopies would add nothing); checked first, it spares their allocations.
    // (A file at a folder's name is never that: see planDisplaced.)
    const plain = !hasUntrackedCopyNames && !copiesByPath.has(path) && !liveFolders.has(path);
    if (heads.length === 1 && b !== undefined && l !== undefined && w!.content !== null && plain) {
      if (l.hash === b.hash && l.mode === b.mode && b.version === w!.id && b.heads.length === 1 && b.heads[0] === w!.id && w!.content.hash === l.hash && w!.content.mode === l.mode) continue;
    }
    // A live file where a folder stands, in the cloud or here: the folder keeps the name.
    const displaced = w?.content != null && (liveFolders.has(path) || local.dirs.has(path));
    const note = computeConflictNote(path, heads, displaced);
    if (note !== undefined) conflicts.push(note);

    // Resolution by deleting the conflict copies: every tracked copy is known to be gone
    // locally. A copy the scan could not read, or now ignores, is unknown, not deleted.
    const copies = copiesByPath.get(path) ?? [];
    if (displaced) {
      planDisplaced(path, b, l, heads, copies);
      continue;
    }
    const copiesGone = copies.length > 0 && copies.every(knownGone);
    // The resolve replaces only heads this client had seen (its base heads): a version that
    // arrived since was never shown here and stays a head. None left: nothing to resolve here.
    const seen = b === undefined ? [] : b.heads.filter((id) => heads.some((h) => h.id === id));
    if (copiesGone && b && heads.length > 1 && seen.length > 0) {
      ops.push({ kind: 'resolve', path, replaces: withOwnUnrecorded(seen, b, heads), file: l ?? null });
      for (const c of copies) ops.push({ kind: 'forget', path: c.path });
      continue;
    }
    // Some copies deleted, others kept: the user rejected those versions only. A partial
    // resolve replaces them and the version the main file showed (keeping the main file);
    // the versions whose copies remain stay heads, so the conflict goes on without them.
    const gone = copies.filter(knownGone);
    const rejected = b === undefined ? [] : gone.map((c) => c.copyOf!.version).filter((id) => b.heads.includes(id) && heads.some((h) => h.id === id));
    if (b && rejected.length > 0) {
      const shownHead = b.version !== null && heads.some((h) => h.id === b.version) ? [b.version] : [];
      ops.push({ kind: 'resolve', path, replaces: withOwnUnrecorded([...rejected, ...shownHead], b, heads), file: l ?? null });
      for (const c of gone) ops.push({ kind: 'forget', path: c.path });
      continue;
    }

    planMain(path, b, l, heads, w);
    planCopies(path, heads.slice(1).filter((h) => h.content !== null), copies);
  }

  /** A copy the scan knows is gone (not merely unreadable or now ignored). */
  function knownGone(c: BaseEntry): boolean {
    return !local.files.has(c.path) && !isHidden(c.path);
  }

  /**
   * A path whose live file a folder displaces (ADR-0016): no file at the path, every live
   * version beside it as a conflict copy, on every client alike. A change of the file here is
   * published first (`planMain`); an unchanged file is moved aside (removed: its bytes are in
   * the cloud, and its copy is written); copies the user deleted reject those versions.
   */
  function planDisplaced(path: SyncPath, b: BaseEntry | undefined, l: LocalFile | undefined, heads: readonly VersionRecord[], copies: readonly BaseEntry[]) {
    const rejected = copies.filter(knownGone).map((c) => c.copyOf!.version).filter((id) => heads.some((h) => h.id === id));
    if (l === undefined && rejected.length > 0) {
      // The file this client had at the path is gone too: the version it showed is rejected with them.
      const shown = b?.version != null && heads.some((h) => h.id === b.version) && !rejected.includes(b.version) ? [b.version] : [];
      ops.push({ kind: 'resolve', path, replaces: withOwnUnrecorded([...rejected, ...shown], b, heads), file: null });
      for (const c of copies) if (knownGone(c)) ops.push({ kind: 'forget', path: c.path });
      return;
    }
    const changedHere = l !== undefined && (b === undefined || l.hash !== b.hash || l.mode !== b.mode);
    if (changedHere || (b !== undefined && l === undefined)) {
      planMain(path, b, l, heads, heads[0]);
      return;
    }
    if (l !== undefined) {
      plannedRemovals.add(path);
      ops.push({ kind: 'deleteLocal', path, expect: l, version: heads[0]! });
    }
    planCopies(path, heads.filter((h) => h.content !== null), copies);
  }

  /**
   * This client's own heads of a path that its base row has not recorded: versions a sync of
   * this client published from this file (its ops, or `resolve`/`restore`) whose manifest commit
   * never happened (a crash or a full disk between the publish and the commit). The file was
   * derived from them, or they from it: a client's own successive versions are never
   * concurrent, so a change here replaces them too (ADR-0016).
   */
  function ownUnrecorded(b: BaseEntry | undefined, heads: readonly VersionRecord[]): VersionRecord[] {
    return heads.filter((h) => h.client === options.self && h.id !== b?.version && !(b?.heads.includes(h.id) ?? false));
  }

  /** `replaces` and this client's own unrecorded heads: what a change made here replaces. */
  function withOwnUnrecorded(replaces: readonly VersionId[], b: BaseEntry | undefined, heads: readonly VersionRecord[]): VersionId[] {
    const out = [...replaces];
    for (const h of ownUnrecorded(b, heads)) if (!out.includes(h.id)) out.push(h.id);
    return out;
  }

  /** Records `l` as showing the own unrecorded head with its bytes, if there is one. */
  function recordOwn(path: SyncPath, l: LocalFile, own: readonly VersionRecord[], heads: readonly VersionRecord[]): boolean {
    const v = own.find((h) => sameContent(l, h));
    if (v !== undefined) ops.push({ kind: 'record', path, file: l, version: v.id, heads: heads.map((h) => h.id) });
    return v !== undefined;
  }

  function planMain(path: SyncPath, b: BaseEntry | undefined, l: LocalFile | undefined, heads: readonly VersionRecord[], w: VersionRecord | undefined): void {
    const headIds = heads.map((h) => h.id);
    const ownHeads = ownUnrecorded(b, heads);
    if (b === undefined) {
      if (l === undefined) {
        if (w?.content) planDownload(path, w, null);
        return;
      }
      if (w && sameContent(l, w) && heads.length === 1) {
        ops.push({ kind: 'record', path, file: l, version: w.id, heads: headIds });
        return;
      }
      if (recordOwn(path, l, ownHeads, heads)) return;
      // New here. Replace only deletes (no content is lost) and this client's own versions; a
      // concurrent live version of another client stays a head.
      ops.push({ kind: 'upload', path, file: l, replaces: withOwnUnrecorded(heads.filter((h) => h.content === null).map((h) => h.id), b, heads) });
      return;
    }

    const shown = b.version === null ? [...b.heads] : [b.version];
    const localUnchanged = l !== undefined && l.hash === b.hash && l.mode === b.mode;
    const cloudChanged = !sameIds(b.heads, heads);
    // A GC collected the path (its deletes were acknowledged by everyone, ADR-0007): what the
    // file showed is gone from the cloud for good, not lost history to publish again.
    const st = cloud.get(path);
    const collected = w === undefined && (isCollected(st, b.version) || b.heads.some((id) => isCollected(st, id)));

    if (l === undefined) {
      // Deleted here.
      if (w === undefined || w.content === null) {
        ops.push({ kind: 'forget', path }); // deleted on both sides (or never in the cloud)
        return;
      }
      ops.push({ kind: 'tombstone', path, replaces: withOwnUnrecorded(shown, b, heads) });
      return;
    }

    if (!localUnchanged) {
      // Edited here.
      if (collected) {
        ops.push({ kind: 'upload', path, file: l, replaces: [] });
        notices.push({ path, reason: NoticeReason.collectedPathKept, detail: 'deleted for everyone and collected while you edited it here; your file was kept and uploaded as a new file' });
        return;
      }
      if (cloudChanged && w && sameContent(l, w) && heads.length === 1) {
        ops.push({ kind: 'record', path, file: l, version: w.id, heads: headIds });
        return;
      }
      if (recordOwn(path, l, ownHeads, heads)) return;
      // An edit also replaces the deletes its writer had seen (in base.heads): that closes an
      // edit-versus-delete conflict by editing, and no content is lost by replacing a delete.
      const seenDeletes = heads.filter((h) => h.content === null && b.heads.includes(h.id) && !shown.includes(h.id)).map((h) => h.id);
      ops.push({ kind: 'upload', path, file: l, replaces: withOwnUnrecorded([...shown, ...seenDeletes], b, heads) });
      return;
    }

    // Unchanged here: make the file show the cloud's winner.
    if (collected) {
      ops.push({ kind: 'deleteLocal', path, expect: l, version: null });
      return;
    }
    if (w === undefined) {
      // The cloud has no version of a path we synced (lost or collected history): publish it again.
      ops.push({ kind: 'upload', path, file: l, replaces: [] });
      return;
    }
    if (w.content === null) {
      if (cloudChanged) ops.push({ kind: 'deleteLocal', path, expect: l, version: w });
      else ops.push({ kind: 'upload', path, file: l, replaces: headIds });
      return;
    }
    if (sameContent(l, w)) {
      if (cloudChanged || b.version !== w.id) ops.push({ kind: 'record', path, file: l, version: w.id, heads: headIds });
      return;
    }
    planDownload(path, w, l);
  }

  function planDownload(path: SyncPath, v: VersionRecord, expect: LocalFile | null): void {
    if (blockedByFolder(path)) {
      const detail = `a local file stands where this path needs a folder; version ${v.id} was not written here`;
      conflicts.push({ path, kind: ConflictKind.fileVersusFolder, heads: [], detail });
      notices.push({ path, reason: NoticeReason.blockedByFolder, detail: 'not downloaded: a local file or folder stands in the way' });
      return;
    }
    plannedFiles.add(path);
    ops.push({ kind: 'download', path, version: v, expect });
  }

  /** Makes the conflict copies of `path` show `shown` (live heads), and only them. */
  function planCopies(path: SyncPath, shown: readonly VersionRecord[], tracked: readonly BaseEntry[]): void {
    const wanted = new Map<string, VersionRecord>();
    for (const h of shown) wanted.set(computeConflictCopyPath(path, options.clientName(h.client), h.id), h);
    for (const c of tracked) {
      if (isHidden(c.path)) {
        wanted.delete(c.path); // unknown state: neither rewritten nor removed nor forgotten
        continue;
      }
      const cur = local.files.get(c.path);
      const still = wanted.get(c.path);
      if (still && still.id === c.copyOf?.version) {
        wanted.delete(c.path);
        if (cur && cur.hash !== c.hash) notices.push({ path: c.path, reason: NoticeReason.editedConflictCopy, detail: 'edits to a conflict copy are not synced; copy what you want into the main file' });
        continue;
      }
      // The copy's version is no longer a losing head: take the copy away if untouched.
      if (cur === undefined) ops.push({ kind: 'forget', path: c.path });
      else if (cur.hash === c.hash) ops.push({ kind: 'removeCopy', path: c.path, expect: cur });
      else {
        ops.push({ kind: 'forget', path: c.path });
        notices.push({ path: c.path, reason: NoticeReason.editedConflictCopy, detail: 'conflict resolved elsewhere; your edited copy was left in place and is not synced' });
      }
    }
    // A copy written by a sync that stopped before recording it (a crash) is untracked. Once its
    // version is no longer a losing head it goes like a tracked one, if it still holds exactly
    // that version's bytes: then it is bm-log's own copy and the cloud keeps those bytes.
    const trackedCopies = new Set<string>(tracked.map((c) => c.path));
    // (Only where some local file has a copy name the base does not know: rare, and computing
    // every version's copy name for every path would dominate the plan of a large tree.)
    if (hasUntrackedCopyNames) for (const v of cloud.get(path)?.versions.values() ?? []) {
      const cp = computeConflictCopyPath(path, options.clientName(v.client), v.id);
      const cur = local.files.get(cp);
      if (cur && v.content && cur.hash === v.content.hash && !shown.some((h) => h.id === v.id) && !trackedCopies.has(cp) && !base.has(cp)) ops.push({ kind: 'removeCopy', path: cp, expect: cur });
    }
    for (const [cp, v] of wanted) {
      if (isHidden(cp)) continue;
      const cur = local.files.get(cp as SyncPath);
      const copyPath = cp as SyncPath;
      if (cur === undefined) {
        if (blockedByFolder(copyPath)) {
          notices.push({ path: cp, reason: NoticeReason.blockedByFolder, detail: 'conflict copy not written: a local file stands where its folder is needed' });
          continue;
        }
        plannedFiles.add(copyPath);
        ops.push({ kind: 'writeCopy', path: copyPath, of: path, version: v });
      } else if (sameContent(cur, v)) ops.push({ kind: 'record', path: copyPath, file: cur, version: v.id, heads: [v.id], copyOf: path });
      else notices.push({ path: cp, reason: NoticeReason.untrackedConflictCopy, detail: 'a different file already has this conflict copy name; left as it is' });
    }
  }

  // Untracked files that look like conflict copies are never uploaded as paths of their own.
  // (A focused plan has none: see computeFocus.)
  if (focus === undefined) {
    const planned = new Set<string>(ops.map((o) => o.path));
    for (const p of local.files.keys()) {
      if (isConflictCopyName(p) && !base.get(p)?.copyOf && !planned.has(p)) {
        notices.push({ path: p, reason: NoticeReason.untrackedConflictCopy, detail: 'looks like a conflict copy; not synced (rename it to sync it)' });
      }
    }
  }
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

interface Focus {
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
function computeFocus(f: PlanFocus, base: ReadonlyMap<string, BaseEntry>, local: LocalScan): Focus | undefined {
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
function mergeByOwner<T>(a: readonly T[], b: readonly T[], owner: (x: T) => string): T[] {
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

/** Per local file map (a scan's, shared by the plans of one round and a rescan that changed nothing). */
const foldLookups = new WeakMap<ReadonlyMap<SyncPath, LocalFile>, FoldLookup>();

/** The files' fold lookup: their own (a real folder's scan, by folder), or an index of every path. */
function computeFoldLookup(files: LocalScan['files']): FoldLookup {
  if (files.foldLookup !== undefined) return files.foldLookup();
  const cached = foldLookups.get(files);
  if (cached !== undefined) return cached;
  // One string per key; a Set only where two paths share a key (rare: most trees have none).
  const byKey = new Map<string, string | Set<string>>();
  for (const p of files.keys()) {
    const k = computeFoldKey(p);
    const had = byKey.get(k);
    if (had === undefined) byKey.set(k, p);
    else if (typeof had === 'string') byKey.set(k, new Set([had, p]));
    else had.add(p);
  }
  const twins: string[][] = [];
  for (const v of byKey.values()) if (typeof v !== 'string') twins.push([...v]);
  const lookup: FoldLookup = {
    twins,
    find: (k) => {
      const had = byKey.get(k);
      return had === undefined ? [] : typeof had === 'string' ? [had] : [...had];
    },
  };
  foldLookups.set(files, lookup);
  return lookup;
}

/**
 * Paths that differ but fold to one name on case-insensitive or normalising file systems:
 * among the local files and the cloud-only paths (live in the cloud, no local file), which
 * `cloudOnly` gives where `cloud` holds only some paths. Sorted by path.
 */
export function computeTwinConflicts(local: LocalScan, cloud: Projection, cloudOnly?: ReadonlySet<string>): ConflictNote[] {
  const lookup = computeFoldLookup(local.files);
  // The cloud-only paths (few) go into groups of their own, seeded with the local paths of their key.
  const extra = new Map<string, Set<string>>();
  const add = (p: string) => {
    const k = computeFoldKey(p);
    let group = extra.get(k);
    if (group === undefined) {
      group = new Set(lookup.find(k));
      extra.set(k, group);
    }
    group.add(p);
  };
  if (cloudOnly !== undefined) for (const p of cloudOnly) add(p);
  else for (const [p, st] of cloud) if (isCloudOnly(p, st, local)) add(p);
  const out: ConflictNote[] = [];
  const note = (set: ReadonlySet<string>) => {
    const names = [...set].sort();
    out.push({ path: names[0] as SyncPath, kind: ConflictKind.twins, heads: [], detail: `these paths are one file on macOS and Windows: ${names.join(', ')}; kept apart here, rename one` });
  };
  for (const group of lookup.twins) if (!extra.has(computeFoldKey(group[0]!))) note(new Set(group));
  for (const set of extra.values()) if (set.size > 1) note(set);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
