import fc from 'fast-check';
import { counterIdFactory, type ClientId, type VersionId } from '../../src/events/ids.js';
import { computeFingerprint } from '../../src/crypto/fingerprint.js';
import type { LocatedMemberEvent, MemberEvent, MemberGenesis, Role } from '../../src/members/member-schema.js';
import { listMembers, type MemberState } from '../../src/members/project-members.js';

/**
 * Generated member histories for property tests: N clients write segments in turn; each
 * segment has a `seen` frontier that grows monotonically and never passes what exists (as
 * real syncs make them), holds a few member events by whoever writes it (admins, writers,
 * readers, removed members and clients never admitted alike) and names event ids in random
 * order (ids are the tie-break of concurrent events, so every order of ties is tried).
 */
export const CLIENTS = 5;
const ids = counterIdFactory('01CXNT');
export const clients: ClientId[] = Array.from({ length: CLIENTS }, () => ids() as ClientId);
export const fingerprints: string[] = clients.map((_, i) => computeFingerprint(i.toString(16).padStart(64, 'a')));
export const genesis: MemberGenesis = { root: clients[0]!, name: 'root', fingerprint: fingerprints[0]! };

const ULID_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const eventIdArb = fc
  .string({ unit: fc.constantFrom(...ULID_ALPHABET), minLength: 20, maxLength: 20 })
  .map((s) => `01EVNT${s}` as VersionId);

const stepEventArb = fc.record({
  action: fc.constantFrom('add', 'add', 'remove', 'role') as fc.Arbitrary<MemberEvent['action']>,
  target: fc.nat(CLIENTS - 1),
  role: fc.constantFrom<Role>('admin', 'writer', 'reader'),
  upToFrac: fc.oneof(fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })),
  beyondSeen: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
  wrongFingerprint: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
});
const stepArb = fc.record({
  writer: fc.oneof(fc.constant(0), fc.nat(CLIENTS - 1)),
  seenFracs: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: CLIENTS, maxLength: CLIENTS }),
  events: fc.array(stepEventArb, { minLength: 0, maxLength: 3 }),
});

export interface History {
  readonly events: LocatedMemberEvent[];
  /** Segments written per client (the next one of client i is seq `lengths[i] + 1`). */
  readonly lengths: number[];
}

export const historyArb: fc.Arbitrary<History> = fc
  .record({
    steps: fc.array(stepArb, { minLength: 1, maxLength: 14 }),
    idPool: fc.uniqueArray(eventIdArb, { minLength: 60, maxLength: 60 }),
  })
  .map(({ steps, idPool }) => buildHistory(steps, idPool));

type Step = typeof stepArb extends fc.Arbitrary<infer T> ? T : never;

function buildHistory(steps: readonly Step[], idPool: readonly VersionId[]): History {
  const lengths = new Array<number>(CLIENTS).fill(0);
  const seenBy = clients.map(() => new Array<number>(CLIENTS).fill(0));
  const events: LocatedMemberEvent[] = [];
  let nextId = 0;
  for (const step of steps) {
    const w = step.writer;
    for (let c = 0; c < CLIENTS; c++) {
      const prev = seenBy[w]![c]!;
      seenBy[w]![c] = prev + Math.floor(step.seenFracs[c]! * (lengths[c]! - prev));
    }
    const seq = lengths[w]! + 1;
    lengths[w] = seq;
    const seen: Record<string, number> = {};
    for (let c = 0; c < CLIENTS; c++) if (c !== w && seenBy[w]![c]! > 0) seen[clients[c]!] = seenBy[w]![c]!;
    step.events.forEach((s, index) => {
      const seenOfTarget = s.target === w ? seq : seenBy[w]![s.target]!;
      const upTo = s.beyondSeen ? seenOfTarget + 1 : Math.floor(s.upToFrac * seenOfTarget);
      const base = {
        type: 'member' as const,
        id: idPool[nextId++ % idPool.length]!,
        client: clients[s.target]!,
        fingerprint: s.wrongFingerprint ? fingerprints[(s.target + 1) % CLIENTS]! : fingerprints[s.target]!,
        upTo,
      };
      const event = makeMemberEvent(s.action, base, s.role, `m${s.target}`);
      events.push({ writer: clients[w]!, seq, index, seen, event });
    });
  }
  return { events, lengths };
}

type MemberBase = Pick<MemberEvent, 'type' | 'id' | 'client' | 'fingerprint' | 'upTo'>;

/** A member event of `action` (role and name used where the action has them). */
export function makeMemberEvent(action: MemberEvent['action'], base: MemberBase, role: Role, name: string): MemberEvent {
  switch (action) {
    case 'add':
      return { ...base, action, role, name };
    case 'role':
      return { ...base, action, role };
    case 'remove':
      return { ...base, action };
  }
}

/** Everything the fold decides, in a canonical form two states can be compared by. */
export function summarize(state: MemberState): string {
  const members = [...state.members.values()].sort((a, b) => (a.client < b.client ? -1 : 1));
  return JSON.stringify({ members, counted: [...state.counted].sort(), rejected: [...state.rejected.entries()].sort() });
}

/** What the members list says, without the bookkeeping of rejected events. */
export function summarizeList(state: MemberState): string {
  const members = [...state.members.values()].sort((a, b) => (a.client < b.client ? -1 : 1));
  return JSON.stringify({ members, counted: [...state.counted].sort(), listed: listMembers(state).map((m) => m.client) });
}

/** A deterministic shuffle from a seed (Fisher-Yates over a small LCG). */
export function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
