import type { WriterCheckpointBody } from '../events/checkpoint-schema.js';
import { listCheckpoints, writeWriterCheckpoint } from '../events/checkpoints.js';
import { decodeTrustedSegment, decodeTrustedWriterCheckpoint } from '../events/codec.js';
import type { ClientId } from '../events/ids.js';
import type { SegmentBody } from '../events/schema.js';
import type { SyncPath } from '../events/sync-path.js';
import { computeCheckpointPaths, computeWriterCheckpoint, type CheckpointCoverage } from '../projections/compute-writer-checkpoint.js';
import type { PathState } from '../projections/project-paths.js';
import { readHeldCheckpoints } from './join-checkpoints.js';
import type { SyncIndex } from './run-sync.js';
import { publishOwnSegment, type LogContext, type OpenLog } from './sync-log.js';

/**
 * A writer's checkpoint of its own log (ADR-0014): written by `bm-log checkpoint`, by `gc`,
 * and by a sync whose own log has grown enough since the last one (`isOwnCheckpointDue`).
 */

/** Meta key: this client's latest checkpoint (its object bytes). */
const OWN_META_KEY = 'ownCheckpoint';
/** Meta key: where it stands and how big it is, read by every sync (`OwnCheckpointMark`). */
const MARK_META_KEY = 'ownCheckpointMark';

/** A sync writes a checkpoint once its own log holds this many events since the last one (or as many as that one keeps, if more)... */
export const CHECKPOINT_EVENTS = 1000;
/** ...or this many segments (acknowledgements count: a joiner reads each), or one per 64 versions it keeps, if more. */
export const CHECKPOINT_SEGMENTS = 256;

/** Where this client's latest checkpoint stands, and the frontier it was written at. */
interface OwnCheckpointMark {
  readonly seq: number;
  readonly versions: number;
  readonly frontier: Readonly<Record<string, number>>;
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

/** This client's own segments after `seq`, decoded, in seq order. */
async function readOwnSince(index: SyncIndex, self: ClientId, seq: number): Promise<SegmentBody[]> {
  const out: SegmentBody[] = [];
  for await (const rec of index.iterateSegments(self, seq + 1)) if (rec.client === self && rec.seq > seq) out.push(decodeTrustedSegment(rec.bytes));
  return out.sort((a, b) => a.seq - b.seq);
}

/**
 * Pure: whether a sync should write its own checkpoint: its log since the last one holds at
 * least `CHECKPOINT_EVENTS` events (or as many as that checkpoint keeps versions, if more:
 * a checkpoint is rewritten about as often as it costs), or `CHECKPOINT_SEGMENTS` segments
 * (or one per 64 versions kept). So a joiner reads, per writer, a checkpoint and a tail no
 * bigger than it, and a writer rewrites its checkpoint once per its own size in events.
 */
export function isOwnCheckpointDue(since: { events: number; segments: number }, keptVersions: number): boolean {
  return since.events >= Math.max(CHECKPOINT_EVENTS, keptVersions) || since.segments >= Math.max(CHECKPOINT_SEGMENTS, Math.ceil(keptVersions / 64));
}

/** Whether this client's own log has grown enough since its last checkpoint (reads only its segments since). */
export async function checkOwnCheckpointDue(index: SyncIndex, self: ClientId): Promise<boolean> {
  const mark = index.getMeta ? await index.getMeta<OwnCheckpointMark>(MARK_META_KEY) : undefined;
  let events = 0;
  let segments = 0;
  for await (const rec of index.iterateSegments(self, (mark?.seq ?? 0) + 1)) {
    if (rec.client !== self || rec.seq <= (mark?.seq ?? 0)) continue;
    segments++;
    events += decodeTrustedSegment(rec.bytes).events.length;
  }
  return isOwnCheckpointDue({ events, segments }, mark?.versions ?? 0);
}

/** How far the other writers' latest checkpoints had read (their segment's `seen`), as far as this client knows. */
async function readCoverage(ctx: LogContext, self: ClientId): Promise<Map<string, CheckpointCoverage>> {
  const { latest } = await listCheckpoints(ctx.store);
  const joined = new Map((await readHeldCheckpoints(ctx.index))?.map(decodeTrustedWriterCheckpoint).map((b) => [b.client, b] as const) ?? []);
  const out = new Map<string, CheckpointCoverage>();
  for (const [writer, seq] of latest) {
    if (writer === self) continue;
    const body = joined.get(writer as ClientId);
    if (body?.seq === seq) {
      out.set(writer, { seq, seen: body.segment.seen });
      continue;
    }
    for await (const rec of ctx.index.iterateSegments(writer as ClientId, seq)) {
      if (rec.client === writer && rec.seq === seq) out.set(writer, { seq, seen: decodeTrustedSegment(rec.bytes).seen });
      break;
    }
  }
  return out;
}

function sameFrontier(a: Readonly<Record<string, number>>, b: ReadonlyMap<string, { seq: number }>): boolean {
  if (Object.keys(a).length !== b.size) return false;
  for (const [c, cur] of b) if (a[c] !== cur.seq) return false;
  return true;
}

/**
 * Writes this client's checkpoint of its own log (already fetched and folded in `log`) at its
 * latest segment. A checkpoint stands on a segment of its writer: when this client has none
 * yet, or its latest already has a checkpoint, it first publishes an empty segment (an
 * acknowledgement of the same frontier). `pathStates` gives the states of the paths the
 * checkpoint looks at (the log's own, when it folded everything). Returns null when this
 * client's latest checkpoint stands at its latest segment and nobody's log moved since.
 */
export async function executeOwnCheckpoint(ctx: LogContext, log: OpenLog, pathStates?: (paths: ReadonlySet<SyncPath>) => Promise<ReadonlyMap<SyncPath, PathState>>): Promise<OwnCheckpointReport | null> {
  const self = ctx.identity.client;
  const mark = ctx.index.getMeta ? await ctx.index.getMeta<OwnCheckpointMark>(MARK_META_KEY) : undefined;
  const written = (await listCheckpoints(ctx.store)).latest.get(self) ?? 0;
  let own = log.frontier.get(self);
  if (own !== undefined && own.seq === mark?.seq && sameFrontier(mark.frontier, log.frontier)) return null;
  if (own === undefined || own.seq <= Math.max(written, mark?.seq ?? 0)) {
    await publishOwnSegment(ctx, log, [], null);
    own = log.frontier.get(self)!;
  }
  const previousBytes = ctx.index.getMeta ? await ctx.index.getMeta<Uint8Array>(OWN_META_KEY) : undefined;
  const previous: WriterCheckpointBody | undefined = previousBytes === undefined ? undefined : decodeTrustedWriterCheckpoint(previousBytes);
  const ownSegments = await readOwnSince(ctx.index, self, previous?.seq ?? 0);
  const segment = ownSegments.find((s) => s.seq === own.seq)!;
  const wanted = computeCheckpointPaths(previous, ownSegments);
  const paths = pathStates === undefined ? log.state.paths : await pathStates(wanted);
  const body = computeWriterCheckpoint({
    vault: ctx.identity.vault,
    client: self,
    segment,
    hash: own.hash,
    time: ctx.now().toISOString(),
    previous,
    own: ownSegments,
    paths,
    vaultState: log.state.vault,
    keyed: log.keyed,
    coverage: await readCoverage(ctx, self),
  });
  const cp = await writeWriterCheckpoint(ctx.store, body, ctx.identity.keys);
  const versions = body.paths.reduce((n, p) => n + p.versions.length, 0);
  const claims = body.paths.reduce((n, p) => n + p.replaced.length, 0) + body.collected.reduce((n, c) => n + c.versions.length, 0);
  const frontier = Object.fromEntries([...log.frontier].map(([c, cur]) => [c, cur.seq]));
  await ctx.index.commitBatch({ meta: { [OWN_META_KEY]: cp.bytes, [MARK_META_KEY]: { seq: own.seq, versions, frontier } satisfies OwnCheckpointMark } });
  return { client: self, seq: own.seq, bytes: cp.bytes.length, paths: body.paths.length, versions, claims };
}
