import type { OwnContext, ReplacedClaim, WriterCheckpointBody, WriterPath, WriterVersion } from '../events/checkpoint-schema.js';
import type { ClientId, ContentHash, VaultId, VersionId } from '../events/ids.js';
import type { SegmentBody } from '../events/schema.js';
import type { SyncPath } from '../events/sync-path.js';
import { computeHeads, computeSegmentVersions, type PathState } from './project-paths.js';
import { computeStoredRecord } from './project-writer-checkpoint.js';
import { computeAckFrontier, computeActiveClients, isCovered, type VaultState } from './project-vault.js';
import type { VersionRecord } from './version-record.js';

/** How far another writer's latest checkpoint had read: its own seq and that segment's `seen`. */
export interface CheckpointCoverage {
  readonly seq: number;
  readonly seen: Readonly<Record<string, number>>;
}

/** What a writer knows when it checkpoints its own log at its segment `segment.seq` (ADR-0014). */
export interface OwnCheckpointInput {
  readonly vault: VaultId;
  readonly client: ClientId;
  /** The writer's segment the checkpoint stands on, and the SHA-256 of its body. */
  readonly segment: SegmentBody;
  readonly hash: string;
  readonly time: string;
  /** The writer's previous checkpoint, if any. */
  readonly previous: WriterCheckpointBody | undefined;
  /** The writer's own segments after `previous.seq` (all of them without one), up to `segment.seq`. */
  readonly own: readonly SegmentBody[];
  /** The writer's folded paths: at least every path of `computeCheckpointPaths`, folded as far as `segment.seen` or further. */
  readonly paths: ReadonlyMap<SyncPath, PathState>;
  readonly vaultState: VaultState;
  /** Clients with a verified key (with the retired left out, whose acknowledgements count). */
  readonly keyed: Iterable<ClientId>;
  /** The other writers' latest checkpoints, as far as this writer knows them. */
  readonly coverage: ReadonlyMap<string, CheckpointCoverage>;
}

/** A version this writer wrote, with its segment context. */
type OwnVersion = VersionRecord;

/** Pure: every path the next checkpoint looks at (for a caller that reads path states one by one). */
export function computeCheckpointPaths(previous: WriterCheckpointBody | undefined, own: readonly SegmentBody[]): Set<SyncPath> {
  const out = new Set<SyncPath>();
  for (const e of previous?.paths ?? []) out.add(e.path);
  for (const c of previous?.collected ?? []) out.add(c.path);
  for (const s of own) {
    for (const e of s.events) {
      if (e.type === 'gc') for (const c of e.collected) out.add(c.path);
      else if (e.type !== 'retire') out.add(e.path);
    }
  }
  return out;
}

/** The versions of the previous checkpoint as records, then those of the own segments since. */
function computeCandidates(input: OwnCheckpointInput): OwnVersion[] {
  const out: OwnVersion[] = [];
  const prev = input.previous;
  for (const e of prev?.paths ?? []) {
    for (const v of e.versions) {
      const ctx = prev!.contexts[v.ctx]!;
      out.push(computeStoredRecord(e.path, v, input.client, ctx));
    }
  }
  for (const s of input.own) out.push(...computeSegmentVersions(s));
  return out;
}

/**
 * Whether an id this writer's segment `seq` replaced or collected at `path` may still show up
 * for a joiner: unless the version is the writer's own, or its owner's latest checkpoint is
 * at or after it and had read this writer's segment (then that checkpoint left it out).
 */
function isClaimNeeded(input: OwnCheckpointInput, path: SyncPath, id: VersionId, seq: number): boolean {
  const r = input.paths.get(path)?.versions.get(id);
  if (r === undefined) return true; // nothing tells where it may show up: keep the claim
  if (r.client === input.client) return false;
  const c = input.coverage.get(r.client);
  return !(c !== undefined && r.seq <= c.seq && (c.seen[input.client] ?? 0) >= seq);
}

/** Pure: the writer's live versions (its heads) at the paths it may have versions at. */
function computeKept(input: OwnCheckpointInput, candidates: readonly OwnVersion[]): Map<SyncPath, VersionRecord[]> {
  const kept = new Map<SyncPath, VersionRecord[]>();
  for (const path of new Set(candidates.map((v) => v.path))) {
    const st = input.paths.get(path);
    const mine = st === undefined ? [] : computeHeads(st).filter((h) => h.client === input.client && h.seq <= input.segment.seq);
    if (mine.length > 0) kept.set(path, mine);
  }
  return kept;
}

/** Pure: the replaced claims still needed, per path: the previous ones and those of versions not kept. */
type ClaimsByPath = Map<SyncPath, Map<VersionId, number>>;

function computeReplacedClaims(
  input: OwnCheckpointInput,
  candidates: readonly OwnVersion[],
  keptIds: ReadonlySet<VersionId>,
): ClaimsByPath {
  const claims = new Map<SyncPath, Map<VersionId, number>>();
  const add = (path: SyncPath, id: VersionId, seq: number) => {
    const at = claims.get(path) ?? new Map<VersionId, number>();
    if (seq < (at.get(id) ?? Number.POSITIVE_INFINITY)) at.set(id, seq);
    claims.set(path, at);
  };
  for (const e of input.previous?.paths ?? []) for (const r of e.replaced) add(e.path, r.id, r.seq);
  for (const v of candidates) if (!keptIds.has(v.id)) for (const id of v.replaces) add(v.path, id, v.seq);
  for (const [path, at] of claims) {
    for (const [id, seq] of at) if (!isClaimNeeded(input, path, id, seq)) at.delete(id);
    if (at.size === 0) claims.delete(path);
  }
  return claims;
}

/** Pure: what the writer's own gc events collected that may still show up, per (path, seq). */
function computeCollectedClaims(input: OwnCheckpointInput): WriterCheckpointBody['collected'] {
  const all: { path: SyncPath; seq: number; versions: readonly VersionId[] }[] = [...(input.previous?.collected ?? [])];
  for (const s of input.own) {
    for (const e of s.events)
      if (e.type === 'gc') for (const c of e.collected) all.push({ path: c.path, seq: s.seq, versions: c.versions });
  }
  const out: { path: SyncPath; seq: number; versions: VersionId[] }[] = [];
  for (const c of all) {
    const versions = [...new Set(c.versions)].filter((id) => isClaimNeeded(input, c.path, id, c.seq)).sort();
    if (versions.length > 0) out.push({ path: c.path, seq: c.seq, versions });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.seq - b.seq));
}

/**
 * Pure: the blobs named by the writer's versions that are not kept, which may still void a
 * condemnation (ADR-0007): the highest seq per blob, while some active client has not
 * acknowledged it (a later condemnation may not cover it) or a known condemnation does not.
 */
function computeNamers(
  input: OwnCheckpointInput,
  candidates: readonly OwnVersion[],
  keptIds: ReadonlySet<VersionId>,
): { hash: ContentHash; seq: number }[] {
  const bySeq = new Map<ContentHash, number>();
  const add = (hash: ContentHash, seq: number) => bySeq.set(hash, Math.max(seq, bySeq.get(hash) ?? 0));
  for (const n of input.previous?.namers ?? []) add(n.hash, n.seq);
  for (const v of candidates) if (v.content !== null && !keptIds.has(v.id)) add(v.content.hash, v.seq);
  const vault = input.vaultState;
  const acked = computeAckFrontier(vault.latest, computeActiveClients(input.keyed, vault.retired)).get(input.client) ?? 0;
  const out: { hash: ContentHash; seq: number }[] = [];
  for (const [hash, seq] of [...bySeq].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const uncovered = [...(vault.condemnations.get(hash)?.values() ?? [])].some((c) => !isCovered(input.client, seq, c));
    if (seq > acked || uncovered) out.push({ hash, seq });
  }
  return out;
}

/** Numbers the writer's own segment contexts as versions and gc records name them. */
class OwnContexts {
  readonly list: OwnContext[] = [];
  private readonly index = new Map<number, number>();

  of(c: OwnContext): number {
    let i = this.index.get(c.seq);
    if (i === undefined) {
      i = this.list.length;
      this.list.push({ seq: c.seq, time: c.time, seen: c.seen, snapshot: c.snapshot });
      this.index.set(c.seq, i);
    }
    return i;
  }
}

/** Pure: the writer's gc records (every condemnation and deletion record of its own log, ADR-0007) and whom it retired. */
function computeOwnGcRecords(
  input: OwnCheckpointInput,
  contexts: OwnContexts,
): Pick<WriterCheckpointBody, 'condemnations' | 'deletions' | 'retired'> {
  const prev = input.previous;
  const condemnations = (prev?.condemnations ?? []).map((c) => ({
    hash: c.hash,
    ctx: contexts.of(prev!.contexts[c.ctx]!),
    graceMs: c.graceMs,
  }));
  const deletions = (prev?.deletions ?? []).map((d) => ({ hash: d.hash, ctx: contexts.of(prev!.contexts[d.ctx]!) }));
  const retired = new Map<ClientId, number>((prev?.retired ?? []).map((r) => [r.client, r.seq]));
  for (const s of input.own) {
    for (const e of s.events) {
      if (e.type === 'retire' && !retired.has(e.client)) retired.set(e.client, s.seq);
      if (e.type !== 'gc') continue;
      const ctx = contexts.of(s);
      for (const h of e.condemned) condemnations.push({ hash: h, ctx, graceMs: e.graceMs });
      for (const h of e.deleted) deletions.push({ hash: h, ctx });
    }
  }
  return { condemnations, deletions, retired: [...retired].sort(([a], [b]) => (a < b ? -1 : 1)).map(([client, seq]) => ({ client, seq })) };
}

/**
 * Pure: the writer's checkpoint of its own log up to `segment.seq` (ADR-0014), from its
 * previous checkpoint, its own segments since, and what it knows now:
 * - its versions that are heads (kept whole, with their segment contexts);
 * - the ids its events replaced, and what its gc events collected, while such a version may
 *   still show up for a joiner (see `isClaimNeeded`): a kept version states its own replaces;
 * - its vault-level facts: last segment with events, retire events, gc records, and the
 *   blobs of versions not kept that may still void a condemnation;
 * - the other writers' checkpoints it judged claims by (`coverage`), as `relies`.
 * Sized by the writer's live versions and pending claims, not by its history.
 */
export function computeWriterCheckpoint(input: OwnCheckpointInput): WriterCheckpointBody {
  const candidates = computeCandidates(input);
  const kept = computeKept(input, candidates);
  const keptIds = new Set<VersionId>([...kept.values()].flat().map((v) => v.id));
  const replaced = computeReplacedClaims(input, candidates, keptIds);
  const contexts = new OwnContexts();
  const paths: WriterPath[] = [];
  for (const path of [...new Set([...kept.keys(), ...replaced.keys()])].sort()) {
    const stored = (v: VersionRecord): WriterVersion => ({
      id: v.id,
      type: v.type,
      ctx: contexts.of(v),
      replaces: [...v.replaces],
      content: v.content,
    });
    const versions = (kept.get(path) ?? []).map(stored);
    const claims: ReplacedClaim[] = [...(replaced.get(path) ?? [])].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, seq]) => ({ id, seq }));
    paths.push({ path, versions: versions.sort((a, b) => (a.id < b.id ? -1 : 1)), replaced: claims });
  }
  let lastEventful = input.previous?.lastEventful ?? 0;
  for (const s of input.own) if (s.events.length > 0) lastEventful = Math.max(lastEventful, s.seq);
  const gc = computeOwnGcRecords(input, contexts);
  const { segment } = input;
  return {
    v: 2,
    vault: input.vault,
    client: input.client,
    seq: segment.seq,
    hash: input.hash,
    time: input.time,
    segment: { time: segment.time, seen: segment.seen, events: segment.events.length },
    lastEventful,
    contexts: contexts.list,
    paths,
    collected: computeCollectedClaims(input),
    ...gc,
    namers: computeNamers(input, candidates, keptIds),
    relies: [...input.coverage]
      .filter(([c]) => c !== input.client)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([client, c]) => ({ client: client as ClientId, seq: c.seq })),
  };
}
