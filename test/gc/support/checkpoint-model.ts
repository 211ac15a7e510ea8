import fc from 'fast-check';
import type { WriterCheckpointBody } from '../../../src/events/checkpoint-schema.js';
import { decodeWriterCheckpoint, encodeWriterCheckpoint } from '../../../src/events/codec.js';
import type { ClientId, ContentHash, VersionId } from '../../../src/events/ids.js';
import type { Event, SegmentBody } from '../../../src/events/schema.js';
import { generateKeyPair, importPublicKeyHex, sha256Hex } from '../../../src/events/signing.js';
import type { SyncPath } from '../../../src/events/sync-path.js';
import { CheckpointEvidence, type CheckpointCheckInput } from '../../../src/projections/check-writer-checkpoint.js';
import { computeCondemnedRefs, computeNamingBan, computeOpenCondemnations } from '../../../src/projections/blob-condemnation.js';
import { computeWriterCheckpoint, type CheckpointCoverage } from '../../../src/projections/compute-writer-checkpoint.js';
import { createLogState, projectLogSegment, type LogState } from '../../../src/projections/project-log.js';
import { computeHeads, computeSegmentVersions } from '../../../src/projections/project-paths.js';
import { computeAckFrontier, computeActiveClients, isCovered } from '../../../src/projections/project-vault.js';
import { noteContested, projectWriterCheckpoint } from '../../../src/projections/project-writer-checkpoint.js';
import { LogBuilder } from './log-builder.js';

/**
 * A model of a vault's log for the writer-checkpoint properties (ADR-0014): three writers
 * play random steps (puts, deletes, resolves, lagging acknowledgements, collections,
 * condemnations that may miss the latest segments, retirements) and write checkpoints of
 * their own logs at random points, each from what it knew then (its latest segment's `seen`,
 * or everything published). Segments are unsigned bodies (the folds never look at
 * signatures); checkpoints go through the real codec.
 */

export const PATHS = ['a.md', 'b/c.md', 'd.txt'] as const;
export const CONTENTS = ['one', 'two', 'three'] as const;
export const T0 = Date.parse('2026-11-01T00:00:00.000Z');
export const key = generateKeyPair();

export type Step =
  | { kind: 'put'; client: number; path: number; content: number; replace: number }
  | { kind: 'tombstone'; client: number; path: number; replace: number }
  | { kind: 'resolve'; client: number; path: number; content: number }
  | { kind: 'ack'; client: number; lag: number }
  | { kind: 'collect'; client: number }
  | { kind: 'condemn'; client: number; content: number; delete: boolean; lag: number }
  | { kind: 'retire'; client: number; target: number }
  | { kind: 'checkpoint'; client: number };

export const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('put' as const), client: fc.nat(2), path: fc.nat(2), content: fc.nat(2), replace: fc.nat(7) }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('tombstone' as const), client: fc.nat(2), path: fc.nat(2), replace: fc.nat(7) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('resolve' as const),
      client: fc.nat(2),
      path: fc.nat(2),
      content: fc.integer({ min: -1, max: 2 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('ack' as const), client: fc.nat(2), lag: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('collect' as const), client: fc.nat(2) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('condemn' as const),
      client: fc.nat(2),
      content: fc.nat(2),
      delete: fc.boolean(),
      lag: fc.nat(2),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retire' as const), client: fc.nat(2), target: fc.nat(2) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('checkpoint' as const), client: fc.nat(2) }) },
);

/** A played log: its segments, and the checkpoints its writers wrote along the way (latest last). */
export interface Played {
  readonly b: LogBuilder;
  readonly checkpoints: Map<ClientId, WriterCheckpointBody[]>;
}

/** The fold of the segments covered by a writer's segment `seq` (its own up to it, the others up to its `seen`). */
function foldAt(b: LogBuilder, seg: SegmentBody): LogState {
  return b.state(b.segments.filter((s) => isCovered(s.client, s.seq, seg)));
}

/**
 * A writer's checkpoint at its latest segment, from its state at that segment (the real
 * writer's state is exactly that: it publishes an empty segment first when it has read
 * further). Like the real writer, it first publishes an empty segment when it has none, or
 * its latest has a checkpoint already.
 */
function writeCheckpoint(p: Played, client: ClientId, t: number): void {
  const { b } = p;
  const mine = b.segments.filter((s) => s.client === client);
  const previous = p.checkpoints.get(client)?.at(-1);
  if (mine.length === 0 || mine.at(-1)!.seq === previous?.seq) mine.push(b.segment(client, [], t));
  const segment = mine.at(-1)!;
  const state = foldAt(b, segment);
  const coverage = new Map<string, CheckpointCoverage>();
  for (const [c, list] of p.checkpoints) if (c !== client) coverage.set(c, { seq: list.at(-1)!.seq, seen: list.at(-1)!.segment.seen });
  const own = mine.filter((s) => s.seq > (previous?.seq ?? 0));
  const place = { vault: b.vault, client, segment, hash: sha256Hex(`${client}/${segment.seq}`), time: new Date(t).toISOString() };
  const body = computeWriterCheckpoint({
    ...place,
    previous,
    own,
    paths: state.paths,
    vaultState: state.vault,
    keyed: b.clients,
    coverage,
  });
  // Through the real codec: the body passes the schema, is signed and verified.
  const at = { vault: b.vault, client, seq: segment.seq, publicKey: importPublicKeyHex(key.publicKeyHex) };
  const decoded = decodeWriterCheckpoint(encodeWriterCheckpoint(body, key.privateKey).bytes, at).body;
  p.checkpoints.set(client, [...(p.checkpoints.get(client) ?? []), decoded]);
}

/** Plays the steps: each writer replaces some versions it knows (any earlier version of the path). */
export function play(steps: readonly Step[]): Played {
  const p: Played = { b: LogBuilder.withClients(3), checkpoints: new Map() };
  const { b } = p;
  const client = (i: number) => b.clients[i]!;
  const lastSeen = new Map<number, Record<string, number>>();
  const lagging = (i: number, lag: number) => {
    const seen = b.frontier(client(i));
    const before = lastSeen.get(i) ?? {};
    for (const c of Object.keys(seen)) seen[c] = Math.max(before[c] ?? 0, seen[c]! - lag);
    lastSeen.set(i, seen);
    return seen;
  };
  let t = T0;
  for (const s of steps) {
    t += 1000;
    const state = b.state();
    const versionsOf = (path: string) => [...(state.paths.get(path as SyncPath)?.versions.keys() ?? [])];
    const pick = (ids: VersionId[], mask: number) => ids.filter((_, i) => (mask >> i) & 1);
    let events: Event[] = [];
    switch (s.kind) {
      case 'put':
        events = [b.put(PATHS[s.path]!, CONTENTS[s.content]!, pick(versionsOf(PATHS[s.path]!), s.replace))];
        break;
      case 'tombstone':
        events = [b.tombstone(PATHS[s.path]!, pick(versionsOf(PATHS[s.path]!), s.replace))];
        break;
      case 'resolve': {
        const heads = computeHeads(state.paths.get(PATHS[s.path]! as SyncPath) ?? { versions: new Map(), replaced: new Set() }).map(
          (h) => h.id,
        );
        if (heads.length === 0) continue;
        const content = s.content < 0 ? null : { hash: sha256Hex(CONTENTS[s.content]!) as ContentHash, size: 3, mode: 0o644 };
        events = [{ type: 'resolve', id: b.id(), path: PATHS[s.path]! as SyncPath, replaces: heads, content }];
        break;
      }
      case 'ack':
        // An acknowledgement that lags behind what was published, never behind its own last one.
        b.segment(client(s.client), [], t, lagging(s.client, s.lag));
        continue;
      case 'collect': {
        const collected: { path: SyncPath; versions: VersionId[] }[] = [];
        for (const [path, st] of state.paths) {
          const heads = computeHeads(st);
          if (heads.length > 0 && heads.every((h) => h.content === null))
            collected.push({ path, versions: [...st.versions.keys()].filter((id) => !st.collected?.has(id)) });
        }
        if (collected.length === 0) continue;
        events = [{ type: 'gc', id: b.id(), retentionMs: 0, graceMs: 1000, frontier: {}, collected, condemned: [], deleted: [] }];
        break;
      }
      case 'condemn': {
        // A GC run whose fetch may have missed the latest segments (they came after it started).
        const h = sha256Hex(CONTENTS[s.content]!) as ContentHash;
        const gc: Event = {
          type: 'gc',
          id: b.id(),
          retentionMs: 0,
          graceMs: 1000,
          frontier: {},
          collected: [],
          condemned: s.delete ? [] : [h],
          deleted: s.delete ? [h] : [],
        };
        b.segment(client(s.client), [gc], t, lagging(s.client, s.lag));
        continue;
      }
      case 'retire':
        events = [{ type: 'retire', id: b.id(), client: client(s.target) }];
        break;
      case 'checkpoint':
        writeCheckpoint(p, client(s.client), t);
        continue;
    }
    const seen = b.frontier(client(s.client));
    lastSeen.set(s.client, seen);
    b.segment(client(s.client), events, t, seen);
  }
  return p;
}

/** A joiner's fold, the versions two writers claim in it, and the checkpoints it used. */
export interface Joined {
  readonly state: LogState;
  readonly contested: Set<string>;
  readonly bodies: WriterCheckpointBody[];
}

/** What a joiner folds: every writer's latest checkpoint, then the segments after it, in the given order. */
export function join(p: Played, order: <T>(list: readonly T[]) => T[], excluded?: ReadonlySet<string>): Joined {
  const bodies = [...p.checkpoints.values()].map((list) => list.at(-1)!);
  const state = createLogState();
  const contested = new Set<string>();
  for (const body of order(bodies)) projectWriterCheckpoint(body, state, excluded, contested);
  const cut = new Map(bodies.map((c) => [c.client, c.seq]));
  for (const seg of order(p.b.segments.filter((s) => s.seq > (cut.get(s.client) ?? 0)))) {
    noteContested(state, computeSegmentVersions(seg), contested);
    projectLogSegment(state, seg);
  }
  return { state, contested, bodies };
}

export function liveState(s: LogState, keyed: readonly ClientId[], nowMs: number) {
  const paths: Record<string, unknown> = {};
  for (const [p, st] of [...s.paths].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const heads = computeHeads(st);
    if (heads.length > 0) paths[p] = heads;
  }
  const refs = computeCondemnedRefs(s.paths, s.vault);
  const blobs: Record<string, unknown> = {};
  for (const h of [...s.vault.condemnations.keys()].sort()) {
    blobs[h] = {
      open: computeOpenCondemnations(h, s.vault, refs).map((c) => `${c.client}/${c.seq}`),
      banned: [0, 600, 5000].map((d) => computeNamingBan(h, nowMs + d, s.vault, refs) !== undefined),
    };
  }
  const live = {
    paths,
    retired: [...s.vault.retired].sort(),
    latest: Object.fromEntries([...s.vault.latest].sort()),
    lastEventful: Object.fromEntries([...s.vault.lastEventful].sort()),
    acks: Object.fromEntries([...computeAckFrontier(s.vault.latest, computeActiveClients(keyed, s.vault.retired))].sort()),
  };
  return { live, blobs };
}

export function shuffler(seed: number) {
  return <T>(list: readonly T[]): T[] => {
    const out = [...list];
    let x = seed + 1;
    for (let i = out.length - 1; i > 0; i--) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const j = x % (i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  };
}

/** What a client holding the whole played log checks checkpoints with (`computeCheckpointProblems`). */
export function checkInputOf(p: Played): CheckpointCheckInput {
  const evidence = new CheckpointEvidence();
  for (const s of p.b.segments) evidence.add(s);
  const segment = (client: string, seq: number) => {
    const body = p.b.segments.find((s) => s.client === client && s.seq === seq);
    return body === undefined ? undefined : { body, hash: sha256Hex(`${client}/${seq}`) };
  };
  return { full: p.b.state(), segment, collectors: evidence.collectors, retirers: evidence.retirers };
}
