import type { WriterCheckpointBody } from '../events/checkpoint-schema.js';
import type { ClientId, VersionId } from '../events/ids.js';
import { computeCollectHashes } from '../events/packs.js';
import type { SegmentBody } from '../events/schema.js';
import type { SyncPath } from '../events/sync-path.js';
import type { CheckpointCoverage } from './compute-writer-checkpoint.js';
import type { LogState } from './project-log.js';
import { computeHeads } from './project-paths.js';
import { isCovered } from './project-vault.js';
import { computeWriterClaims, isClaimInSegment, type CheckpointClaim } from './project-writer-checkpoint.js';
import type { VersionRecord } from './version-record.js';

/**
 * Pure checks of a writer checkpoint (ADR-0014) by a client that holds the whole history:
 * does the writer's own log support everything it says, and does it leave out nothing a
 * joiner needs? Each problem is one line; none means the checkpoint is sound.
 */

/** What the checker holds: the fold of every segment, and the segments themselves (by client and seq). */
export interface CheckpointCheckInput {
  readonly full: LogState;
  readonly segment: (client: string, seq: number) => { readonly body: SegmentBody; readonly hash: string } | undefined;
  /**
   * Who collected what, from every `gc` event: `path\0id` -> the (client, seq) of each
   * segment that collected it. Without it the checks that need it are skipped.
   */
  readonly collectors?: ReadonlyMap<string, readonly { client: ClientId; seq: number }[]>;
  /** Whom each writer retired, from every `retire` event (client and seq). Without it the check is skipped. */
  readonly retirers?: ReadonlyMap<string, readonly { client: ClientId; seq: number }[]>;
}

/** True when the checker holds every segment the checkpoint was written from (its writer's up to it, the others' up to its `seen`). */
export function isCheckable(body: WriterCheckpointBody, held: ReadonlyMap<string, number>): boolean {
  if ((held.get(body.client) ?? 0) < body.seq) return false;
  return Object.entries(body.segment.seen).every(([c, seq]) => (held.get(c) ?? 0) >= seq);
}

function sameRecord(a: VersionRecord, b: VersionRecord): boolean {
  const seen = (x: VersionRecord) => JSON.stringify(Object.entries(x.seen).sort());
  return (
    a.id === b.id &&
    a.path === b.path &&
    a.type === b.type &&
    a.client === b.client &&
    a.seq === b.seq &&
    a.time === b.time &&
    a.snapshot === b.snapshot &&
    JSON.stringify(a.replaces) === JSON.stringify(b.replaces) &&
    JSON.stringify(a.content) === JSON.stringify(b.content) &&
    seen(a) === seen(b)
  );
}

/** Whether the writer's log says what a claim says: a version, from the fold; a replaced id, from its versions; a collected one, from its segment. */
function isClaimSupported(c: CheckpointClaim, input: CheckpointCheckInput): boolean {
  const st = input.full.paths.get(c.path);
  if (c.kind === 'version') {
    const r = st?.versions.get(c.id);
    return r !== undefined && sameRecord(r, c.record);
  }
  if (c.kind === 'replaced')
    return [...(st?.versions.values() ?? [])].some((v) => v.client === c.writer && v.seq === c.seq && v.replaces.includes(c.id));
  const seg = input.segment(c.writer, c.seq);
  return seg !== undefined && isClaimInSegment(c, seg.body);
}

/** How far the checkpoints a writer checkpoint relies on had read (their segments' `seen`), as the log holds them. */
function computeRelied(body: WriterCheckpointBody, input: CheckpointCheckInput): Map<string, CheckpointCoverage> {
  const out = new Map<string, CheckpointCoverage>();
  for (const r of body.relies) {
    const seg = input.segment(r.client, r.seq);
    if (seg !== undefined) out.set(r.client, { seq: r.seq, seen: seg.body.seen });
  }
  return out;
}

/** Whether a version `writer`'s segment `seq` replaced or collected may still show up for a joiner (the rule writers keep claims by). */
function isStillNeeded(relied: ReadonlyMap<string, CheckpointCoverage>, writer: ClientId, target: VersionRecord, seq: number): boolean {
  if (target.client === writer) return false;
  const c = relied.get(target.client);
  return !(c !== undefined && target.seq <= c.seq && (c.seen[writer] ?? 0) >= seq);
}

const seenKey = (x: Readonly<Record<string, number>>) => JSON.stringify(Object.entries(x).sort());

/** Whether the checkpoint describes the writer's segment it stands on as the log holds it. */
function isSegmentDescribed(body: WriterCheckpointBody, input: CheckpointCheckInput): boolean {
  const seg = input.segment(body.client, body.seq);
  if (seg === undefined || seg.hash !== body.hash) return false;
  const s = body.segment;
  return seg.body.time === s.time && seg.body.events.length === s.events && seenKey(seg.body.seen) === seenKey(s.seen);
}

/** The problems with the writer's retirements: each must be in its log, and none of its log's left out. */
function computeRetireProblems(body: WriterCheckpointBody, input: CheckpointCheckInput): string[] {
  const out: string[] = [];
  for (const r of body.retired) {
    const events = input.segment(body.client, r.seq)?.body.events ?? [];
    if (!events.some((e) => e.type === 'retire' && e.client === r.client))
      out.push(`its retirement of ${r.client} is not in its writer's log`);
  }
  const retired = new Set(body.retired.map((r) => r.client));
  for (const r of input.retirers?.get(body.client) ?? []) {
    if (r.seq <= body.seq && !retired.has(r.client)) out.push(`it leaves out that its writer retired ${r.client}`);
  }
  return out;
}

/** The problems with the writer's gc records (exactly its gc events' up to the checkpoint) and namers (each a version of it). */
function computeGcProblems(body: WriterCheckpointBody, input: CheckpointCheckInput): string[] {
  const out: string[] = [];
  const w = body.client;
  const logged = new Set<string>();
  for (const byKey of input.full.vault.condemnations.values()) {
    for (const c of byKey.values()) if (c.client === w && c.seq <= body.seq) logged.add(`c ${c.hash} ${c.seq} ${c.graceMs} ${c.time}`);
  }
  for (const byKey of input.full.vault.deletions.values()) {
    for (const d of byKey.values()) if (d.client === w && d.seq <= body.seq) logged.add(`d ${d.hash} ${d.seq} ${d.time}`);
  }
  const stated = new Set<string>();
  for (const c of body.condemnations) stated.add(`c ${c.hash} ${body.contexts[c.ctx]!.seq} ${c.graceMs} ${body.contexts[c.ctx]!.time}`);
  for (const d of body.deletions) stated.add(`d ${d.hash} ${body.contexts[d.ctx]!.seq} ${body.contexts[d.ctx]!.time}`);
  const same = stated.size === logged.size && [...stated].every((k) => logged.has(k));
  if (!same) out.push("its condemnations and deletion records are not those of its writer's gc events");
  const named = new Set<string>();
  for (const st of input.full.paths.values()) {
    for (const v of st.versions.values()) {
      if (v.client !== w || v.content === null) continue;
      for (const hash of computeCollectHashes(v.content)) named.add(`${hash} ${v.seq}`);
    }
  }
  for (const n of body.namers) if (!named.has(`${n.hash} ${n.seq}`)) out.push(`its writer's segment ${n.seq} names no blob ${n.hash}`);
  return out;
}

/** The problems with the writer's segment, vault-level facts and claims (does its log support them?). */
function computeSupportProblems(body: WriterCheckpointBody, input: CheckpointCheckInput): string[] {
  const out: string[] = [];
  if (!isSegmentDescribed(body, input)) out.push(`it does not describe its writer's segment ${body.seq} as the log holds it`);
  for (const c of computeWriterClaims(body)) {
    if (!isClaimSupported(c, input)) out.push(`its ${c.kind} ${c.id} of ${c.path} (seq ${c.seq}) is not in its writer's log`);
  }
  out.push(...computeRetireProblems(body, input), ...computeGcProblems(body, input));
  for (const r of body.relies) {
    if (input.segment(r.client, r.seq) === undefined)
      out.push(`it relies on a checkpoint at ${r.client}/${r.seq}, a segment the log does not hold`);
  }
  const last = input.full.vault.lastEventful.get(body.client) ?? 0;
  const stated = body.lastEventful === 0 ? undefined : input.segment(body.client, body.lastEventful);
  const wrong = (last <= body.seq && last !== body.lastEventful) || (stated !== undefined && stated.body.events.length === 0);
  if (wrong) out.push("its last segment with events is not its writer's");
  return out;
}

/** The ids at a path replaced by a version its writer had seen when it wrote the checkpoint (covered by its segment). */
function computeSeenReplaced(
  versions: Iterable<VersionRecord>,
  at: { client: string; seq: number; seen: Readonly<Record<string, number>> },
): Set<VersionId> {
  const out = new Set<VersionId>();
  for (const r of versions) if (isCovered(r.client, r.seq, at)) for (const id of r.replaces) out.add(id);
  return out;
}

/** What a checkpoint keeps: its versions' ids, and its claims as `kind\0path\0id`. */
function computeKeptAndClaimed(body: WriterCheckpointBody): { kept: Set<VersionId>; claimed: Set<string> } {
  const kept = new Set<VersionId>();
  const claimed = new Set<string>();
  for (const c of computeWriterClaims(body)) {
    if (c.kind === 'version') kept.add(c.id);
    else claimed.add(`${c.kind}\u0000${c.path}\u0000${c.id}`);
  }
  return { kept, claimed };
}

/** The problems of what the checkpoint keeps: live versions left out, replaced ones kept, claims a joiner needs left out. */
function computeCompletenessProblems(body: WriterCheckpointBody, input: CheckpointCheckInput): string[] {
  const out: string[] = [];
  const w = body.client;
  const at = { client: w, seq: body.seq, seen: body.segment.seen };
  const relied = computeRelied(body, input);
  const { kept, claimed } = computeKeptAndClaimed(body);
  const isCollectedBefore = (path: string, id: string) =>
    input.collectors?.get(`${path}\u0000${id}`)?.some((b) => isCovered(b.client, b.seq, at)) === true;
  for (const [path, st] of input.full.paths) {
    for (const h of computeHeads(st)) {
      if (h.client === w && h.seq <= body.seq && !kept.has(h.id)) out.push(`it leaves out its writer's live version ${h.id} of ${path}`);
    }
    const seenReplaced = computeSeenReplaced(st.versions.values(), at);
    for (const v of st.versions.values()) {
      if (kept.has(v.id) && seenReplaced.has(v.id)) out.push(`it keeps version ${v.id} of ${path}, which its writer had seen replaced`);
      if (kept.has(v.id) && isCollectedBefore(path, v.id))
        out.push(`it keeps version ${v.id} of ${path}, which its writer had seen collected`);
      if (v.client !== w || v.seq > body.seq || kept.has(v.id)) continue;
      for (const id of v.replaces) {
        const target = st.versions.get(id);
        const needed = target !== undefined && isStillNeeded(relied, w, target, v.seq);
        if (needed && !claimed.has(`replaced\u0000${path}\u0000${id}`)) out.push(`it leaves out that its writer replaced ${id} of ${path}`);
      }
    }
  }
  for (const [key, by] of input.collectors ?? []) {
    const [path, id] = key.split('\u0000') as [SyncPath, VersionId];
    const target = input.full.paths.get(path)?.versions.get(id);
    const needed = target !== undefined && by.some((b) => b.client === w && b.seq <= body.seq && isStillNeeded(relied, w, target, b.seq));
    if (needed && !claimed.has(`collected\u0000${path}\u0000${id}`)) out.push(`it leaves out that its writer collected ${id} of ${path}`);
  }
  return out;
}

/** Who collected what and who retired whom, gathered one segment at a time, for `CheckpointCheckInput`. */
export class CheckpointEvidence {
  readonly collectors = new Map<string, { client: ClientId; seq: number }[]>();
  readonly retirers = new Map<string, { client: ClientId; seq: number }[]>();

  add(s: SegmentBody): void {
    for (const e of s.events) {
      if (e.type === 'retire') push(this.retirers, s.client, { client: e.client, seq: s.seq });
      if (e.type !== 'gc') continue;
      for (const c of e.collected)
        for (const id of c.versions) push(this.collectors, `${c.path}\u0000${id}`, { client: s.client, seq: s.seq });
    }
  }
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/**
 * Pure: what is wrong with a writer checkpoint, checked against the whole log: everything it
 * says must be in its writer's log (its segment, versions, claims, retirements, gc records,
 * last segment with events), and it must keep every live version of its writer, no version
 * its writer had seen replaced, and every claim a joiner still needs (by the rule writers
 * keep claims by, against the checkpoints it relies on). Empty when sound. Blob
 * namers are not checked: a false one can only void a condemnation, which the writer could
 * do with a real event, and `verify` reports a blob found missing.
 */
export function computeCheckpointProblems(body: WriterCheckpointBody, input: CheckpointCheckInput): string[] {
  return [...computeSupportProblems(body, input), ...computeCompletenessProblems(body, input)];
}
