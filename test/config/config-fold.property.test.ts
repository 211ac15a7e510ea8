/**
 * The vault's config events (ADR-0037), folded: every client that holds the same config events,
 * in any order and any number of times, has the same one in effect (the first by
 * `compareConfigs`, so the same merge policy); and in a vault with members a config event from a
 * writer that is not an admin at that segment changes nothing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ClientId, VaultId, VersionId } from '../../src/events/ids.js';
import type { SegmentBody } from '../../src/events/schema.js';
import { DEFAULT_MERGE_POLICY, type MergePolicy } from '../../src/merge/merge-policy.js';
import { projectMembersOf } from '../../src/members/counted-events.js';
import { createLogState, projectLogSegment } from '../../src/projections/project-log.js';
import { computeVaultMergePolicy } from '../../src/reconcile/sync/merge-stage.js';
import { clients, genesis, shuffle } from '../members/member-histories.js';

const VAULT = '01VAVLT0000000000000000000' as VaultId;

function configSegment(client: ClientId, seq: number, seen: Record<string, number>, id: string, merge: MergePolicy): SegmentBody {
  return {
    v: 2,
    vault: VAULT,
    client,
    seq,
    prev: null,
    time: '2026-12-07T00:00:00.000Z',
    seen,
    snapshot: null,
    events: [{ type: 'config', id: id as VersionId, settings: { merge } }],
  };
}

const policyArb: fc.Arbitrary<MergePolicy> = fc.record({
  enabled: fc.boolean(),
  maxBytes: fc.integer({ min: 0, max: 4096 }),
  patterns: fc.subarray(['*.md', '*.txt', '!private/**', 'docs/**']),
  markdownPatterns: fc.subarray(['*.md', '*.markdown']),
});

/** Config segments: distinct (client, seq) places, each with a `seen` frontier and a policy. */
const segmentsArb = fc
  .uniqueArray(
    fc.record({
      w: fc.integer({ min: 0, max: clients.length - 1 }),
      seq: fc.integer({ min: 1, max: 6 }),
      seen: fc.dictionary(fc.constantFrom(...clients), fc.integer({ min: 0, max: 6 }), { maxKeys: 3 }),
      policy: policyArb,
    }),
    { selector: (s) => `${s.w}/${s.seq}`, minLength: 1, maxLength: 8 },
  )
  .map((list) => list.map((s, i) => configSegment(clients[s.w]!, s.seq, s.seen, `01CFG${String(i).padStart(21, '0')}`, s.policy)));

function policyOf(bodies: readonly SegmentBody[], members = false): MergePolicy {
  const state = createLogState();
  if (members) state.members = projectMembersOf(genesis, bodies);
  for (const b of bodies) projectLogSegment(state, b);
  return computeVaultMergePolicy(state.vault);
}

describe('config events fold alike on every client (ADR-0037)', () => {
  it('any order and any repeats of the same config events give the same merge policy', () => {
    fc.assert(
      fc.property(segmentsArb, fc.integer(), fc.integer(), (bodies, s1, s2) => {
        const once = policyOf(bodies);
        expect(policyOf(shuffle([...bodies, ...shuffle(bodies, s2)], s1))).toEqual(once);
        // The one in effect is one of the published policies (never a blend, never the default while one exists).
        expect(bodies.map((b) => (b.events[0] as { settings: { merge: MergePolicy } }).settings.merge)).toContainEqual(once);
      }),
    );
  });

  it('a writer’s later config event wins over its earlier one; a config event that had seen more wins over another writer’s', () => {
    const off = { ...DEFAULT_MERGE_POLICY, enabled: false };
    const txt = { ...DEFAULT_MERGE_POLICY, patterns: ['*.txt'] };
    const [a, b] = [clients[0]!, clients[1]!];
    expect(
      policyOf([configSegment(a, 2, {}, '01CFG000000000000000000002', txt), configSegment(a, 1, {}, '01CFG000000000000000000001', off)]),
    ).toEqual(txt);
    // b wrote after seeing a's seq 2: b's is in effect, in either order.
    const seg = [
      configSegment(a, 2, {}, '01CFG000000000000000000002', txt),
      configSegment(b, 1, { [a]: 2 }, '01CFG000000000000000000003', off),
    ];
    expect(policyOf(seg)).toEqual(off);
    expect(policyOf([...seg].reverse())).toEqual(off);
    expect(policyOf([])).toEqual(DEFAULT_MERGE_POLICY);
  });

  it('in a vault with members, a config event from a client that is not an admin changes nothing; the root admin’s counts', () => {
    const off = { ...DEFAULT_MERGE_POLICY, enabled: false };
    const root = genesis.root;
    const other = clients.find((c) => c !== root)!;
    // `other` was never admitted: its config event (seen more, so it would win in an open vault) is not counted.
    const forged = configSegment(other, 5, { [root]: 3 }, '01CFG000000000000000000009', { ...DEFAULT_MERGE_POLICY, patterns: [] });
    expect(policyOf([forged], true)).toEqual(DEFAULT_MERGE_POLICY);
    expect(policyOf([forged], false)).toEqual({ ...DEFAULT_MERGE_POLICY, patterns: [] });
    const admin = configSegment(root, 1, {}, '01CFG000000000000000000001', off);
    expect(policyOf([forged, admin], true)).toEqual(off);
    expect(policyOf([admin, forged], true)).toEqual(off);
  });
});
