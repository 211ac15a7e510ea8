import { BmError, ErrorCode, isBmError } from '../../errors.js';
import { readContent } from '../../events/packs.js';
import { sha256Hex } from '../../events/signing.js';
import type { ObjectStore } from '../../events/store/object-store.js';
import { collectChunks, type Chunks } from '../../events/store/lent-chunks.js';
import type { ContentRef } from '../../events/schema.js';
import type { SyncPath } from '../../events/sync-path.js';
import { computeLocalMoves, MOVE_MAX_COMPARISONS, type MoveCandidate } from '../../merge/compute-local-moves.js';
import type { MergePolicy } from '../../merge/merge-policy.js';
import type { PathState, Projection } from '../../projections/project-paths.js';
import { ConflictKind } from '../conflict-notes.js';
import {
  computeFollowCandidate,
  computePathFollow,
  isFollowOf,
  needsFollowBytes,
  type FollowCandidate,
  type PathFollow,
} from '../path-follow.js';
import type { LocalMove, Plan } from '../plan.js';
import type { BaseEntry, LocalFile } from '../ports.js';
import { computeHeads } from '../../projections/project-paths.js';

/*
 * The move stage (ADR-0020), after each plan, beside the merge stage:
 * - moves made here: the plan's tombstones (files gone here) and uploads of files new here are
 *   paired by `computeLocalMoves`, by content hash first, then (reading the bytes) by similar
 *   text; each pair is published as one move (the tombstone `to`, the upload `from`);
 * - edits that met a move: where a path's heads are a move's tombstone and an edit made without
 *   seeing it, the edit goes on at the new path (`computePathFollow`).
 * Both outcomes are inputs of the planner, which plans the paths again.
 */

/** Files over this size are paired by content hash only (their bytes are never read for similarity). */
export const MOVE_MAX_TEXT_BYTES = 1024 * 1024;
/**
 * With more unpaired files than this gone (or new) in one sync, none is paired by similar text:
 * a first import of many files next to one delete must not read every new file's bytes.
 */
export const MOVE_MAX_TEXT_FILES = 1000;

/** What the stage reads from. */
export interface MoveSource {
  readonly store: ObjectStore;
  readonly projection: Projection;
  readonly manifest: ReadonlyMap<string, BaseEntry>;
  readonly policy: MergePolicy;
  /** The bytes of a local file (checked against `file.hash` here). */
  readonly readLocal: (file: LocalFile) => Chunks;
}

/** Pure: the plan's deletions (tombstones of tracked files) and additions (uploads of untracked files) as move candidates. */
export function computeMoveCandidates(
  plan: Pick<Plan, 'ops'>,
  manifest: ReadonlyMap<string, BaseEntry>,
): { deleted: (MoveCandidate & { readonly base: BaseEntry })[]; added: (MoveCandidate & { readonly file: LocalFile })[] } {
  const deleted: (MoveCandidate & { readonly base: BaseEntry })[] = [];
  const added: (MoveCandidate & { readonly file: LocalFile })[] = [];
  for (const op of plan.ops) {
    const b = manifest.get(op.path);
    if (op.kind === 'tombstone' && b !== undefined && b.version !== null && b.copyOf === undefined)
      deleted.push({ path: op.path, hash: b.hash, size: b.size, base: b });
    if (op.kind === 'upload' && b === undefined) added.push({ path: op.path, hash: op.file.hash, size: op.file.size, file: op.file });
  }
  return { deleted, added };
}

/** Pure: the moves by both their paths, from `computeLocalMoves`' pairs. */
export function computeMoveMap(
  pairs: readonly { from: string; to: string }[],
  manifest: ReadonlyMap<string, BaseEntry>,
): Map<string, LocalMove> {
  const out = new Map<string, LocalMove>();
  for (const m of pairs) {
    const version = manifest.get(m.from)?.version;
    if (version == null) continue;
    const move: LocalMove = { from: m.from as SyncPath, to: m.to as SyncPath, fromVersion: { path: m.from as SyncPath, version } };
    out.set(m.from, move);
    out.set(m.to, move);
  }
  return out;
}

/**
 * The moves of `plan` (replacing `moves`' content). Returns the paths whose move changed: the
 * ones to plan again.
 */
export async function computeMoves(src: MoveSource, plan: Pick<Plan, 'ops'>, moves: Map<string, LocalMove>): Promise<SyncPath[]> {
  const { deleted, added } = computeMoveCandidates(plan, src.manifest);
  let pairs = deleted.length === 0 || added.length === 0 ? [] : computeLocalMoves(deleted, added);
  const paired = new Set(pairs.flatMap((m) => [m.from, m.to]));
  const [gone, fresh] = [deleted.filter((c) => !paired.has(c.path)), added.filter((c) => !paired.has(c.path))];
  const few = gone.length <= MOVE_MAX_TEXT_FILES && fresh.length <= MOVE_MAX_TEXT_FILES;
  if (gone.length > 0 && fresh.length > 0 && few && gone.length * fresh.length <= MOVE_MAX_COMPARISONS) {
    // Similar text: read the bytes of what is left (the gone versions from the remote).
    const withBytes = async <C extends MoveCandidate>(c: C, read: () => Promise<Uint8Array | undefined>): Promise<MoveCandidate> => {
      const bytes = c.size > 0 && c.size <= MOVE_MAX_TEXT_BYTES ? await read() : undefined;
      return bytes === undefined ? c : { ...c, bytes };
    };
    const g = await Promise.all(
      gone.map((c) =>
        withBytes(c, () => readRemote(src.store, src.projection.get(c.path as SyncPath)?.versions.get(c.base.version!)?.content)),
      ),
    );
    const f = await Promise.all(fresh.map((c) => withBytes(c, () => readLocal(src, c.file))));
    pairs = [...pairs, ...computeLocalMoves(g, f)];
  }
  const next = computeMoveMap(pairs, src.manifest);
  const dirty = new Set<string>();
  for (const [p, m] of next) if (!isSameMove(moves.get(p), m)) dirty.add(p);
  for (const p of moves.keys()) if (!next.has(p)) dirty.add(p);
  moves.clear();
  for (const [p, m] of next) moves.set(p, m);
  return [...dirty] as SyncPath[];
}

function isSameMove(a: LocalMove | undefined, b: LocalMove): boolean {
  return a !== undefined && a.from === b.from && a.to === b.to && a.fromVersion.version === b.fromVersion.version;
}

/** Bytes on the remote, or undefined when missing or not matching their hash (then no similarity pairing). */
async function readRemote(store: ObjectStore, ref: ContentRef | null | undefined): Promise<Uint8Array | undefined> {
  if (ref == null) return undefined;
  try {
    const bytes = await collectChunks(await readContent(store, ref));
    return sha256Hex(bytes) === ref.hash ? bytes : undefined;
  } catch (e) {
    if (isBmError(e, ErrorCode.blobMissing, ErrorCode.blobCorrupt)) return undefined;
    throw e;
  }
}

/** A local file's bytes if it still has the scanned hash (else it changed: no similarity pairing). */
async function readLocal(src: MoveSource, file: LocalFile): Promise<Uint8Array | undefined> {
  try {
    const bytes = await collectChunks(src.readLocal(file));
    return sha256Hex(bytes) === file.hash ? bytes : undefined;
  } catch (e) {
    if (isBmError(e, ErrorCode.localIo)) return undefined;
    throw e;
  }
}

/**
 * The follows of the plan's edit-versus-delete conflicts whose delete is a move (recorded in
 * `follows`, by old path), for heads `follows` has no outcome for yet. Returns the paths with a
 * new outcome. `stateOf` gives a path's state (the new path's may have to be loaded).
 */
export async function computeFollows(
  src: MoveSource,
  plan: Pick<Plan, 'conflicts'>,
  follows: Map<string, PathFollow>,
  stateOf: (p: SyncPath) => Promise<PathState | undefined>,
): Promise<SyncPath[]> {
  const fresh: SyncPath[] = [];
  for (const note of plan.conflicts) {
    if (note.kind !== ConflictKind.editVersusDelete || !note.heads.some((h) => h.to !== undefined)) continue;
    const state = src.projection.get(note.path);
    if (state === undefined) continue;
    const to = note.heads.find((h) => h.to !== undefined)!.to!;
    const toState = await stateOf(to);
    const had = follows.get(note.path);
    if (had !== undefined && isFollowOf(had, note.heads, toState === undefined ? [] : computeHeads(toState))) continue;
    const c = computeFollowCandidate(note.path, state, (p) => (p === to ? toState : src.projection.get(p)));
    if (c === undefined) continue;
    follows.set(note.path, 'kind' in c ? c : await readAndFollow(src, c));
    fresh.push(note.path);
  }
  return fresh;
}

async function readAndFollow(src: MoveSource, c: FollowCandidate): Promise<PathFollow> {
  if (!needsFollowBytes(c)) return computePathFollow(c, src.policy);
  const read = async (v: FollowCandidate['base']) => {
    const { hash, size } = v.content!;
    if (size > src.policy.maxBytes) return undefined;
    const bytes = await readRemote(src.store, v.content);
    if (bytes === undefined) throw new BmError(ErrorCode.blobMissing, `blob ${hash} could not be read`, 'run `bm-log verify`');
    return bytes;
  };
  try {
    const [base, target, edit] = await Promise.all([read(c.base), read(c.target), read(c.edit)]);
    const all = base !== undefined && target !== undefined && edit !== undefined;
    return computePathFollow(c, src.policy, all ? { base, target, edit } : undefined);
  } catch (e) {
    if (!isBmError(e, ErrorCode.blobMissing)) throw e;
    const { path: _path, edit: _edit, base: _base, target: _target, ends: _ends, ...key } = c;
    return { kind: 'refused', ...key, reason: 'unavailable', detail: `a version's bytes could not be read (${e.code})` };
  }
}
