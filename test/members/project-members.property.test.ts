import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { counterIdFactory, type ClientId, type VersionId } from '../../src/events/ids.js';
import { mayApply, type EventKind } from '../../src/members/may-apply.js';
import { memberEventSchema, type LocatedMemberEvent, type MemberEvent, type Role } from '../../src/members/member-schema.js';
import { computeRoleAt, listMembers, projectMembers, type MemberState } from '../../src/members/project-members.js';
import {
  clients,
  CLIENTS,
  eventIdArb,
  fingerprints,
  genesis,
  historyArb,
  makeMemberEvent,
  shuffle,
  summarize,
  summarizeList,
  type History,
} from './member-histories.js';

const KINDS: EventKind[] = ['put', 'tombstone', 'resolve', 'retire', 'gc', 'member', 'key', 'rekey', 'config', 'purge'];
const outsider = counterIdFactory('01QRST')() as ClientId;

/** Hostile member events at `writer`'s segments from `firstSeq` on, claiming to have seen everything. */
const hostileArb = (writerIndex: number | 'outsider') =>
  fc
    .array(
      fc.record({
        action: fc.constantFrom<MemberEvent['action']>('add', 'remove', 'role'),
        target: fc.nat(CLIENTS),
        role: fc.constantFrom<Role>('admin', 'writer', 'reader'),
        id: eventIdArb,
        seqStep: fc.nat(2),
      }),
      { minLength: 1, maxLength: 6 },
    )
    .map((specs) => ({ writerIndex, specs }));

interface HostileSpec {
  readonly action: MemberEvent['action'];
  readonly target: number;
  readonly role: Role;
  readonly id: VersionId;
  readonly seqStep: number;
}

function buildHostile(h: History, writer: ClientId, firstSeq: number, specs: readonly HostileSpec[]): LocatedMemberEvent[] {
  const seenAll: Record<string, number> = {};
  clients.forEach((c, i) => (seenAll[c] = h.lengths[i]! + 5));
  let seq = firstSeq;
  return specs.map((s, index) => {
    seq += s.seqStep;
    const client = s.target === CLIENTS ? outsider : clients[s.target]!;
    const fingerprint = s.target === CLIENTS ? fingerprints[0]! : fingerprints[s.target]!;
    const base = { type: 'member' as const, id: s.id, client, fingerprint, upTo: 0 };
    return { writer, seq, index, seen: seenAll, event: makeMemberEvent(s.action, base, s.role, 'x') };
  });
}

function expectUnchanged(before: MemberState, after: MemberState, added: readonly LocatedMemberEvent[]): void {
  expect(summarizeList(after)).toBe(summarizeList(before));
  for (const e of added) expect(after.rejected.has(`${e.writer}/${e.seq}/${e.index}`)).toBe(true);
}

describe('member fold (properties)', () => {
  it('is order-independent and idempotent: any permutation of the same events, or each twice, gives the same list', () => {
    fc.assert(
      fc.property(historyArb, fc.nat(), fc.nat(), (h, seedA, seedB) => {
        const expected = summarize(projectMembers(genesis, h.events));
        expect(summarize(projectMembers(genesis, shuffle(h.events, seedA)))).toBe(expected);
        expect(summarize(projectMembers(genesis, shuffle([...h.events, ...h.events], seedB)))).toBe(expected);
      }),
      { numRuns: 400 },
    );
  });

  it('generated histories hold only events the wire schema accepts (the fold is tested on what can arrive)', () => {
    fc.assert(
      fc.property(historyArb, (h) => {
        for (const e of h.events) expect(memberEventSchema.safeParse(e.event).success).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('counts an event only when its writer was an admin at that segment in the final list, and keeps an admin', () => {
    fc.assert(
      fc.property(historyArb, (h) => {
        const state = projectMembers(genesis, h.events);
        const counted = h.events.filter((e) => state.counted.has(e.event.id) && !state.rejected.has(`${e.writer}/${e.seq}/${e.index}`));
        for (const e of counted) {
          const writer = state.members.get(e.writer);
          expect(computeRoleAt(writer, e.seq)).toBe('admin');
          if (writer?.cut != null) expect(e.seq).toBeLessThanOrEqual(writer.cut);
        }
        expect(listMembers(state).some((m) => m.role === 'admin')).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('a counted removal is final: no add, concurrent or later, brings the client id back', () => {
    fc.assert(
      fc.property(historyArb, (h) => {
        const state = projectMembers(genesis, h.events);
        for (const e of h.events) {
          if (e.event.action !== 'remove' || !state.counted.has(e.event.id)) continue;
          const target = state.members.get(e.event.client)!;
          expect(target.role).toBeNull();
          expect(listMembers(state).map((m) => m.client)).not.toContain(e.event.client);
          expect(computeRoleAt(target, Number.MAX_SAFE_INTEGER)).toBeNull();
        }
      }),
      { numRuns: 400 },
    );
  });

  it('events of a client never admitted change nothing, and none of its events may apply', () => {
    fc.assert(
      fc.property(historyArb, hostileArb('outsider'), fc.nat(), (h, hostile, seed) => {
        const before = projectMembers(genesis, h.events);
        const added = buildHostile(h, outsider, 1, hostile.specs);
        expectUnchanged(before, projectMembers(genesis, shuffle([...h.events, ...added], seed)), added);
        for (const k of KINDS) expect(mayApply(k, { client: outsider, seq: 1 }, before)).toBe(k === 'key');
      }),
      { numRuns: 300 },
    );
  });

  it('events of a removed member beyond its cut change nothing, and none of them may apply', () => {
    fc.assert(
      fc.property(historyArb, hostileArb(0), fc.nat(), (h, hostile, seed) => {
        const before = projectMembers(genesis, h.events);
        const removed = [...before.members.values()].filter((m) => m.cut !== null);
        for (const m of removed) {
          const i = clients.indexOf(m.client);
          const added = buildHostile(h, m.client, h.lengths[i]! + 1, hostile.specs);
          expectUnchanged(before, projectMembers(genesis, shuffle([...h.events, ...added], seed)), added);
          for (const k of KINDS) expect(mayApply(k, { client: m.client, seq: m.cut! + 1 }, before)).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("a reader's events change nothing, and only its own key event may apply", () => {
    fc.assert(
      fc.property(historyArb, hostileArb(0), fc.nat(), (h, hostile, seed) => {
        const before = projectMembers(genesis, h.events);
        for (const m of listMembers(before).filter((r) => r.role === 'reader')) {
          const i = clients.indexOf(m.client);
          const next = h.lengths[i]! + 1;
          if (computeRoleAt(m, next) !== 'reader') continue;
          const added = buildHostile(
            h,
            m.client,
            next,
            hostile.specs.map((s) => ({ ...s, seqStep: 0 })),
          );
          expectUnchanged(before, projectMembers(genesis, shuffle([...h.events, ...added], seed)), added);
          for (const k of KINDS) expect(mayApply(k, { client: m.client, seq: next }, before)).toBe(k === 'key');
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('a removal against a concurrent add that had not seen it', () => {
  const [root, a, b, c] = clients as [ClientId, ClientId, ClientId, ClientId];
  const fp = (i: number): string => fingerprints[i]!;
  it('wins in every order of arrival and every order of event ids', () => {
    fc.assert(
      fc.property(fc.uniqueArray(eventIdArb, { minLength: 5, maxLength: 5 }), fc.nat(), fc.boolean(), (ids, seed, bSawTheAdd) => {
        const [i0, i1, i2, i3, i4] = ids as [VersionId, VersionId, VersionId, VersionId, VersionId];
        const member = (id: VersionId, target: ClientId, i: number, action: MemberEvent['action'], role: Role = 'admin'): MemberEvent =>
          makeMemberEvent(action, { type: 'member', id, client: target, fingerprint: fp(i), upTo: 0 }, role, `m${i}`);
        const events: LocatedMemberEvent[] = [
          { writer: root, seq: 1, index: 0, seen: {}, event: member(i0, a, 1, 'add') },
          { writer: root, seq: 1, index: 1, seen: {}, event: member(i1, b, 2, 'add') },
          { writer: a, seq: 1, index: 0, seen: { [root]: 1 }, event: member(i2, c, 3, 'add', 'writer') },
          { writer: a, seq: 2, index: 0, seen: { [root]: 1 }, event: member(i3, c, 3, 'remove') },
          // B had not seen A's removal (A's segment 2): at most A's segment 1, the first add.
          { writer: b, seq: 1, index: 0, seen: { [root]: 1, ...(bSawTheAdd ? { [a]: 1 } : {}) }, event: member(i4, c, 3, 'add') },
        ];
        const state = projectMembers(genesis, shuffle(events, seed));
        expect(state.members.get(c)?.role).toBeNull();
        expect(
          listMembers(state)
            .map((m) => m.client)
            .sort(),
        ).toEqual([root, a, b].sort());
      }),
      { numRuns: 300 },
    );
  });
});
