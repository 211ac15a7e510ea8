import { BmError, ErrorCode, isBmError } from '../../errors.js';
import { writeBlob } from '../../events/blobs.js';
import type { ContentHash, VersionId } from '../../events/ids.js';
import { keyOfBlob } from '../../events/layout.js';
import { keyOfContent } from '../../events/packs.js';
import { MAX_EVENTS_PER_SEGMENT, type ContentRef, type Event } from '../../events/schema.js';
import type { SyncPath } from '../../events/sync-path.js';
import { computeHeads, type PathState, type Projection } from '../../projections/project-paths.js';
import type { VersionRecord } from '../../projections/version-record.js';
import { computeLiveFolders } from '../conflict-notes.js';
import { DETACHED_OWN_KEY, MAX_DETACHED_OWN } from '../ports.js';
import type { SyncContext } from '../sync-context.js';
import { BEING_COLLECTED, computeBlobBanNow, computeContentBanNow, publishOwnSegment, type OpenLog } from '../sync-log.js';
import { planExpectedWrite } from '../plan-write.js';
import { createSnapshotFallback, planContentSnapshots } from '../snapshot-reads.js';
import { openUploadSource } from './execute-plan.js';
import type { ResolveRequest, RestoreRequest, RestoreStep, SyncTally } from './report.js';

/*
 * Publishing (ADR-0023): this client's events as its next segments, and the events of
 * `bm-log resolve` and `bm-log restore`. What to publish is decided by pure functions
 * (`planResolve`, `planRestore`); the functions that publish do the I/O around them.
 */

/** What publishing runs with: the ports, the sync's log, and the report's counters. */
export interface PublishEnv {
  readonly ctx: Pick<
    SyncContext,
    'store' | 'index' | 'identity' | 'tree' | 'now' | 'newId' | 'snapshots' | 'publishDeadlineMs' | 'joinFromCheckpoint'
  >;
  readonly log: OpenLog;
  readonly tally: SyncTally;
  /** The sync's detached own versions (`PlanOptions.detached`): a restore and a merge add the versions they publish. */
  readonly detached?: Set<string>;
}

/** Publishes events as this client's next segment(s) and folds them into the projection. */
export async function publishEvents(env: PublishEnv, events: readonly Event[]): Promise<void> {
  if (events.length === 0) return;
  // A merge's bytes are written here only after it is published, guarded: a file edited
  // meanwhile keeps the edit, which derives from no merge. Until the manifest records the
  // merge, a change here stands beside it and merges with it, never replaces it (ADR-0033).
  await recordDetached(
    env,
    events.flatMap((e) => (e.type === 'put' && e.merge !== undefined ? [e.id] : [])),
  );
  const { ctx, log, tally } = env;
  // The snapshot of the fetch this run synced against, never one taken now (ADR-0019 §5).
  for (let i = 0; i < events.length; i += MAX_EVENTS_PER_SEGMENT) {
    const seg = await publishOwnSegment(ctx, log, events.slice(i, i + MAX_EVENTS_PER_SEGMENT), log.baseline);
    tally.segmentsPublished++;
    tally.eventsPublished += seg.body.events.length;
  }
}

/** Writer rule (ii) of ADR-0007: content a GC is collecting is not named until it is gone. */
export function isBeingCollected(env: Pick<PublishEnv, 'ctx' | 'log'>, hash: string): boolean {
  return computeBlobBanNow(env.log, hash as ContentHash, env.ctx.now().getTime()) !== undefined;
}

/** True when an event may name `content`: its blob or pack is on the remote and no GC is collecting it. */
async function isBlobNameable(env: PublishEnv, content: ContentRef): Promise<boolean> {
  const banned = computeContentBanNow(env.log, content, env.ctx.now().getTime()) !== undefined;
  return !banned && (await env.ctx.store.head(keyOfContent(content))) !== undefined;
}

/** What `bm-log resolve` publishes: a resolve replacing `replaces`, keeping the local file or `version`. */
export interface ResolveDecision {
  readonly replaces: readonly VersionId[];
  readonly keep: { readonly kind: 'local' } | { readonly kind: 'version'; readonly version: VersionRecord };
}

/**
 * Decides a resolve of `request.path`, whose state is `st`: it must have an open conflict (two
 * heads or more, or a file a folder displaces, ADR-0016: `isLiveFolder` tells) and, keeping a
 * version, exactly one version whose id is or ends with `request.keep`. Throws a usage error
 * otherwise. Pure.
 */
export function planResolve(
  request: ResolveRequest,
  st: PathState | undefined,
  isLiveFolder: (path: SyncPath) => boolean,
): ResolveDecision {
  const heads = st ? computeHeads(st) : [];
  // A file a folder displaces is a conflict with one head too (ADR-0016): PATH is then the folder.
  const displaced = heads[0]?.content != null && isLiveFolder(request.path);
  if (heads.length < 2 && !displaced) throw new BmError(ErrorCode.usage, `${request.path} has no open conflict`, 'see `bm-log conflicts`');
  const replaces = heads.map((h) => h.id);
  if (request.keep === 'local') return { replaces, keep: { kind: 'local' } };
  const keep = request.keep.toUpperCase();
  const matches = [...(st?.versions.values() ?? [])].filter((v) => v.id === keep || v.id.endsWith(keep));
  if (matches.length !== 1) {
    const which = matches.length === 0 ? 'no' : 'more than one';
    const hint = 'use a version id (or its last 8 characters) from `bm-log conflicts`';
    throw new BmError(ErrorCode.usage, `${which} version of ${request.path} matches ${request.keep}`, hint);
  }
  return { replaces, keep: { kind: 'version', version: matches[0]! } };
}

/** `bm-log resolve`: one resolve event replacing every head of the path. */
export async function publishResolve(env: PublishEnv, request: ResolveRequest): Promise<void> {
  const projection: Projection = env.log.state.paths;
  const decision = planResolve(request, projection.get(request.path), (p) => computeLiveFolders(projection).has(p));
  let content: ContentRef | null;
  if (decision.keep.kind === 'local') {
    content = await uploadLocalContent(env, request.path);
  } else {
    content = decision.keep.version.content;
    // An old version's content may have been collected by GC since: never name a missing blob.
    if (content !== null && !(await isBlobNameable(env, content))) {
      const id = decision.keep.version.id;
      const hint = 'nothing was published; keep one of the versions `bm-log conflicts` lists';
      throw new BmError(ErrorCode.usage, `the content of version ${id} of ${request.path} is no longer on the remote (collected)`, hint);
    }
  }
  await publishEvents(env, [
    { type: 'resolve', id: env.ctx.newId() as VersionId, path: request.path, replaces: [...decision.replaces], content },
  ]);
}

/** The local file at `path` uploaded as a blob (null: there is none). */
async function uploadLocalContent(env: PublishEnv, path: SyncPath): Promise<ContentRef | null> {
  const { ctx } = env;
  const file = await ctx.tree.statFile(path);
  if (file === undefined) return null;
  if (isBeingCollected(env, file.hash)) {
    throw new BmError(
      ErrorCode.staleFetch,
      `the bytes of ${path} are being garbage-collected on the remote`,
      `nothing was published; ${BEING_COLLECTED}`,
    );
  }
  await writeBlob(ctx.store, { size: file.size, sha256: file.hash, open: () => openUploadSource(ctx.tree, file.path, file.size) });
  return { hash: file.hash as ContentRef['hash'], size: file.size, mode: file.mode };
}

/**
 * Decides the restore of `request.path`, whose state is `st`: a deleted state is a tombstone
 * of every head unless no head has content; content is a put replacing every head unless the
 * one head already has that content and mode. Pure.
 */
export function planRestore(request: RestoreRequest, st: PathState | undefined): RestoreStep {
  const heads = st ? computeHeads(st) : [];
  const replaces = heads.map((h) => h.id);
  if (request.content === null) return heads.some((h) => h.content !== null) ? { kind: 'tombstone', replaces } : { kind: 'none' };
  const only = heads.length === 1 ? heads[0]!.content : undefined;
  if (only != null && only.hash === request.content.hash && only.mode === request.content.mode) return { kind: 'none' };
  return { kind: 'put', replaces, content: request.content };
}

/**
 * A content gone from the live bucket, read from a bucket snapshot that holds it (this run's
 * baseline, then those `planBlobSnapshots` finds; checked against its hash) and written back
 * as a blob of its own, create-only: the ref a restore then names (a pack is never put back
 * whole, a GC may have deleted it on purpose). Undefined without snapshots, while a GC is
 * collecting it (it must not come back), or when no snapshot holds it.
 */
async function executeContentFromSnapshots(
  env: PublishEnv,
  content: ContentRef,
  st: PathState | undefined,
): Promise<ContentRef | undefined> {
  const { snapshots, store } = env.ctx;
  if (snapshots === undefined || isBeingCollected(env, content.hash)) return undefined;
  const read = createSnapshotFallback(snapshots, planContentSnapshots(env.log.baseline, st, content.hash))!;
  const missing = new BmError(ErrorCode.blobMissing, `${keyOfContent(content)} holding ${content.hash} is missing from the remote`);
  let bytes: Uint8Array;
  try {
    bytes = await read(content, missing);
  } catch (e) {
    if (isBmError(e, ErrorCode.blobMissing)) return undefined;
    throw e;
  }
  await store.putIfAbsent(keyOfBlob(content.hash), bytes);
  return { hash: content.hash, size: content.size, mode: content.mode };
}

/**
 * Records versions about to be published that no file here was derived from (a restore, a
 * write through the API), durably before they are published (ADR-0028): until a sync brings
 * one to the folder, a change of the file is concurrent with it, not its successor.
 */
async function recordDetached(env: PublishEnv, ids: readonly string[]): Promise<void> {
  if (ids.length === 0 || env.detached === undefined) return;
  for (const id of ids) env.detached.add(id);
  const kept = [...env.detached].slice(-MAX_DETACHED_OWN);
  await env.ctx.index.commitBatch({ meta: { [DETACHED_OWN_KEY]: kept } });
}

/** `bm-log restore`: new versions carrying old content, replacing what is there now. */
export async function publishRestore(env: PublishEnv, requests: readonly RestoreRequest[]): Promise<void> {
  const events: Event[] = [];
  for (const r of requests) {
    const st = env.log.state.paths.get(r.path);
    const step = r.expected ? planExpectedWrite(r, r.expected, st) : planRestore(r, st);
    if (step.kind === 'none') continue;
    const id = r.id ?? (env.ctx.newId() as VersionId);
    if (step.kind === 'tombstone') {
      events.push({ type: 'tombstone', id, path: r.path, replaces: [...step.replaces] });
      continue;
    }
    // The content must still exist: a restore may never publish an event naming a missing blob.
    // Gone from the live bucket, a blob may come back from a bucket snapshot that holds it (ADR-0034).
    const content = (await isBlobNameable(env, step.content)) ? step.content : await executeContentFromSnapshots(env, step.content, st);
    if (content === undefined) {
      const hint = 'nothing was restored; pick a later point (see `bm-log log PATH`)';
      throw new BmError(
        ErrorCode.blobMissing,
        `the content of ${r.path} at that point (${step.content.hash}) is no longer on the remote`,
        hint,
      );
    }
    events.push({ type: 'put', id, path: r.path, replaces: [...step.replaces], content });
  }
  await recordDetached(
    env,
    events.map((e) => (e as { id: string }).id),
  );
  await publishEvents(env, events);
}
