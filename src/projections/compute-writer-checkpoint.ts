import {
  computeCheckpointBody,
  type OwnContext,
  type ReplacedClaim,
  type WriterCheckpointBody,
  type WriterConfig,
  type WriterPath,
  type WriterVersion,
} from '../events/checkpoint-schema.js';
import type { ClientId, ContentHash, VaultId, VersionId } from '../events/ids.js';
import { computeCollectHashes } from '../events/packs.js';
import type { GcEvent, SegmentBody } from '../events/schema.js';
import type { SyncPath } from '../events/sync-path.js';
import { computeHeads, computeSegmentVersions, type PathState } from './project-paths.js';
import { computeStoredRecord } from './project-writer-checkpoint.js';
import { computeAckFrontier, computeActiveClients, computeSegmentWeight, isCovered, type VaultState } from './project-vault.js';
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

/** The versions of the previous checkpoint as records, then those of the own segments since. */
function computeCandidates(input: OwnCheckpointInput): OwnVersion[] {
  const out: OwnVersion[] = [];
  for (const e of input.previous?.paths ?? []) out.push(...computePreviousVersions(input.previous!, e));
  for (const s of input.own) out.push(...computeSegmentVersions(s));
  return out;
}

/** The versions a previous checkpoint kept at one of its paths, as records. */
export function computePreviousVersions(previous: WriterCheckpointBody, e: WriterPath): OwnVersion[] {
  return e.versions.map((v) => computeStoredRecord(e.path, v, previous.client, previous.contexts[v.ctx]!));
}

/** What a writer's checkpoint is computed from besides its paths' states (`OwnCheckpointInput` without `paths` and `own`). */
export type CheckpointFacts = Omit<OwnCheckpointInput, 'paths' | 'own' | 'segment'> & {
  readonly segment: Pick<SegmentBody, 'seq' | 'time' | 'seen'> & { readonly events: number };
};

/**
 * What the checkpoint takes from the writer's own segments besides their versions, added one
 * segment at a time (a caller need not hold them all): the last with events, its retire and
 * gc events with their segments.
 */
export class OwnLogSummary {
  lastEventful: number;
  readonly gc: { readonly ctx: OwnContext; readonly event: GcEvent }[] = [];
  readonly retires: { readonly client: ClientId; readonly seq: number }[] = [];
  /** The writer's latest config event (ADR-0037): its later ones always come first by `compareConfigs`. */
  config: WriterConfig | undefined;

  constructor(previous: WriterCheckpointBody | undefined) {
    this.lastEventful = previous?.lastEventful ?? 0;
    this.config = previous?.config;
  }

  add(s: SegmentBody): void {
    if (s.events.length > 0) this.lastEventful = Math.max(this.lastEventful, s.seq);
    const ctx: OwnContext = { seq: s.seq, time: s.time, seen: s.seen, snapshot: s.snapshot };
    for (const e of s.events) {
      if (e.type === 'retire') this.retires.push({ client: e.client, seq: s.seq });
      else if (e.type === 'config')
        this.config = { seq: s.seq, id: e.id, weight: computeSegmentWeight(s.seen, s.seq), settings: e.settings };
      else if (e.type === 'gc') this.gc.push({ ctx, event: e });
    }
  }

  /** The paths its gc events collected at (their claims need those paths' states). */
  collectedPaths(previous: WriterCheckpointBody | undefined): Set<SyncPath> {
    const out = new Set<SyncPath>((previous?.collected ?? []).map((c) => c.path));
    for (const g of this.gc) for (const c of g.event.collected) out.add(c.path);
    return out;
  }
}

/**
 * Whether an id this writer's segment `seq` replaced or collected at `path` may still show up
 * for a joiner: unless the version is the writer's own, or its owner's latest checkpoint is
 * at or after it and had read this writer's segment (then that checkpoint left it out).
 */
function isClaimNeeded(facts: CheckpointFacts, r: VersionRecord | undefined, seq: number): boolean {
  if (r === undefined) return true; // nothing tells where it may show up: keep the claim
  if (r.client === facts.client) return false;
  const c = facts.coverage.get(r.client);
  return !(c !== undefined && r.seq <= c.seq && (c.seen[facts.client] ?? 0) >= seq);
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

type ClaimsByPath = Map<SyncPath, Map<VersionId, number>>;

/**
 * Pure, in steps: a writer's checkpoint of its own log up to `segment.seq` (ADR-0014), its
 * paths given in ascending ranges (`addRange`, all at once or a range at a time: the same
 * entries either way), then the rest (`finish`):
 * - its versions that are heads (kept whole, with their segment contexts);
 * - the ids its events replaced, and what its gc events collected, while such a version may
 *   still show up for a joiner (see `isClaimNeeded`): a kept version states its own replaces;
 * - its vault-level facts: last segment with events, retire events, gc records, and the
 *   blobs of versions not kept that may still void a condemnation;
 * - the other writers' checkpoints it judged claims by (`coverage`), as `relies`.
 * Sized by the writer's live versions and pending claims, not by its history.
 */
export class WriterCheckpointBuilder {
  private readonly contexts = new OwnContexts();
  /** Per blob, the highest seq of a version not kept that named it (and the previous checkpoint's namers). */
  private readonly namerSeqs = new Map<ContentHash, number>();
  /** The writers whose versions the claims are about (as the states tell). */
  readonly owners = new Set<string>();
  versions = 0;
  claims = 0;

  constructor(private readonly facts: CheckpointFacts) {
    for (const n of facts.previous?.namers ?? []) this.noteNamer(n.hash, n.seq);
  }

  private noteNamer(hash: ContentHash, seq: number): void {
    this.namerSeqs.set(hash, Math.max(seq, this.namerSeqs.get(hash) ?? 0));
  }

  private noteClaim(r: VersionRecord | undefined): void {
    this.claims++;
    if (r !== undefined) this.owners.add(r.client);
  }

  /**
   * The entries of a range of paths, sorted: `states` holds (at least) the folded state of
   * every path of `candidates` and `previous` (the previous checkpoint's entries in the range);
   * `candidates` the writer's versions there (the previous checkpoint's, as records, and
   * those of its own segments since). Ranges must come in ascending path order.
   */
  addRange(states: ReadonlyMap<SyncPath, PathState>, candidates: readonly OwnVersion[], previous: readonly WriterPath[]): WriterPath[] {
    const { facts } = this;
    const kept = new Map<SyncPath, VersionRecord[]>();
    for (const path of new Set(candidates.map((v) => v.path))) {
      const st = states.get(path);
      const mine = st === undefined ? [] : computeHeads(st).filter((h) => h.client === facts.client && h.seq <= facts.segment.seq);
      if (mine.length > 0) kept.set(path, mine);
    }
    const keptIds = new Set<VersionId>([...kept.values()].flat().map((v) => v.id));
    for (const v of candidates) {
      if (v.content === null || keptIds.has(v.id)) continue;
      for (const hash of computeCollectHashes(v.content)) this.noteNamer(hash, v.seq);
    }
    const replaced = this.computeReplacedClaims(states, candidates, keptIds, previous);
    const out: WriterPath[] = [];
    for (const path of [...new Set([...kept.keys(), ...replaced.keys()])].sort()) {
      const stored = (v: VersionRecord): WriterVersion => ({
        id: v.id,
        type: v.type,
        ctx: this.contexts.of(v),
        replaces: [...v.replaces],
        content: v.content,
      });
      const versions = (kept.get(path) ?? []).map(stored);
      this.versions += versions.length;
      const claims: ReplacedClaim[] = [...(replaced.get(path) ?? [])]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([id, seq]) => ({ id, seq }));
      out.push({ path, versions: versions.sort((a, b) => (a.id < b.id ? -1 : 1)), replaced: claims });
    }
    return out;
  }

  /** The replaced claims still needed, per path: the previous ones and those of versions not kept. */
  private computeReplacedClaims(
    states: ReadonlyMap<SyncPath, PathState>,
    candidates: readonly OwnVersion[],
    keptIds: ReadonlySet<VersionId>,
    previous: readonly WriterPath[],
  ): ClaimsByPath {
    const claims: ClaimsByPath = new Map();
    const add = (path: SyncPath, id: VersionId, seq: number) => {
      const at = claims.get(path) ?? new Map<VersionId, number>();
      if (seq < (at.get(id) ?? Number.POSITIVE_INFINITY)) at.set(id, seq);
      claims.set(path, at);
    };
    for (const e of previous) for (const r of e.replaced) add(e.path, r.id, r.seq);
    for (const v of candidates) if (!keptIds.has(v.id)) for (const id of v.replaces) add(v.path, id, v.seq);
    for (const [path, at] of claims) {
      for (const [id, seq] of at) {
        const r = states.get(path)?.versions.get(id);
        if (isClaimNeeded(this.facts, r, seq)) this.noteClaim(r);
        else at.delete(id);
      }
      if (at.size === 0) claims.delete(path);
    }
    return claims;
  }

  /** Everything but the paths, once every range is in: `states` holds the states of `own.collectedPaths`. */
  finish(own: OwnLogSummary, states: ReadonlyMap<SyncPath, PathState>): Omit<WriterCheckpointBody, 'paths'> {
    const { facts } = this;
    const collected = this.computeCollectedClaims(own, states);
    const gc = this.computeOwnGcRecords(own);
    const { segment } = facts;
    return {
      v: 2,
      vault: facts.vault,
      client: facts.client,
      seq: segment.seq,
      hash: facts.hash,
      time: facts.time,
      segment: { time: segment.time, seen: segment.seen, events: segment.events },
      lastEventful: own.lastEventful,
      contexts: this.contexts.list,
      collected,
      ...gc,
      namers: this.computeNamers(),
      relies: [...facts.coverage]
        .filter(([c]) => c !== facts.client)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([client, c]) => ({ client: client as ClientId, seq: c.seq })),
      ...(own.config === undefined ? {} : { config: own.config }),
    };
  }

  /** What the writer's own gc events collected that may still show up, per (path, seq). */
  private computeCollectedClaims(own: OwnLogSummary, states: ReadonlyMap<SyncPath, PathState>): WriterCheckpointBody['collected'] {
    const all: { path: SyncPath; seq: number; versions: readonly VersionId[] }[] = [...(this.facts.previous?.collected ?? [])];
    for (const g of own.gc) for (const c of g.event.collected) all.push({ path: c.path, seq: g.ctx.seq, versions: c.versions });
    const out: { path: SyncPath; seq: number; versions: VersionId[] }[] = [];
    for (const c of all) {
      const needed = [...new Set(c.versions)].filter((id) => isClaimNeeded(this.facts, states.get(c.path)?.versions.get(id), c.seq));
      for (const id of needed) this.noteClaim(states.get(c.path)?.versions.get(id));
      if (needed.length > 0) out.push({ path: c.path, seq: c.seq, versions: needed.sort() });
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.seq - b.seq));
  }

  /** The writer's gc records (every condemnation and deletion record of its own log, ADR-0007) and whom it retired. */
  private computeOwnGcRecords(own: OwnLogSummary): Pick<WriterCheckpointBody, 'condemnations' | 'deletions' | 'retired'> {
    const { contexts } = this;
    const prev = this.facts.previous;
    const condemnations = (prev?.condemnations ?? []).map((c) => ({
      hash: c.hash,
      ctx: contexts.of(prev!.contexts[c.ctx]!),
      graceMs: c.graceMs,
    }));
    const deletions = (prev?.deletions ?? []).map((d) => ({ hash: d.hash, ctx: contexts.of(prev!.contexts[d.ctx]!) }));
    const retired = new Map<ClientId, number>((prev?.retired ?? []).map((r) => [r.client, r.seq]));
    // Retire and gc events in the order of the segments, as they came.
    for (const r of own.retires) if (!retired.has(r.client)) retired.set(r.client, r.seq);
    for (const g of own.gc) {
      const ctx = contexts.of(g.ctx);
      for (const h of g.event.condemned) condemnations.push({ hash: h, ctx, graceMs: g.event.graceMs });
      for (const h of g.event.deleted) deletions.push({ hash: h, ctx });
    }
    return {
      condemnations,
      deletions,
      retired: [...retired].sort(([a], [b]) => (a < b ? -1 : 1)).map(([client, seq]) => ({ client, seq })),
    };
  }

  /**
   * The blobs named by the writer's versions that are not kept, which may still void a
   * condemnation (ADR-0007): the highest seq per blob, while some active client has not
   * acknowledged it (a later condemnation may not cover it) or a known condemnation does not.
   */
  private computeNamers(): { hash: ContentHash; seq: number }[] {
    const { facts } = this;
    const vault = facts.vaultState;
    const acked = computeAckFrontier(vault.latest, computeActiveClients(facts.keyed, vault.retired)).get(facts.client) ?? 0;
    const out: { hash: ContentHash; seq: number }[] = [];
    for (const [hash, seq] of [...this.namerSeqs].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const uncovered = [...(vault.condemnations.get(hash)?.values() ?? [])].some((c) => !isCovered(facts.client, seq, c));
      if (seq > acked || uncovered) out.push({ hash, seq });
    }
    return out;
  }
}

/**
 * Pure: the writer's checkpoint of its own log up to `segment.seq` (ADR-0014), from its
 * previous checkpoint, its own segments since, and what it knows now (`WriterCheckpointBuilder`
 * with every path in one range).
 */
export function computeWriterCheckpoint(input: OwnCheckpointInput): WriterCheckpointBody {
  const { segment } = input;
  const builder = new WriterCheckpointBuilder({ ...input, segment: { ...segment, events: segment.events.length } });
  const own = new OwnLogSummary(input.previous);
  for (const s of input.own) own.add(s);
  const paths = builder.addRange(input.paths, computeCandidates(input), input.previous?.paths ?? []);
  return computeCheckpointBody(builder.finish(own, input.paths), paths);
}
