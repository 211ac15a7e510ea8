import type { SyncPath } from '../events/sync-path.js';
import { computeHeads, type PathState, type Projection } from '../projections/project-paths.js';
import type { VersionRecord } from '../projections/version-record.js';
import type { MergeRefusal } from './path-merge.js';
import { computeConflictCopyPath, isConflictCopyName } from './conflict-copy-name.js';

/**
 * What counts as an open conflict, and where its versions are shown: the same rule for the
 * planner (which lists the conflicts of each plan) and `bm-log conflicts` (which lists them from
 * the log alone). Pure.
 */

export const ConflictKind = {
  /** Two or more live versions (edits on both sides, or new on both sides). */
  concurrentEdits: 'concurrent-edits',
  /** A delete concurrent with an edit: the edit was kept, the delete is recorded. */
  editVersusDelete: 'edit-versus-delete',
  /** Two paths that are one on case-insensitive or normalising file systems. */
  twins: 'twins',
  /**
   * A file and a folder claim one path (ADR-0016): the folder keeps the name, every live version
   * of the file is shown beside it as a conflict copy. Also a download blocked by a local file
   * standing where its folder is needed (then without heads).
   */
  fileVersusFolder: 'file-versus-folder',
} as const;
export type ConflictKind = (typeof ConflictKind)[keyof typeof ConflictKind];

export interface ConflictNote {
  readonly path: SyncPath;
  readonly kind: ConflictKind;
  /** Heads, winner first (empty for twins and for a blocked download). */
  readonly heads: readonly VersionRecord[];
  readonly detail: string;
  /**
   * Why the heads were not merged, when a merge was tried (ADR-0020), and that in words. Set
   * for reports only (`computeConflictsWithReasons`), never by the planner.
   */
  readonly notMerged?: MergeRefusal;
  readonly notMergedDetail?: string;
}

/** `note` without the merge stage's reasons: what the planner itself gives. */
export function withoutMergeReason(note: ConflictNote): ConflictNote {
  if (note.notMerged === undefined && note.notMergedDetail === undefined) return note;
  const { notMerged: _r, notMergedDetail: _d, ...rest } = note;
  return rest;
}

/** True when the path's winner has content (the common single-version case without allocating). */
export function isLive(st: PathState): boolean {
  if (st.versions.size === 1 && st.collected === undefined) {
    for (const v of st.versions.values()) return v.content !== null;
  }
  return computeHeads(st)[0]?.content != null;
}

/**
 * Every folder (relative, no trailing slash) that holds a path with a live version in `cloud`:
 * the proper prefixes of the live paths. Conflict-copy names are not paths and count for none.
 * One pass over the paths; each folder is added once.
 */
export function computeLiveFolders(cloud: Projection, also: Iterable<string> = []): Set<string> {
  const out = new Set<string>();
  // The folder last added: paths of one folder mostly come together, and are passed over.
  let last = '';
  const add = (p: string, slash: number) => {
    last = p.slice(0, slash);
    for (; slash > 0; slash = p.lastIndexOf('/', slash - 1)) {
      const dir = p.slice(0, slash);
      if (out.has(dir)) return;
      out.add(dir);
    }
  };
  const inLast = (p: string, slash: number) => slash === last.length && p.startsWith(last);
  for (const [p, st] of cloud) {
    const slash = p.lastIndexOf('/');
    if (slash > 0 && !inLast(p, slash) && !isConflictCopyName(p) && isLive(st)) add(p, slash);
  }
  for (const p of also) {
    const slash = p.lastIndexOf('/');
    if (slash > 0 && !inLast(p, slash) && !isConflictCopyName(p)) add(p, slash);
  }
  return out;
}

const FILE_VERSUS_FOLDER =
  'a file and a folder claim this path: the folder keeps the name, the file is beside it as a conflict copy; ' +
  'delete the copy to keep the folder, or move the folder away to bring the file back';

/**
 * The open conflict at `path`, if any. `displaced`: a folder stands at the path (in the cloud
 * or here) while its winner is a live file, so the folder keeps the name (ADR-0016). Otherwise
 * a conflict needs two heads, one of them live: two deletes are just a deleted path.
 */
export function computeConflictNote(path: SyncPath, heads: readonly VersionRecord[], displaced: boolean): ConflictNote | undefined {
  if (displaced) return { path, kind: ConflictKind.fileVersusFolder, heads, detail: FILE_VERSUS_FOLDER };
  const live = heads.filter((h) => h.content !== null).length;
  if (heads.length < 2 || live === 0) return undefined;
  if (live < heads.length)
    return { path, kind: ConflictKind.editVersusDelete, heads, detail: 'an edit and a delete were concurrent; the edit was kept' };
  const detail = `${heads.length} concurrent versions; the winner is at the path, the others beside it as conflict copies`;
  return { path, kind: ConflictKind.concurrentEdits, heads, detail };
}

/** The heads a conflict shows as conflict copies: every live one where the file was displaced by a folder, else the live losers. */
export function computeShownAsCopies(note: Pick<ConflictNote, 'kind' | 'heads'>): VersionRecord[] {
  return (note.kind === ConflictKind.fileVersusFolder ? note.heads : note.heads.slice(1)).filter((h) => h.content !== null);
}

/** The conflict copy names of a conflict, as every client writes them. */
export function computeConflictCopyPaths(
  note: Pick<ConflictNote, 'path' | 'kind' | 'heads'>,
  clientName: (client: string) => string,
): SyncPath[] {
  return computeShownAsCopies(note).map((h) => computeConflictCopyPath(note.path, clientName(h.client), h.id));
}

/**
 * Every open conflict the log shows (twins aside: they need a local scan), sorted by path.
 * Conflict-copy names are not paths (the planner passes them over too).
 */
export function computeOpenConflicts(cloud: Projection): ConflictNote[] {
  const folders = computeLiveFolders(cloud);
  const out: ConflictNote[] = [];
  for (const [p, st] of cloud) {
    if (isConflictCopyName(p)) continue;
    const heads = computeHeads(st);
    const note = computeConflictNote(p, heads, heads[0]?.content != null && folders.has(p));
    if (note !== undefined) out.push(note);
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
