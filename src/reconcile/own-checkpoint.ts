import type { WriterCheckpointBody } from '../events/checkpoint-schema.js';
import { listCheckpoints, listCheckpointSeqs, writeWriterCheckpointBytes } from '../events/checkpoints.js';
import { decodeTrustedSegment, decodeTrustedWriterCheckpoint, encodeWriterCheckpoint } from '../events/codec.js';
import type { ClientId } from '../events/ids.js';
import type { SegmentBody } from '../events/schema.js';
import type { ObjectStore } from '../events/store/object-store.js';
import type { SyncPath } from '../events/sync-path.js';
import { computeWriterCheckpoint, type CheckpointCoverage } from '../projections/compute-writer-checkpoint.js';
import type { PathState } from '../projections/project-paths.js';
import { readHeldCheckpoints } from './join-checkpoints.js';
import { computeCheckpointInRanges, type CheckpointSources, type RangedCheckpoint } from './own-checkpoint-ranges.js';
import type { SyncIndex } from './ports.js';
import { publishOwnSegment, type LogContext, type OpenLog } from './sync-log.js';

/**
 * A writer's checkpoint of its own log (ADR-0014): written by `bm-log checkpoint`, by `gc`,
 * and by a sync whose own log has grown enough since the last one (`isOwnCheckpointDue`).
 */

/**
 * Meta key: this client's latest checkpoint, `{ bytes }` (its object bytes, kept by the index
 * as a side file as they are); an index written before 2026-12-07 holds the bytes themselves
 * (packed again into a value, which copied them several times over: ADR-0029).
 */
const OWN_META_KEY = 'ownCheckpoint';

/** The bytes of this client's latest checkpoint, as kept in the index (either form). */
async function readOwnCheckpointBytes(index: SyncIndex): Promise<Uint8Array | undefined> {
  const held = index.getMeta ? await index.getMeta<Uint8Array | { bytes: Uint8Array }>(OWN_META_KEY) : undefined;
  return held === undefined || held instanceof Uint8Array ? held : held.bytes;
}
/** Meta key: where it stands and how big it is (`OwnCheckpointMark`). */
const MARK_META_KEY = 'ownCheckpointMark';
/** Meta key: this client's own log since then, counted as it grows (`OwnLogSince`). */
const SINCE_META_KEY = 'ownLogSince';

/**
 * A sync writes a checkpoint once its own log holds `events` events since the last one (or as
 * many as that one keeps versions, if more), or `segments` segments (acknowledgements count:
 * a joiner reads each; or one per 64 versions kept, if more).
 */
export interface CheckpointEvery {
  readonly events: number;
  readonly segments: number;
}

export const CHECKPOINT_EVERY: CheckpointEvery = { events: 1000, segments: 256 };

/** Where this client's latest checkpoint stands, and the frontier it was written at. */
interface OwnCheckpointMark {
  readonly seq: number;
  readonly versions: number;
  /** Its claims, the writers whose versions they are about, and the checkpoints it judged them by. */
  readonly claims?: number;
  readonly owners?: readonly string[];
  readonly relies?: Readonly<Record<string, number>>;
  readonly frontier: Readonly<Record<string, number>>;
}

/** Events and segments of this client's own log after its latest checkpoint, counted up to `seq`, and the other writers' events it folded since. */
interface OwnLogSince {
  readonly seq: number;
  readonly events: number;
  readonly segments: number;
  readonly others?: number;
}

export interface OwnCheckpointReport {
  readonly client: string;
  readonly seq: number;
  readonly bytes: number;
  /** Paths, versions kept, and claims (replaced and collected ids) it holds. */
  readonly paths: number;
  readonly versions: number;
  readonly claims: number;
}

/**
 * Pure: whether a sync should write its own checkpoint: its log since the last one holds at
 * least `every.events` events (or as many as that checkpoint keeps versions, if more: a
 * checkpoint is rewritten about as often as it costs), or `every.segments` segments (or one
 * per 64 versions kept); or the other writers published that many events since (their
 * edits may have replaced what it keeps: a joiner then checks their claims against their
 * segments, which a new checkpoint of this writer spares it). So a joiner reads, per
 * writer, a checkpoint, a tail and claims to check no bigger than it, and a writer rewrites
 * its checkpoint once per about its own size in events.
 */
export function isOwnCheckpointDue(
  since: { events: number; segments: number; others?: number },
  kept: number,
  every = CHECKPOINT_EVERY,
): boolean {
  const events = Math.max(every.events, kept);
  const segments = Math.max(every.segments, Math.ceil(kept / 64));
  return since.events >= events || since.segments >= segments || (kept > 0 && (since.others ?? 0) >= events);
}

/**
 * Whether this client's latest checkpoint holds many claims (at least as many as events
 * would make it due) while a writer whose versions they are about has checkpointed since it
 * judged them: that checkpoint may have left those versions out, and the claims with them.
 * One listing, only then.
 */
async function isClaimHeavyAndStale(store: ObjectStore, mark: OwnCheckpointMark | undefined, every: CheckpointEvery): Promise<boolean> {
  if (mark === undefined || (mark.claims ?? 0) < Math.max(every.events, mark.versions)) return false;
  const { latest } = await listCheckpoints(store);
  return (mark.owners ?? []).some((w) => (latest.get(w) ?? 0) > (mark.relies?.[w] ?? 0));
}

/** `isClaimHeavyAndStale` for this client (one meta read; a listing only for a checkpoint full of claims). */
export async function isClaimRewriteDue(ctx: { index: SyncIndex; store: ObjectStore }, every = CHECKPOINT_EVERY): Promise<boolean> {
  if (ctx.index.getMeta === undefined) return false;
  return isClaimHeavyAndStale(ctx.store, await ctx.index.getMeta<OwnCheckpointMark>(MARK_META_KEY), every);
}

/**
 * Whether this client's own log, or the others', has grown enough since its last checkpoint
 * (`isOwnCheckpointDue`; `othersEvents`: the other writers' events this sync fetched), or its
 * claims could shrink (`isClaimHeavyAndStale`). Counts only the own segments published since
 * it last counted (kept in the index, unless due).
 */
export async function checkOwnCheckpointDue(
  ctx: { index: SyncIndex; store: ObjectStore },
  self: ClientId,
  othersEvents: number,
  every = CHECKPOINT_EVERY,
): Promise<boolean> {
  const { index } = ctx;
  if (index.getMeta === undefined) return false;
  const mark = await index.getMeta<OwnCheckpointMark>(MARK_META_KEY);
  const before = (await index.getMeta<OwnLogSince>(SINCE_META_KEY)) ?? { seq: mark?.seq ?? 0, events: 0, segments: 0 };
  let { seq, events, segments } = before;
  const others = (before.others ?? 0) + othersEvents;
  for await (const rec of index.iterateSegments(self, seq + 1)) {
    if (rec.client !== self || rec.seq <= seq) continue;
    seq = rec.seq;
    segments++;
    events += decodeTrustedSegment(rec.bytes).events.length;
  }
  const due =
    isOwnCheckpointDue({ events, segments, others }, mark?.versions ?? 0, every) || (await isClaimHeavyAndStale(ctx.store, mark, every));
  const since: OwnLogSince = { seq, events, segments, others };
  if (!due && (seq !== before.seq || othersEvents > 0)) await index.commitBatch({ meta: { [SINCE_META_KEY]: since } });
  return due;
}

/**
 * How far the other writers' checkpoints had read, as far as this client can tell from their
 * segments: per writer, its highest checkpoint whose segment this client holds (or joined
 * from), with that segment's `seen`. A joiner uses that writer's latest checkpoint, which has
 * read at least as far.
 */
async function readCoverage(
  ctx: LogContext,
  self: ClientId,
  cursors: ReadonlyMap<string, { seq: number }>,
): Promise<Map<string, CheckpointCoverage>> {
  const { seqs } = await listCheckpointSeqs(ctx.store);
  const joined = new Map(
    (await readHeldCheckpoints(ctx.index))?.map(decodeTrustedWriterCheckpoint).map((b) => [b.client as string, b] as const) ?? [],
  );
  const out = new Map<string, CheckpointCoverage>();
  for (const [writer, list] of seqs) {
    const seq = [...list].reverse().find((q) => q <= (cursors.get(writer)?.seq ?? 0));
    if (writer === self || seq === undefined) continue;
    const body = joined.get(writer);
    if (body?.seq === seq) out.set(writer, { seq, seen: body.segment.seen });
    else
      for await (const rec of ctx.index.iterateSegments(writer as ClientId, seq)) {
        if (rec.client === writer && rec.seq === seq) out.set(writer, { seq, seen: decodeTrustedSegment(rec.bytes).seen });
        break;
      }
  }
  return out;
}

/** This client's latest own segment, as stored. */
async function readOwnSegment(index: SyncIndex, self: ClientId, seq: number): Promise<SegmentBody | undefined> {
  for await (const rec of index.iterateSegments(self, seq))
    return rec.client === self && rec.seq === seq ? decodeTrustedSegment(rec.bytes) : undefined;
  return undefined;
}

/** True when the segment's `seen` is exactly this client's frontier of the other logs. */
function isSeenAtFrontier(seg: SegmentBody | undefined, frontier: ReadonlyMap<string, { seq: number }>, self: string): boolean {
  if (seg === undefined) return false;
  const others = [...frontier].filter(([c]) => c !== self);
  return Object.keys(seg.seen).length === others.length && others.every(([c, cur]) => seg.seen[c] === cur.seq);
}

function sameFrontier(a: Readonly<Record<string, number>>, b: ReadonlyMap<string, { seq: number }>): boolean {
  if (Object.keys(a).length !== b.size) return false;
  for (const [c, cur] of b) if (a[c] !== cur.seq) return false;
  return true;
}

/** Where this client's next checkpoint stands, and its previous one. */
interface OwnCheckpointPlace {
  readonly seq: number;
  readonly hash: string;
  readonly previous: WriterCheckpointBody | undefined;
}

/**
 * Where this client's checkpoint of its own log (already fetched and folded in `log`) goes:
 * its latest segment. A checkpoint stands on a segment of its writer whose `seen` is exactly
 * what the state it is computed from has read (so that others can tell what it knew): when
 * this client has no segment yet, its latest already has a checkpoint, or has read less than
 * the fold, it first publishes an empty segment (an acknowledgement of the fold's frontier).
 * Null when this client's latest checkpoint stands at its latest segment and nobody's log
 * moved since.
 */
async function prepareOwnCheckpoint(ctx: LogContext, log: OpenLog): Promise<OwnCheckpointPlace | null> {
  const self = ctx.identity.client;
  const mark = ctx.index.getMeta ? await ctx.index.getMeta<OwnCheckpointMark>(MARK_META_KEY) : undefined;
  const written = (await listCheckpoints(ctx.store)).latest.get(self) ?? 0;
  const latest = log.frontier.get(self);
  if (latest !== undefined && latest.seq === mark?.seq && sameFrontier(mark.frontier, log.frontier)) return null;
  const taken = latest === undefined || latest.seq <= Math.max(written, mark?.seq ?? 0);
  if (taken || !isSeenAtFrontier(await readOwnSegment(ctx.index, self, latest.seq), log.frontier, self))
    await publishOwnSegment(ctx, log, [], log.baseline);
  const own = log.frontier.get(self)!;
  const previousBytes = await readOwnCheckpointBytes(ctx.index);
  return { seq: own.seq, hash: own.hash, previous: previousBytes === undefined ? undefined : decodeTrustedWriterCheckpoint(previousBytes) };
}

/** What a written checkpoint holds, for the mark and the report. */
type WrittenCheckpoint = Pick<RangedCheckpoint, 'bytes' | 'seq' | 'paths' | 'versions' | 'claims' | 'owners' | 'relies'>;

/** Publishes the checkpoint and remembers it, with where it stands, in the index. */
async function commitOwnCheckpoint(ctx: LogContext, log: OpenLog, cp: WrittenCheckpoint): Promise<OwnCheckpointReport> {
  const self = ctx.identity.client;
  await writeWriterCheckpointBytes(ctx.store, self, cp.seq, cp.bytes);
  const frontier = Object.fromEntries([...log.frontier].map(([c, cur]) => [c, cur.seq]));
  const relies = Object.fromEntries(cp.relies.map((r) => [r.client, r.seq]));
  const next: OwnCheckpointMark = { seq: cp.seq, versions: cp.versions, claims: cp.claims, owners: [...cp.owners], relies, frontier };
  const since: OwnLogSince = { seq: cp.seq, events: 0, segments: 0, others: 0 };
  await ctx.index.commitBatch({ meta: { [OWN_META_KEY]: { bytes: cp.bytes }, [MARK_META_KEY]: next, [SINCE_META_KEY]: since } });
  return { client: self, seq: cp.seq, bytes: cp.bytes.length, paths: cp.paths, versions: cp.versions, claims: cp.claims };
}

/** The facts of this client's checkpoint at `place` besides its paths. */
async function readCheckpointFacts(ctx: LogContext, log: OpenLog, place: OwnCheckpointPlace) {
  const client = ctx.identity.client;
  const coverage = await readCoverage(ctx, client, log.frontier);
  const at = { vault: ctx.identity.vault, client, hash: place.hash, time: ctx.now().toISOString(), previous: place.previous };
  return { ...at, vaultState: log.state.vault, keyed: log.keyed, coverage };
}

/**
 * Writes this client's checkpoint of its own log from the whole fold in `log` (`bm-log
 * checkpoint`, gc, a sync that folded everything). See `prepareOwnCheckpoint`; null when
 * nothing moved since the last one.
 */
export async function executeOwnCheckpoint(ctx: LogContext, log: OpenLog): Promise<OwnCheckpointReport | null> {
  const place = await prepareOwnCheckpoint(ctx, log);
  if (place === null) return null;
  const self = ctx.identity.client;
  const after = place.previous?.seq ?? 0;
  const own: SegmentBody[] = [];
  for await (const rec of ctx.index.iterateSegments(self, after + 1))
    if (rec.client === self && rec.seq > after) own.push(decodeTrustedSegment(rec.bytes));
  own.sort((a, b) => a.seq - b.seq);
  const segment = own.find((s) => s.seq === place.seq)!;
  const paths = log.state.paths;
  const body = computeWriterCheckpoint({ ...(await readCheckpointFacts(ctx, log, place)), segment, own, paths });
  const bytes = encodeWriterCheckpoint(body, ctx.identity.keys.privateKey).bytes;
  const versions = body.paths.reduce((n, p) => n + p.versions.length, 0);
  const claims = body.paths.reduce((n, p) => n + p.replaced.length, 0) + body.collected.reduce((n, c) => n + c.versions.length, 0);
  const owners = computeClaimOwners(body, paths);
  return commitOwnCheckpoint(ctx, log, { bytes, seq: place.seq, paths: body.paths.length, versions, claims, owners, relies: body.relies });
}

/** The writers whose versions a checkpoint's claims are about (as this client's state knows them). */
function computeClaimOwners(body: WriterCheckpointBody, paths: ReadonlyMap<SyncPath, PathState>): string[] {
  const owners = new Set<string>();
  const add = (path: SyncPath, id: string) => {
    const owner = paths.get(path)?.versions.get(id as never)?.client;
    if (owner !== undefined) owners.add(owner);
  };
  for (const e of body.paths) for (const r of e.replaced) add(e.path, r.id);
  for (const c of body.collected) for (const id of c.versions) add(c.path, id);
  return [...owners].sort();
}

/** The index as a checkpoint's range reader, when its per-path rows stand for the whole fold of `log` (ADR-0009). */
async function indexSources(ctx: LogContext, log: OpenLog, after: number): Promise<CheckpointSources | undefined> {
  const { index } = ctx;
  const { iterateStatePaths, readPathRange, readPathStates, canReadPathStates } = index;
  if (!iterateStatePaths || !readPathRange || !readPathStates || !canReadPathStates || log.checkpoint !== undefined) return undefined;
  if (!(await canReadPathStates.call(index))) return undefined;
  const self = ctx.identity.client;
  return {
    own: async function* () {
      for await (const rec of index.iterateSegments(self, after + 1))
        if (rec.client === self && rec.seq > after) yield decodeTrustedSegment(rec.bytes);
    },
    paths: () => iterateStatePaths.call(index),
    readRange: async (from, to) => (await readPathRange.call(index, from, to)).states,
    readStates: (paths) => readPathStates.call(index, paths),
  };
}

/**
 * `executeOwnCheckpoint` for a sync that has not folded everything (lazy, ADR-0009): the
 * checkpoint is computed from the index's per-path rows a range of paths at a time and encoded
 * as it goes (ADR-0029), so the sync holds one range, not the whole fold. Undefined when the
 * index cannot serve that (no complete per-path rows, a state joined from checkpoints, or
 * paths it orders otherwise than the checkpoint): the caller folds everything and calls
 * `executeOwnCheckpoint`.
 */
export async function executeOwnCheckpointInRanges(ctx: LogContext, log: OpenLog): Promise<OwnCheckpointReport | null | undefined> {
  if ((await indexSources(ctx, log, 0)) === undefined) return undefined;
  const place = await prepareOwnCheckpoint(ctx, log);
  if (place === null) return null;
  const sources = (await indexSources(ctx, log, place.previous?.seq ?? 0))!;
  const facts = { ...(await readCheckpointFacts(ctx, log, place)), seq: place.seq };
  const cp = await computeCheckpointInRanges(facts, sources, ctx.identity.keys.privateKey);
  return cp === undefined ? undefined : commitOwnCheckpoint(ctx, log, cp);
}
