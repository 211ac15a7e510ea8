import type { OwnContext, WriterCheckpointBody, WriterVersion } from '../events/checkpoint-schema.js';
import type { ClientId, VersionId } from '../events/ids.js';
import { isPathEvent, type PathEvent, type SegmentBody } from '../events/schema.js';
import type { SyncPath } from '../events/sync-path.js';
import { mayApply } from '../members/may-apply.js';
import type { LogState } from './project-log.js';
import { collectPath, computeHeads, emptyPathState, evolvePath, type PathState } from './project-paths.js';
import { addCondemnation, addConfig, addDeletion, addNamer } from './project-vault.js';
import type { VersionRecord } from './version-record.js';

/**
 * The reading side of writer checkpoints (ADR-0014). A joiner folds the latest checkpoint of
 * every writer (in any order, any number of times: every part is a union or a maximum) and
 * then each writer's segments after its checkpoint. A checkpoint speaks only for its own
 * writer's log; the statements in it that touch another writer's versions (a replaced or
 * collected id of theirs, or a version of its own at a path where they have one) are
 * *claims*, which the joiner checks against the writer's own signed segment that made them
 * when they change what it would show (`planCheckpointProofs`).
 */

/** One statement of a writer checkpoint that may have to be checked against the writer's segment `seq`. */
export type CheckpointClaim =
  | (ClaimPlace & { readonly kind: 'version'; readonly record: VersionRecord })
  | (ClaimPlace & { readonly kind: 'replaced' })
  | (ClaimPlace & { readonly kind: 'collected' });

/** Whose claim it is, which of its segments made it, and the version it is about. */
interface ClaimPlace {
  readonly writer: ClientId;
  readonly seq: number;
  readonly path: SyncPath;
  readonly id: VersionId;
}

/** The record of a version a writer checkpoint keeps, from its stored form and its segment context. */
export function computeStoredRecord(path: SyncPath, v: WriterVersion, writer: ClientId, ctx: OwnContext): VersionRecord {
  const { seq, time, seen, snapshot } = ctx;
  return { id: v.id, path, type: v.type, client: writer, seq, time, replaces: v.replaces, content: v.content, seen, snapshot };
}

/** A claim's identity: writer, segment, kind, path and id. */
export function keyOfClaim(c: Pick<CheckpointClaim, 'writer' | 'seq' | 'kind' | 'path' | 'id'>): string {
  return `${c.writer}\u0000${c.seq}\u0000${c.kind}\u0000${c.path}\u0000${c.id}`;
}

const NOTHING: ReadonlySet<string> = new Set();

/** Every claim of a writer checkpoint, each version with its full record. */
export function* computeWriterClaims(body: WriterCheckpointBody): Generator<CheckpointClaim> {
  const writer = body.client;
  for (const e of body.paths) {
    for (const v of e.versions) {
      const ctx = body.contexts[v.ctx]!;
      yield { kind: 'version', writer, seq: ctx.seq, path: e.path, id: v.id, record: computeStoredRecord(e.path, v, writer, ctx) };
    }
    for (const r of e.replaced) yield { kind: 'replaced', writer, seq: r.seq, path: e.path, id: r.id };
  }
  for (const c of body.collected) for (const id of c.versions) yield { kind: 'collected', writer, seq: c.seq, path: c.path, id };
}

function withReplaced(state: PathState, id: VersionId): PathState {
  if (state.replaced.has(id)) return state;
  const replaced = new Set(state.replaced);
  replaced.add(id);
  return { ...state, replaced };
}

/** `path` and `id` as one key, for sets of contested version ids. */
export function keyOfVersionAt(path: string, id: string): string {
  return `${path}\u0000${id}`;
}

/** Adds to `contested` the versions of `incoming` whose id `state` already holds for another writer at that path. */
export function noteContested(state: LogState, incoming: Iterable<VersionRecord>, contested: Set<string>): void {
  for (const v of incoming) {
    const had = state.paths.get(v.path)?.versions.get(v.id);
    if (had !== undefined && had.client !== v.client) contested.add(keyOfVersionAt(v.path, v.id));
  }
}

/**
 * Pure: folds a writer checkpoint into `into` (mutated) and returns it, leaving out the claims
 * in `excluded` (keys). Versions whose id another writer's version already holds at that path
 * are added to `contested` (a writer could otherwise displace another's version by its id).
 */
export function projectWriterCheckpoint(
  body: WriterCheckpointBody,
  into: LogState,
  excluded: ReadonlySet<string> = NOTHING,
  contested?: Set<string>,
): LogState {
  const paths = into.paths;
  for (const c of computeWriterClaims(body)) {
    if (excluded.has(keyOfClaim(c))) continue;
    const st = paths.get(c.path) ?? emptyPathState;
    if (c.kind === 'version' && contested !== undefined) noteContested(into, [c.record], contested);
    if (c.kind === 'version') paths.set(c.path, evolvePath(st, c.record));
    else if (c.kind === 'replaced') paths.set(c.path, withReplaced(st, c.id));
    else paths.set(c.path, collectPath(st, [c.id]));
  }
  const vault = into.vault;
  const w = body.client;
  const prior = vault.latest.get(w);
  const { time, seen, events } = body.segment;
  if (prior === undefined || prior.seq < body.seq) vault.latest.set(w, { client: w, seq: body.seq, time, seen, events });
  if (body.lastEventful > (vault.lastEventful.get(w) ?? 0)) vault.lastEventful.set(w, body.lastEventful);
  for (const r of body.retired) vault.retired.add(r.client);
  // A config event counts only when its writer may publish one (ADR-0037: an admin, in a vault with members).
  const config = body.config;
  if (config !== undefined && (into.members === undefined || mayApply('config', { client: w, seq: config.seq }, into.members)))
    addConfig(vault, { client: w, ...config });
  for (const c of body.condemnations) {
    const ctx = body.contexts[c.ctx]!;
    addCondemnation(vault, { hash: c.hash, client: w, seq: ctx.seq, time: ctx.time, graceMs: c.graceMs, seen: ctx.seen, voided: false });
  }
  for (const d of body.deletions) {
    const ctx = body.contexts[d.ctx]!;
    addDeletion(vault, { hash: d.hash, client: w, seq: ctx.seq, time: ctx.time, seen: ctx.seen });
  }
  for (const n of body.namers) addNamer(vault, n.hash, w, n.seq);
  return into;
}

/** True when `v` came from a segment (a log tail), not from a checkpoint: its seq is past its writer's checkpoint. */
function isFromSegment(v: VersionRecord, checkpointSeq: ReadonlyMap<string, number>): boolean {
  return v.seq > (checkpointSeq.get(v.client) ?? 0);
}

/** Whether a version or a segment of `owner` itself replaces `id` at this path (then no other writer's claim is needed). */
function isReplacedByTrusted(st: PathState, id: VersionId, owner: ClientId, checkpointSeq: ReadonlyMap<string, number>): boolean {
  for (const v of st.versions.values()) if ((v.client === owner || isFromSegment(v, checkpointSeq)) && v.replaces.includes(id)) return true;
  return false;
}

/** Whether a claim, if false, would change another writer's versions in `state` (see `planCheckpointProofs`). */
function isClaimConsequential(
  c: CheckpointClaim,
  st: PathState,
  heads: ReadonlySet<VersionId>,
  seqs: ReadonlyMap<string, number>,
  contested: ReadonlySet<string>,
): boolean {
  if (c.kind === 'version') {
    if (contested.has(keyOfVersionAt(c.path, c.id))) return true;
    for (const v of st.versions.values()) {
      if (v.id === c.id) continue;
      // Another writer's version that it replaces, or beside which it stands as a head; or its
      // own from its log tail (the version there stands beside its own log's story).
      if (v.client !== c.writer && c.record.replaces.includes(v.id)) return true;
      if (heads.has(c.id) && (v.client !== c.writer || isFromSegment(v, seqs))) return true;
    }
    return false;
  }
  // Whether the claim hides its target now or not: a single version stands even when replaced
  // (computeHeads), so a claim about it starts to act once another version comes, perhaps
  // this client's own, mid-sync. It is checked while its target is there at all.
  const target = st.versions.get(c.id);
  if (target === undefined || target.client === c.writer) return false;
  return c.kind === 'collected' || !isReplacedByTrusted(st, c.id, target.client, seqs);
}

/**
 * Pure: the claims of `bodies` that must be checked against their writers' segments before
 * `state` (their fold, plus the log tails) can be trusted, leaving out those in `settled`.
 * A claim needs a check when, were it false, another writer's versions would show otherwise:
 * - a version of the checkpoint's writer that replaces another writer's version there, or is
 *   a head beside another writer's version or one of its own writer's log tail;
 * - a version whose id another writer's version holds at that path (`contested`);
 * - a replaced id of another writer's version that nothing else hides (no version of its
 *   owner and none from a log tail replaces it), or a collected one.
 * Anything else a checkpoint says is its writer's word about its own log, as its segments are.
 */
export function planCheckpointProofs(
  state: LogState,
  bodies: readonly WriterCheckpointBody[],
  settled: ReadonlySet<string> = NOTHING,
  contested: ReadonlySet<string> = NOTHING,
): CheckpointClaim[] {
  const checkpointSeq = new Map<string, number>(bodies.map((b) => [b.client, b.seq]));
  const headsOf = new Map<SyncPath, ReadonlySet<VersionId>>();
  const out: CheckpointClaim[] = [];
  for (const body of bodies) {
    for (const c of computeWriterClaims(body)) {
      const st = state.paths.get(c.path);
      if (st === undefined || settled.has(keyOfClaim(c))) continue;
      let heads = headsOf.get(c.path);
      if (heads === undefined) headsOf.set(c.path, (heads = new Set(computeHeads(st).map((h) => h.id))));
      if (isClaimConsequential(c, st, heads, checkpointSeq, contested)) out.push(c);
    }
  }
  return out;
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameSeen(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

function sameContent(a: VersionRecord['content'], b: VersionRecord['content']): boolean {
  return a === null || b === null ? a === b : a.hash === b.hash && a.size === b.size && a.mode === b.mode;
}

/**
 * One of a writer's segments, indexed for checking many claims against it: its path events by
 * path, and what its gc events collected by path.
 */
export class SegmentClaims {
  private readonly events = new Map<string, PathEvent[]>();
  private readonly collected = new Map<string, Set<string>>();

  constructor(readonly segment: SegmentBody) {
    for (const e of segment.events) {
      if (isPathEvent(e)) {
        const list = this.events.get(e.path);
        if (list === undefined) this.events.set(e.path, [e]);
        else list.push(e);
      } else if (e.type === 'gc') {
        for (const c of e.collected)
          for (const id of c.versions) this.collected.set(c.path, (this.collected.get(c.path) ?? new Set()).add(id));
      }
    }
  }

  /** Whether the segment (already verified as the writer's seq `claim.seq`) says what `claim` says. */
  says(claim: CheckpointClaim): boolean {
    const seg = this.segment;
    if (seg.client !== claim.writer || seg.seq !== claim.seq) return false;
    if (claim.kind === 'collected') return this.collected.get(claim.path)?.has(claim.id) === true;
    const events = this.events.get(claim.path) ?? [];
    if (claim.kind === 'replaced') return events.some((e) => e.replaces.includes(claim.id));
    const r = claim.record;
    if (seg.time !== r.time || seg.snapshot !== r.snapshot || !sameSeen(seg.seen, r.seen)) return false;
    const same = (e: PathEvent) =>
      e.id === r.id &&
      e.type === r.type &&
      sameIds(e.replaces, r.replaces) &&
      sameContent(e.type === 'tombstone' ? null : e.content, r.content);
    return events.some(same);
  }
}

/** Pure: whether the writer's segment `segment` (already verified as its seq `claim.seq`) says what `claim` says. */
export function isClaimInSegment(claim: CheckpointClaim, segment: SegmentBody): boolean {
  return new SegmentClaims(segment).says(claim);
}
