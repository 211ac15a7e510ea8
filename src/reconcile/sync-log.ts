import { BmError, ErrorCode } from '../errors.js';
import type { WriterCheckpointBody } from '../events/checkpoint-schema.js';
import { decodeTrustedSegment, type VerifiedSegment } from '../events/codec.js';
import type { ClientId, ContentHash } from '../events/ids.js';
import {
  fetchLogs,
  writeSegment,
  type ClientKey,
  type Cursor,
  type FetchedSegment,
  type FetchResult,
  type LogFault,
} from '../events/log.js';
import { computeCollectHashes } from '../events/packs.js';
import { computeEventContent, computeSegmentFormat, type ContentRef, type Event, type SegmentBody } from '../events/schema.js';
import type { ObjectStore } from '../events/store/object-store.js';
import { computeCondemnedRefs, computeNamingBan, type CondemnedRefs } from '../projections/blob-condemnation.js';
import { projectLogSegment, type LogState } from '../projections/project-log.js';
import { createVaultState, evolveVault, type Condemnation, type VaultState } from '../projections/project-vault.js';
import { executeFetchCheck, isSamePins, parseRemotePins, readVaultMarker, REMOTE_PINS_KEY } from './remote-check.js';
import { executeCheckCheckpoints } from './check-checkpoints.js';
import {
  executeJoin,
  executeSettleClaims,
  foldIndexWithCheckpoints,
  FORMAT1_META_KEY,
  readClaimVerdicts,
  readHeldCheckpoints,
} from './join-checkpoints.js';
import type { SyncIdentity, SyncIndex } from './ports.js';
import { executeBaseline, readHeldBaseline } from './snapshot-baseline.js';
import type { SnapshotPort } from '../events/store/snapshot-port.js';
import { executeLearnVaultRoot } from './member-state.js';
import type { VaultRootBody } from '../members/vault-root.js';

/**
 * The log side of a sync or a GC run: fetch and verify what is new (a new client joins from
 * the newest checkpoint), fold it into the log state, and publish this client's own segments
 * under the writer rules of ADR-0007. `runSync` and `executeGc` share it.
 */

/** Writers publish within this long of their fetch by default: half the default GC grace (1 h). */
export const DEFAULT_PUBLISH_DEADLINE_MS = 30 * 60 * 1000;

export interface LogContext {
  readonly store: ObjectStore;
  readonly index: SyncIndex;
  readonly identity: SyncIdentity;
  readonly now: () => Date;
  /** A new client (nothing fetched yet) starts from the writers' checkpoints (ADR-0014). Default true. */
  readonly joinFromCheckpoint?: boolean;
  /** Rule (i): a segment is published within this long of the fetch, or not at all. */
  readonly publishDeadlineMs?: number;
  /** The remote's bucket snapshots, where it has them (ADR-0034): the fetch takes its baseline. */
  readonly snapshots?: SnapshotPort | undefined;
}

/** A fetched, folded log, ready for planning and publishing. `publishOwnSegment` updates it. */
export interface OpenLog {
  readonly state: LogState;
  /** Cursors after the fetch, plus this client's own segments as they are published. */
  readonly frontier: Map<string, Cursor>;
  /** Display names of every known client. */
  readonly names: Map<string, string>;
  /** Clients with a verified key (pinned or first seen in this fetch). */
  readonly keyed: Set<ClientId>;
  /** Faults of the fetch, of checkpoints that failed their checks, and of checkpoint claims found false. */
  readonly faults: readonly LogFault[];
  /** Requests of the fetch (and of the checkpoint join, if any). */
  readonly requests: number;
  /** This client's clock when the fetch started. */
  readonly fetchStartMs: number;
  /** The writer checkpoints this client's state starts from (joined now or before), if any. */
  readonly checkpoint: readonly WriterCheckpointBody[] | undefined;
  /** True when this fetch joined from checkpoints. */
  readonly joinedNow: boolean;
  /** The bucket snapshot this run synced against (its fetch's baseline, ADR-0034); null without snapshots. */
  readonly baseline: string | null;
}

/**
 * The log state this client holds: its writer checkpoints (if it joined from some, without
 * the claims found false by its last sync) plus every segment in its index. Reads the whole
 * index: O(history after the checkpoints).
 */
export async function readLogState(
  index: SyncIndex,
): Promise<{ state: LogState; checkpoint: readonly WriterCheckpointBody[] | undefined }> {
  const excluded = new Set((await readClaimVerdicts(index)).bad);
  const fold = await foldIndexWithCheckpoints(index, await readHeldCheckpoints(index), { excluded, format1: true });
  return { state: fold.state, checkpoint: fold.checkpoints };
}

/** What a fetch brought, before it is folded (`foldFetchedLog`). */
export interface FetchedLog {
  readonly pinned: ReadonlyMap<ClientId, { publicKey: string; name: string }>;
  /** Keys of the checkpoint joined now, if any. */
  readonly joinKeys: readonly ClientKey[];
  readonly fetched: FetchResult;
  readonly faults: readonly LogFault[];
  readonly requests: number;
  readonly fetchStartMs: number;
  /** The writer checkpoints this client's state starts from (their object bytes), undefined when none. */
  readonly checkpointBytes: readonly Uint8Array[] | undefined;
  readonly joinedNow: boolean;
  /** This client's own objects that had vanished from the remote and were put back (ADR-0015). */
  readonly restored: readonly string[];
  /** The bucket snapshot this fetch synced against (ADR-0034); null without snapshots. */
  readonly baseline: string | null;
  /** The vault root (ADR-0021), when the vault has one: held, or learnt by this fetch (a dry run's is not stored). */
  readonly root?: VaultRootBody;
}

/**
 * True when the fetch brought nothing that could change a plan: no fault or join, and no
 * segment with an event. Acknowledgements (segments without events) change only who has
 * seen what: not the paths, and not whether this client owes an acknowledgement. A new
 * client's key changes only the names of its versions' conflict copies, and with no event
 * fetched it has no version here (no segment of a client is folded before its key).
 */
export function isPlanNeutral(f: FetchedLog): boolean {
  return f.fetched.fetchedEvents === 0 && f.faults.length === 0 && !f.joinedNow;
}

/**
 * Fetches and verifies every client's new segments and commits them to the index (not with
 * `dryRun`). A client that has fetched nothing yet and holds no checkpoint first joins from
 * the writers' checkpoints (ADR-0014, `executeJoin`): it keeps them and fetches each log only
 * after its writer's checkpoint. A client that an older bm-log joined from a format-1
 * checkpoint fetches every log from its start instead, and drops that checkpoint.
 *
 * With `stream` (not with `dryRun`) the segments are committed in groups as they are
 * verified and not kept (`fetched.segments` is empty): for a sync that reads them back from
 * the index (every sync but a dry run or a lazy one, which folds them from here).
 */
export async function fetchNewSegments(ctx: LogContext, options: { dryRun: boolean; stream?: boolean }): Promise<FetchedLog> {
  const { index, store, identity } = ctx;
  const fetchStartMs = ctx.now().getTime();
  const pinned = await index.getPinnedKeys();
  // Its own key is known here, whatever the remote holds: its own log is always read (and its
  // key put back if it vanished, ADR-0015).
  if (!pinned.has(identity.client)) {
    const self = { publicKey: identity.keys.publicKeyHex, name: identity.name };
    if (!options.dryRun) await index.pinKeys([{ client: identity.client, ...self }]);
    pinned.set(identity.client, self);
  }
  const pinnedKeys = new Map<string, ClientKey>([...pinned].map(([c, k]) => [c, { client: c, name: k.name, publicKeyHex: k.publicKey }]));
  let cursors = await index.getCursors();
  let checkpointBytes = await readHeldCheckpoints(index);
  const format1 = index.getMeta !== undefined && (await index.getMeta<Uint8Array>(FORMAT1_META_KEY)) !== undefined;
  if (format1) cursors = new Map();
  let requests = 0;
  const faults: LogFault[] = [];
  const joinKeys: ClientKey[] = [];
  let joinedNow = false;
  const fresh = cursors.size === 0 && !format1 && checkpointBytes === undefined;
  // A vault with a root is joined from its logs, not from checkpoints (ADR-0021: every member event must be folded).
  const root = fresh ? await executeLearnVaultRoot(store, index, identity.vault, { dryRun: options.dryRun }) : undefined;
  if (fresh && root === undefined && ctx.joinFromCheckpoint !== false && index.getMeta !== undefined) {
    const join = await executeJoin(store, index, identity.vault, pinnedKeys, options.dryRun);
    requests += join.requests;
    faults.push(...join.faults);
    if (join.joined !== undefined) {
      for (const k of join.joined.keys) {
        pinnedKeys.set(k.client, k);
        joinKeys.push(k);
      }
      cursors = join.joined.cursors;
      checkpointBytes = join.joined.checkpoints;
      joinedNow = true;
    }
  }

  const committer = new GroupCommitter(index);
  const stream = options.stream === true && !options.dryRun;
  const pins = parseRemotePins(await index.getMeta?.<unknown>(REMOTE_PINS_KEY).catch(() => undefined));
  // The vault marker is read beside the listings (ADR-0015: one request of a no-op sync's few).
  const vault = readVaultMarker(store);
  vault.catch(() => undefined); // awaited below; not an unhandled rejection if the fetch fails first
  const fetched = await fetchLogs(store, {
    vault: identity.vault,
    cursors,
    pinnedKeys,
    self: identity.client,
    auditAfter: pins.auditAfter,
    ...(stream ? { onSegments: (segments, key) => committer.take(segments, key) } : {}),
  });
  requests += fetched.requests;
  faults.push(...fetched.faults);
  const learnt =
    root ?? (await executeLearnVaultRoot(store, index, identity.vault, { listedKeys: fetched.listedKeys, dryRun: options.dryRun }));
  if (!options.dryRun) {
    // (A streamed fetch pinned each new key before its segments; pinning again changes nothing.)
    if (fetched.newKeys.length > 0) await index.pinKeys(fetched.newKeys.map(pinOf));
    if (!stream) await committer.take(fetched.segments, undefined);
    await committer.flush();
    if (format1) await index.commitBatch({ meta: { [FORMAT1_META_KEY]: undefined } });
  }
  // Own objects that vanished are put back, others' vanished or replaced ones are faults (ADR-0015).
  const keys = new Map<string, { publicKey: string; name: string }>(pinned);
  for (const k of joinKeys) keys.set(k.client, { publicKey: k.publicKeyHex, name: k.name });
  // Objects seen before that vanished may be read back from the last baseline (ADR-0034).
  const held = await readHeldBaseline(index);
  const from = ctx.snapshots !== undefined && held !== undefined ? { snapshots: ctx.snapshots, version: held } : undefined;
  const checkCtx = { store, index, identity, now: ctx.now, keys, dryRun: options.dryRun, ...(from ? { baseline: from } : {}) };
  const checked = await executeFetchCheck(checkCtx, { fetched, before: cursors, pins, vault: await vault });
  requests += checked.requests;
  faults.push(...checked.faults);
  if (!options.dryRun && !isSamePins(pins, checked.pins)) await index.commitBatch({ meta: { [REMOTE_PINS_KEY]: checked.pins } });
  // Taken after every read and put-back of the fetch: it holds all this run synced against.
  const broughtNews = fetched.fetchedSegments > 0 || joinedNow;
  const baseline = await executeBaseline(ctx, held, { broughtNews, dryRun: options.dryRun });
  const restored = checked.restored;
  const found = { ...(learnt === undefined ? {} : { root: learnt }) };
  return { pinned, joinKeys, fetched, faults, requests, fetchStartMs, checkpointBytes, joinedNow, restored, baseline, ...found };
}

/**
 * A commit of fetched segments holds at most about this many events (at least one segment):
 * with their history and collection rows, one batch of a 100,000-file log was the largest
 * allocation of a new client's first sync (ADR-0010).
 */
const COMMIT_EVENTS = 8000;

/**
 * Commits fetched segments (each client's in seq order, as `take` is given them) in groups,
 * each with the cursors of its own last segments: a crash between groups leaves a prefix of
 * every client's log, which the next fetch continues from. A group keeps only the segments'
 * bytes, not their decoded events.
 */
class GroupCommitter {
  private group: { client: ClientId; seq: number; bytes: Uint8Array }[] = [];
  private cursors = new Map<ClientId, Cursor>();
  private events = 0;

  constructor(private readonly index: SyncIndex) {}

  /** Adds `segments` (pinning `key` first, a new client's), committing each full group. */
  async take(segments: readonly FetchedSegment[], key: ClientKey | undefined): Promise<void> {
    if (key !== undefined) await this.index.pinKeys([pinOf(key)]);
    for (const s of segments) {
      const n = s.segment.body.events.length;
      if (this.group.length > 0 && this.events + n > COMMIT_EVENTS) await this.flush();
      this.group.push({ client: s.client, seq: s.seq, bytes: s.segment.bytes });
      this.cursors.set(s.client, { seq: s.seq, hash: s.segment.hash });
      this.events += n;
    }
  }

  /** Commits the group being filled, if any. */
  async flush(): Promise<void> {
    if (this.group.length === 0) return;
    const group = { segments: this.group, cursors: this.cursors };
    this.group = [];
    this.cursors = new Map();
    this.events = 0;
    await this.index.commitBatch(group);
  }
}

function pinOf(k: ClientKey): { client: ClientId; publicKey: string; name: string } {
  return { client: k.client as ClientId, publicKey: k.publicKeyHex, name: k.name };
}

/**
 * `f` without the fetched segments' bodies and bytes, once they are in the index and folded
 * (not for a dry run, whose fold reads them from here): a new client's fetch of a
 * 100,000-file log held ~100,000 decoded events for the whole sync. The cursors, new keys,
 * faults and request count stay.
 */
export function releaseFetchedSegments(f: FetchedLog): FetchedLog {
  if (f.fetched.segments.length === 0) return f;
  return { ...f, fetched: { ...f.fetched, segments: [] } };
}

/** Whether every segment the fetch brought is still at hand (not streamed or let go). */
export function holdsFetchedSegments(f: FetchedLog): boolean {
  return f.fetched.segments.length === f.fetched.fetchedSegments;
}

/**
 * Folds the checkpoints and every stored segment (plus, in a dry run, what was fetched). A
 * state that starts from writer checkpoints has the claims it depends on checked against
 * their writers' segments first (`executeSettleClaims`): those found false are left out and
 * reported as faults.
 */
export async function foldFetchedLog(ctx: LogContext, f: FetchedLog, options: { dryRun: boolean }): Promise<OpenLog> {
  if (options.dryRun && !holdsFetchedSegments(f))
    throw new BmError(ErrorCode.internal, "a dry run's fetched segments were let go before its fold");
  const extra = options.dryRun ? f.fetched.segments.map((s) => s.segment.body) : [];
  const root = f.root === undefined ? {} : { root: f.root };
  const fold = (excluded: ReadonlySet<string>) => foldIndexWithCheckpoints(ctx.index, f.checkpointBytes, { excluded, extra, ...root });
  const first = await fold(new Set((await readClaimVerdicts(ctx.index)).bad));
  const bodies = first.checkpoints;
  const where = { store: ctx.store, index: ctx.index, vault: ctx.identity.vault };
  const pinned = new Map<string, ClientKey>([...f.pinned].map(([c, k]) => [c, { client: c, name: k.name, publicKeyHex: k.publicKey }]));
  for (const k of [...f.joinKeys, ...f.fetched.newKeys]) pinned.set(k.client, k);
  if (bodies === undefined) {
    // The whole history: the other writers' checkpoints are checked against it (ADR-0014).
    const checked = await executeCheckCheckpoints({ ...where, pinned }, first.state, f.fetched.cursors, options.dryRun);
    return openLog(ctx, f, first.state, undefined, checked);
  }
  const settled = await executeSettleClaims({ ...where, pinned }, { ...first, checkpoints: bodies }, fold, options.dryRun);
  return openLog(ctx, f, settled.state, bodies, settled.faults);
}

/**
 * The log of a lazy sync (ADR-0009): the vault state as the clean-state record kept it, plus
 * the fetched segments (already committed to the index); no path yet. The caller loads the
 * paths it plans into `state.paths` from the index's per-path rows before planning them.
 */
export function openLazyLog(ctx: LogContext, f: FetchedLog, vault: VaultState): OpenLog {
  for (const s of f.fetched.segments) evolveVault(vault, s.segment.body);
  return openLog(ctx, f, { paths: new Map(), vault }, undefined, []);
}

/**
 * The log of a first sync in stages (ADR-0011): the vault state folded from every stored
 * segment (a fetched one is stored before this), and no path: each stage reads its paths'
 * states from the index's per-path rows.
 */
export async function openStagedLog(ctx: LogContext, f: FetchedLog): Promise<OpenLog> {
  const vault = createVaultState();
  for await (const rec of ctx.index.iterateSegments()) evolveVault(vault, decodeTrustedSegment(rec.bytes));
  return openLog(ctx, f, { paths: new Map(), vault }, undefined, []);
}

function openLog(
  ctx: LogContext,
  f: FetchedLog,
  state: LogState,
  checkpoint: OpenLog['checkpoint'],
  claimFaults: readonly LogFault[],
): OpenLog {
  const { identity } = ctx;
  const names = new Map<string, string>([...f.pinned].map(([c, k]) => [c, k.name]));
  for (const k of [...f.joinKeys, ...f.fetched.newKeys]) names.set(k.client, k.name);
  names.set(identity.client, identity.name);
  const keyed = new Set<ClientId>([...f.pinned.keys(), ...f.joinKeys.map((k) => k.client), ...f.fetched.newKeys.map((k) => k.client)]);
  const faults = claimFaults.length === 0 ? f.faults : [...f.faults, ...claimFaults];
  const { requests, fetchStartMs, joinedNow, baseline } = f;
  return { state, frontier: new Map(f.fetched.cursors), names, keyed, faults, requests, fetchStartMs, checkpoint, joinedNow, baseline };
}

/**
 * Fetches and verifies every client's new segments and folds them (see `fetchNewSegments`).
 * With `dryRun` nothing is written to the index (the fetched part is folded in memory only).
 */
export async function executeFetchLog(ctx: LogContext, options: { dryRun: boolean }): Promise<OpenLog> {
  return foldFetchedLog(ctx, await fetchNewSegments(ctx, options), options);
}

/** Who names each condemned blob, per log, recomputed when the log's segments change. */
const refsCache = new WeakMap<OpenLog, { readonly segments: number; readonly refs: CondemnedRefs }>();

function condemnedRefsOf(log: OpenLog): CondemnedRefs {
  let segments = 0;
  for (const s of log.state.vault.latest.values()) segments += s.seq;
  const cached = refsCache.get(log);
  if (cached !== undefined && cached.segments === segments) return cached.refs;
  const refs = computeCondemnedRefs(log.state.paths, log.state.vault);
  refsCache.set(log, { segments, refs });
  return refs;
}

/** Why a blob may not be named now (rule ii), or undefined when it may. */
export function computeBlobBanNow(log: OpenLog, hash: ContentHash, nowMs: number): Condemnation | undefined {
  if (!log.state.vault.condemnations.has(hash)) return undefined;
  return computeNamingBan(hash, nowMs, log.state.vault, condemnedRefsOf(log));
}

/** Why a content may not be named now (rule ii): a ban on its bytes' hash, or on its pack (ADR-0035). */
export function computeContentBanNow(log: OpenLog, ref: ContentRef, nowMs: number): Condemnation | undefined {
  for (const hash of computeCollectHashes(ref)) {
    const ban = computeBlobBanNow(log, hash, nowMs);
    if (ban !== undefined) return ban;
  }
  return undefined;
}

/** The notice a writer gives for content it may not name while a GC collects its blob. */
export const BEING_COLLECTED = 'content is being collected; will upload again after GC';

/**
 * Publishes `events` (at most one segment's worth; none makes an acknowledgement) as this
 * client's next segment, commits it to the index with its cursor, and folds it into `log`.
 * Right before the write it enforces the writer rules of ADR-0007: (i) the fetch is at most
 * `publishDeadlineMs` old, and (ii) no named blob is banned by a condemnation; either failure
 * throws stale-fetch (retryable) and publishes nothing. A GC run's own event names no blob and
 * may come late (`deadline: false`): its condemnations take its publish time, and an event
 * published meanwhile voids them.
 */
export async function publishOwnSegment(
  ctx: LogContext,
  log: OpenLog,
  events: readonly Event[],
  snapshot: string | null,
  options: { readonly deadline?: boolean } = {},
): Promise<VerifiedSegment> {
  const { identity, store, index } = ctx;
  const now = ctx.now();
  const deadline = ctx.publishDeadlineMs ?? DEFAULT_PUBLISH_DEADLINE_MS;
  if (options.deadline !== false && now.getTime() - log.fetchStartMs > deadline) {
    throw new BmError(
      ErrorCode.staleFetch,
      `this run fetched the log ${formatSeconds(now.getTime() - log.fetchStartMs)} ago, longer than the ${formatSeconds(deadline)} a writer may take before publishing`,
      'nothing was published; run it again (content already uploaded is kept, so the next run publishes quickly)',
    );
  }
  if (log.state.vault.condemnations.size > 0) {
    for (const e of events) {
      const content = computeEventContent(e);
      if (content === null) continue;
      const ban = computeContentBanNow(log, content, now.getTime());
      if (ban !== undefined) {
        throw new BmError(
          ErrorCode.staleFetch,
          `${content.pack === undefined ? 'blob' : 'packed content'} ${content.hash} was condemned by a garbage collection ` +
            `at ${ban.time}, too long ago to name it now`,
          `nothing was published; run it again (${BEING_COLLECTED})`,
        );
      }
    }
  }
  const seen: Record<string, number> = {};
  for (const [c, cur] of log.frontier) if (c !== identity.client) seen[c] = cur.seq;
  const own = log.frontier.get(identity.client);
  const body: SegmentBody = {
    v: computeSegmentFormat(events),
    vault: identity.vault,
    client: identity.client,
    seq: (own?.seq ?? 0) + 1,
    prev: (own?.hash ?? null) as SegmentBody['prev'],
    time: now.toISOString(),
    seen,
    snapshot,
    events: [...events],
  };
  const seg = await writeSegment(store, body, identity.keys);
  const cursor = { seq: body.seq, hash: seg.hash };
  log.frontier.set(identity.client, cursor);
  await index.commitBatch({
    segments: [{ client: identity.client, seq: body.seq, bytes: seg.bytes }],
    cursors: new Map([[identity.client, cursor]]),
  });
  projectLogSegment(log.state, body);
  return seg;
}

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}
