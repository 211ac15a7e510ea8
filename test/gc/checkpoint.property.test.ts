import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/events/codec.js';
import type { ClientId, ContentHash, VersionId } from '../../src/events/ids.js';
import type { Event, SegmentBody } from '../../src/events/schema.js';
import { generateKeyPair, importPublicKeyHex, sha256Hex } from '../../src/events/signing.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { computeCondemnedRefs, computeNamingBan, computeOpenCondemnations } from '../../src/projections/blob-condemnation.js';
import { computeCheckpointBody, projectCheckpoint } from '../../src/projections/project-checkpoint.js';
import { projectLogSegment, type LogState } from '../../src/projections/project-log.js';
import { computeHeads } from '../../src/projections/project-paths.js';
import { computeAckFrontier, computeActiveClients } from '../../src/projections/project-vault.js';
import { LogBuilder } from './support/log-builder.js';

// Property: a client that starts from a checkpoint and folds the segments after its frontier
// holds exactly the live state of a client that folded every segment: the same heads (the
// same records) at every path, the same collected paths, retired clients and
// acknowledgements; and the same blob collection state (at least as cautious when a retired
// client may have condemned a blob after the frontier). Any per-client cut of the log may
// be the frontier; acknowledgements only grow, as an honest client's do.

const PATHS = ['a.md', 'b/c.md', 'd.txt'] as const;
const CONTENTS = ['one', 'two', 'three'] as const;
const T0 = Date.parse('2026-11-01T00:00:00.000Z');
const key = generateKeyPair();

type Step =
  | { kind: 'put'; client: number; path: number; content: number; replace: number }
  | { kind: 'tombstone'; client: number; path: number; replace: number }
  | { kind: 'resolve'; client: number; path: number; content: number }
  | { kind: 'ack'; client: number; lag: number }
  | { kind: 'collect'; client: number }
  | { kind: 'condemn'; client: number; content: number; delete: boolean }
  | { kind: 'retire'; client: number; target: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('put' as const), client: fc.nat(2), path: fc.nat(2), content: fc.nat(2), replace: fc.nat(7) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('tombstone' as const), client: fc.nat(2), path: fc.nat(2), replace: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('resolve' as const), client: fc.nat(2), path: fc.nat(2), content: fc.integer({ min: -1, max: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('ack' as const), client: fc.nat(2), lag: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('collect' as const), client: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('condemn' as const), client: fc.nat(2), content: fc.nat(2), delete: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retire' as const), client: fc.nat(2), target: fc.nat(2) }) },
);

/** Plays the steps: each writer replaces some versions it knows (any earlier version of the path). */
function play(steps: readonly Step[]): LogBuilder {
  const b = LogBuilder.withClients(3);
  const client = (i: number) => b.clients[i]!;
  const lastSeen = new Map<number, Record<string, number>>();
  let t = T0;
  for (const s of steps) {
    t += 1000;
    const state = b.state();
    const versionsOf = (p: string) => [...(state.paths.get(p as SyncPath)?.versions.keys() ?? [])];
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
        const heads = computeHeads(state.paths.get(PATHS[s.path]! as SyncPath) ?? { versions: new Map(), replaced: new Set() }).map((h) => h.id);
        if (heads.length === 0) continue;
        const content = s.content < 0 ? null : { hash: sha256Hex(CONTENTS[s.content]!) as ContentHash, size: 3, mode: 0o644 };
        events = [{ type: 'resolve', id: b.id(), path: PATHS[s.path]! as SyncPath, replaces: heads, content }];
        break;
      }
      case 'ack': {
        // An acknowledgement that lags behind what was published, never behind its own last one.
        const seen = b.frontier(client(s.client));
        const before = lastSeen.get(s.client) ?? {};
        for (const c of Object.keys(seen)) seen[c] = Math.max(before[c] ?? 0, seen[c]! - s.lag);
        lastSeen.set(s.client, seen);
        b.segment(client(s.client), [], t, seen);
        continue;
      }
      case 'collect': {
        const collected: { path: SyncPath; versions: VersionId[] }[] = [];
        for (const [p, st] of state.paths) {
          const heads = computeHeads(st);
          if (heads.length > 0 && heads.every((h) => h.content === null)) collected.push({ path: p, versions: [...st.versions.keys()].filter((id) => !st.collected?.has(id)) });
        }
        if (collected.length === 0) continue;
        events = [{ type: 'gc', id: b.id(), retentionMs: 0, graceMs: 1000, frontier: {}, collected, condemned: [], deleted: [] }];
        break;
      }
      case 'condemn': {
        const h = sha256Hex(CONTENTS[s.content]!) as ContentHash;
        events = [{ type: 'gc', id: b.id(), retentionMs: 0, graceMs: 1000, frontier: {}, collected: [], condemned: s.delete ? [] : [h], deleted: s.delete ? [h] : [] }];
        break;
      }
      case 'retire':
        events = [{ type: 'retire', id: b.id(), client: client(s.target) }];
        break;
    }
    const seen = b.frontier(client(s.client));
    lastSeen.set(s.client, seen);
    b.segment(client(s.client), events, t, seen);
  }
  return b;
}

function liveState(s: LogState, keyed: readonly ClientId[], nowMs: number) {
  const paths: Record<string, unknown> = {};
  for (const [p, st] of [...s.paths].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const heads = computeHeads(st);
    if (heads.length > 0) paths[p] = heads;
  }
  const refs = computeCondemnedRefs(s.paths, s.vault);
  const blobs: Record<string, unknown> = {};
  for (const h of [...s.vault.condemnations.keys()].sort()) {
    blobs[h] = { open: computeOpenCondemnations(h, s.vault, refs).map((c) => `${c.client}/${c.seq}`), banned: [0, 600, 5000].map((d) => computeNamingBan(h, nowMs + d, s.vault, refs) !== undefined) };
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

/** Every open condemnation and ban of `full` is one of `fromCheckpoint` too (it may have more). */
function expectAtLeastAsCautious(fromCheckpoint: Record<string, unknown>, full: Record<string, unknown>): void {
  for (const [h, f] of Object.entries(full) as [string, { open: string[]; banned: boolean[] }][]) {
    const c = fromCheckpoint[h] as { open: string[]; banned: boolean[] };
    for (const o of f.open) expect(c.open).toContain(o);
    f.banned.forEach((b, i) => b && expect(c.banned[i]).toBe(true));
  }
}

describe('checkpoint bootstrap', () => {
  it('checkpoint + the tail after its frontier = full replay, for any per-client cut and any tail order', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 40 }), fc.array(fc.nat(), { minLength: 3, maxLength: 3 }), fc.nat(), (steps, cuts, shuffleSeed) => {
        const b = play(steps);
        const seqs = new Map<string, number>();
        for (const seg of b.segments) seqs.set(seg.client, Math.max(seqs.get(seg.client) ?? 0, seg.seq));
        const cut = new Map<string, number>(b.clients.map((c, i) => [c, (cuts[i] ?? 0) % ((seqs.get(c) ?? 0) + 1)]));
        const prefix = b.segments.filter((s) => s.seq <= (cut.get(s.client) ?? 0));
        const tail = b.segments.filter((s) => s.seq > (cut.get(s.client) ?? 0));
        const writer = b.clients.find((c) => (cut.get(c) ?? 0) > 0);
        fc.pre(writer !== undefined);
        const frontier = new Map<string, { seq: number; hash: string }>();
        for (const [c, seq] of cut) if (seq > 0) frontier.set(c, { seq, hash: sha256Hex(`${c}/${seq}`) });
        const body = computeCheckpointBody(b.state(prefix), { vault: b.vault, client: writer, seq: cut.get(writer)!, time: new Date(T0).toISOString(), frontier, keyed: b.clients });
        // Through the real codec: the body passes the schema, is signed and verified.
        const decoded = decodeCheckpoint(encodeCheckpoint(body, key.privateKey).bytes, { vault: b.vault, client: writer, seq: cut.get(writer)!, publicKey: importPublicKeyHex(key.publicKeyHex) }).body;
        const fromCheckpoint = projectCheckpoint(decoded);
        const shuffled = shuffle(tail, shuffleSeed);
        for (const seg of shuffled) projectLogSegment(fromCheckpoint, seg);
        const now = T0 + 1000 * (steps.length + 1);
        const got = liveState(fromCheckpoint, b.clients, now);
        const want = liveState(b.state(), b.clients, now);
        expect(got.live).toEqual(want.live);
        // Exact too, unless a retired client may have condemned after the frontier (then more cautious).
        if (steps.some((st) => st.kind === 'retire')) expectAtLeastAsCautious(got.blobs, want.blobs);
        else expect(got.blobs).toEqual(want.blobs);
      }),
      { numRuns: 2000 },
    );
  });
});

function shuffle(list: readonly SegmentBody[], seed: number): SegmentBody[] {
  const out = [...list];
  let x = seed + 1;
  for (let i = out.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
