import { createHash } from 'node:crypto';
import { snapshotsOf } from '../client/open-remote.js';
import { readSessionFallback } from '../reconcile/snapshot-reads.js';
import { BmError, ErrorCode } from '../errors.js';
import { readContent } from '../events/packs.js';
import { writeBlob } from '../events/blobs.js';
import type { ContentHash, VersionId } from '../events/ids.js';
import type { Chunks } from '../events/store/lent-chunks.js';
import { mustSyncPath, type SyncPath } from '../events/sync-path.js';
import { computeHeads, type PathState } from '../projections/project-paths.js';
import type { VersionRecord } from '../projections/version-record.js';
import { runSync, type SyncReport } from '../reconcile/run-sync.js';
import type { ClientSession, LocalSession } from '../client/client-session.js';

/*
 * Reading a note with the version it is, and writing or deleting one against the version its
 * writer read (ADR-0028). The check against the current version happens inside the sync that
 * publishes, after its fetch (`planExpectedWrite`), so nothing another client published
 * meanwhile is replaced unseen.
 */

/** A note's bytes and the version they are. */
export interface ReadResult {
  readonly path: string;
  /** The version these bytes are: pass it back as `expectedVersion` to write over them. */
  readonly version: string;
  readonly hash: string;
  readonly bytes: Uint8Array;
  /** Every head, winner first: more than one while the path is in conflict. */
  readonly heads: readonly string[];
  /** Where the bytes came from: the file in the folder (unchanged since that version), or the remote. */
  readonly source: 'folder' | 'remote';
}

/** What a write or delete published. */
export interface WriteResult {
  readonly path: string;
  /** The new version (a put, or a tombstone for a delete). */
  readonly version: string;
  /** True when the write was stale and stands beside the current version as a conflict (it did not merge). */
  readonly conflict: boolean;
  /** True when the write was stale and merged with the current version (`onStale: 'merge'`, the default): `heads[0]` is the merge. */
  readonly merged: boolean;
  /** Why a stale write that stands as a conflict did not merge (the merge's reason, and in words), else null. */
  readonly notMerged: { readonly reason: string; readonly detail: string } | null;
  /** The path's heads after the write, winner first. */
  readonly heads: readonly string[];
  /** Files the sync could not bring in line (e.g. this note, edited meanwhile): they sync next time. */
  readonly skipped: readonly { readonly path: string; readonly detail: string }[];
}

/** The state of one path from this client's own records. */
export async function readPathState(s: Pick<LocalSession, 'index'>, p: SyncPath): Promise<PathState | undefined> {
  return (await s.index.readPathStates([p])).get(p);
}

/** The path as a sync path, or a usage error; an ignored path (`.git/`, `.bmignore` rules) is refused too. */
export function mustNotePath(p: string, isIgnored: (p: string) => boolean): SyncPath {
  const sp = mustSyncPath(p.replace(/^\.\//, ''));
  if (isIgnored(sp)) {
    throw new BmError(ErrorCode.usage, `${sp} is ignored here (.bmignore, built-in rules or unsubscribed)`, 'use a path that syncs');
  }
  return sp;
}

/** The head with content that the folder shows at the path (the first, the winner, when several). */
function mustLiveHead(p: SyncPath, st: PathState | undefined): { head: VersionRecord; heads: VersionRecord[] } {
  const heads = st ? computeHeads(st) : [];
  const head = heads.find((h) => h.content !== null);
  if (head === undefined) {
    throw new BmError(ErrorCode.notFound, `${p} does not exist (or was deleted)`, 'to create it, write it with expectedVersion null', {
      path: p,
    });
  }
  return { head, heads };
}

async function collect(chunks: Chunks, hash: string): Promise<Uint8Array | undefined> {
  const parts: Buffer[] = [];
  const h = createHash('sha256');
  // The chunks are lent: each is copied before the next is read into its buffer.
  for await (const c of chunks) {
    h.update(c);
    parts.push(Buffer.from(c));
  }
  return h.digest('hex') === hash ? Buffer.concat(parts) : undefined;
}

/**
 * Reads `p`: from the file in the folder when it still holds the current version's bytes,
 * else from the remote's blob (`remote` opens it; checked against its hash). Never returns
 * bytes that are no version (an unsynced edit in the folder is not read).
 */
export async function executeRead(
  s: LocalSession & { tree: ClientSession['ctx']['tree'] },
  p: SyncPath,
  remote: () => Promise<ClientSession['store']>,
): Promise<ReadResult> {
  const { head, heads } = mustLiveHead(p, await readPathState(s, p));
  const content = head.content!;
  const base = { path: p, version: head.id, hash: content.hash, heads: heads.map((h) => h.id) };
  const local = await s.tree.statFile(p);
  if (local?.hash === content.hash) {
    const bytes = await collect(s.tree.openRead(p, local.size), content.hash);
    if (bytes !== undefined) return { ...base, bytes, source: 'folder' };
  }
  const store = await remote();
  // Gone from the live bucket, it is read from the bucket snapshot this client synced against (ADR-0034).
  const fallback = await readSessionFallback({ index: s.index, ctx: { snapshots: snapshotsOf(store) } });
  const bytes = await collect(await readContent(store, content, undefined, fallback), content.hash);
  if (bytes === undefined) throw new BmError(ErrorCode.blobCorrupt, `blob ${content.hash} does not match its hash`, 'run `bm-log verify`');
  return { ...base, bytes, source: 'remote' };
}

/**
 * What a stale write does (ADR-0033): 'refuse' throws StaleVersionError; 'merge' publishes it
 * as a person's stale edit is published, beside the current version, and the sync's merge
 * stage merges the two where the merge applies (text, a common ancestor, changes apart), else
 * they stand as a conflict. 'conflict' is the former name of 'merge' (the vault merges any
 * mergeable concurrent versions, so a write cannot be kept apart from a merge).
 */
export type OnStale = 'refuse' | 'merge' | 'conflict';

/** What a stale write does when its caller does not say: a person's rule (issue 26, ADR-0033). */
export const DEFAULT_ON_STALE: OnStale = 'merge';

/** What a write asks for: the bytes (null: a delete), the version read, and what a stale write does. */
export interface WriteRequest {
  readonly path: SyncPath;
  readonly bytes: Uint8Array | null;
  readonly expectedVersion: string | null;
  readonly onStale: OnStale;
}

/** Pure: what a write that published `id` came to, from the path's heads after its sync and the sync's conflicts. */
export function computeWriteOutcome(
  id: string,
  heads: readonly VersionRecord[],
  conflicts: SyncReport['conflicts'],
): Pick<WriteResult, 'conflict' | 'merged' | 'notMerged' | 'heads'> {
  const conflict = heads.length > 1 && heads.some((h) => h.id === id);
  const merged = heads.length === 1 && heads[0]!.merge?.parents.includes(id as VersionId) === true;
  const note = conflict ? conflicts.find((c) => c.heads.some((h) => h.id === id)) : undefined;
  const notMerged = note?.notMerged === undefined ? null : { reason: note.notMerged, detail: note.notMergedDetail ?? note.notMerged };
  return { conflict, merged, notMerged, heads: heads.map((h) => h.id) };
}

/**
 * Publishes a write (or delete) and brings the folder in line, on an open session:
 * 1. a sync, so an unsynced edit of the note in the folder is a version before the check;
 * 2. the new bytes' blob (blobs before the events that name them);
 * 3. a sync that checks the expected version after its fetch and publishes the put or
 *    tombstone (or throws StaleVersionError), then writes the file here, guarded like any
 *    download (a file changed meanwhile is left alone and becomes a conflict).
 */
export async function executeWrite(s: ClientSession, w: WriteRequest): Promise<WriteResult> {
  await runSync(s.ctx);
  const st = await readPathState(s, w.path);
  const mode = (st ? computeHeads(st).find((h) => h.content !== null)?.content?.mode : undefined) ?? 0o644;
  let content = null;
  if (w.bytes !== null) {
    const bytes = w.bytes;
    const hash = createHash('sha256').update(bytes).digest('hex') as ContentHash;
    await writeBlob(s.store, {
      size: bytes.byteLength,
      sha256: hash,
      open: async function* () {
        yield bytes;
      },
    });
    content = { hash, size: bytes.byteLength, mode };
  }
  const id = s.ctx.newId() as VersionId;
  // A stale write the caller does not refuse is published as a person's stale edit is (the
  // engine's 'conflict': replacing only the version read); the same sync's merge stage then
  // merges it with the current version where the merge applies (ADR-0033), as any sync would.
  const expected = {
    version: (w.expectedVersion ?? null) as VersionId | null,
    onStale: w.onStale === 'refuse' ? 'refuse' : 'conflict',
  } as const;
  const report: SyncReport = await runSync(s.ctx, { restore: [{ path: w.path, content, expected, id }] });
  const heads = computeHeads((await readPathState(s, w.path))!);
  return {
    path: w.path,
    version: id,
    ...computeWriteOutcome(id, heads, report.conflicts),
    skipped: report.skipped.map((k) => ({ path: k.path, detail: k.detail })),
  };
}
