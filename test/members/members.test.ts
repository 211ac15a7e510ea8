import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BmError } from '../../src/errors.js';
import type { ClientId, VaultId, VersionId } from '../../src/events/ids.js';
import { computeFingerprint, FINGERPRINT_RE, parseFingerprint } from '../../src/crypto/fingerprint.js';
import { decodeInvitation, encodeInvitation } from '../../src/members/invitation.js';
import { computeApplyVerdict } from '../../src/members/may-apply.js';
import { memberEventSchema, type LocatedMemberEvent, type MemberEvent } from '../../src/members/member-schema.js';
import { listMembers, projectMembers } from '../../src/members/project-members.js';
import { clients, fingerprints, genesis, shuffle } from './member-histories.js';

const [root, a, b, c] = clients as [ClientId, ClientId, ClientId, ClientId];
let n = 0;
const nextId = (): VersionId => `01EVNT${(n++).toString().padStart(20, '0')}` as VersionId;

type Body =
  | { action: 'add'; role: 'admin' | 'writer' | 'reader' }
  | { action: 'remove' }
  | { action: 'role'; role: 'admin' | 'writer' | 'reader' };
function ev(
  writer: ClientId,
  seq: number,
  seen: Record<string, number>,
  target: ClientId,
  body: Body,
  upTo = 0,
  id = nextId(),
): LocatedMemberEvent {
  const fingerprint = fingerprints[clients.indexOf(target)]!;
  const base = { type: 'member' as const, id, client: target, fingerprint, upTo };
  const event: MemberEvent = body.action === 'add' ? { ...base, ...body, name: 'n' } : { ...base, ...body };
  return { writer, seq, index: 0, seen, event };
}
const admins = (s: ReturnType<typeof projectMembers>): ClientId[] =>
  listMembers(s)
    .filter((m) => m.role === 'admin')
    .map((m) => m.client);
const rejection = (s: ReturnType<typeof projectMembers>, e: LocatedMemberEvent): string | undefined =>
  s.rejected.get(`${e.writer}/${e.seq}/${e.index}`);

describe('member rules (ADR-0021)', () => {
  const addA = ev(root, 1, {}, a, { action: 'add', role: 'admin' });
  const addB = ev(root, 2, {}, b, { action: 'add', role: 'admin' });

  it('two admins removing each other: the removal first in fold order counts, the other is beyond its writer cut', () => {
    for (const [first, second] of [
      [a, b],
      [b, a],
    ] as const) {
      const early = nextId();
      const late = nextId();
      const rmByFirst = ev(first, 1, { [root]: 2 }, second, { action: 'remove' }, 0, early);
      const rmBySecond = ev(second, 1, { [root]: 2 }, first, { action: 'remove' }, 0, late);
      for (const seed of [1, 2, 3, 4]) {
        const s = projectMembers(genesis, shuffle([addA, addB, rmByFirst, rmBySecond], seed));
        expect(admins(s).sort()).toEqual([root, first].sort());
        expect(rejection(s, rmBySecond)).toBe('not-admin');
      }
    }
  });

  it('the last admin cannot be removed or demoted, even by itself', () => {
    const s = projectMembers(genesis, [
      ev(root, 1, {}, root, { action: 'remove' }),
      ev(root, 2, {}, root, { action: 'role', role: 'writer' }),
    ]);
    expect(admins(s)).toEqual([root]);
    expect([...s.rejected.values()]).toEqual(['last-admin', 'last-admin']);
  });

  it('a removed member keeps what it wrote up to the cut; later segments may not apply', () => {
    const addC = ev(root, 1, {}, c, { action: 'add', role: 'writer' });
    const rmC = ev(root, 2, { [c]: 3 }, c, { action: 'remove' }, 3);
    const s = projectMembers(genesis, [addC, rmC]);
    expect(computeApplyVerdict('put', { client: c, seq: 3 }, s)).toBe('ok');
    expect(computeApplyVerdict('put', { client: c, seq: 4 }, s)).toBe('removed');
    expect(computeApplyVerdict('key', { client: c, seq: 4 }, s)).toBe('removed');
  });

  it('an admission counts from the segment after what the admin had seen of the joiner', () => {
    const s = projectMembers(genesis, [ev(root, 1, { [c]: 2 }, c, { action: 'add', role: 'writer' }, 2)]);
    expect(computeApplyVerdict('put', { client: c, seq: 2 }, s)).toBe('not-a-member');
    expect(computeApplyVerdict('put', { client: c, seq: 3 }, s)).toBe('ok');
    expect(computeApplyVerdict('member', { client: c, seq: 3 }, s)).toBe('not-admin');
  });

  it('hostile roster events are rejected with a reason and change nothing', () => {
    const addC = ev(root, 1, {}, c, { action: 'add', role: 'writer' });
    const selfPromote = ev(c, 1, { [root]: 1 }, c, { action: 'role', role: 'admin' });
    const selfAdd = ev(b, 1, {}, b, { action: 'add', role: 'admin' });
    const replay = { ...addC, writer: root, seq: 3 };
    const rmC = ev(root, 2, { [c]: 1 }, c, { action: 'remove' }, 1);
    const readd = ev(c, 2, { [root]: 2 }, c, { action: 'add', role: 'admin' });
    const adminReadd = ev(root, 4, { [c]: 2 }, c, { action: 'add', role: 'writer' });
    const beyond = ev(root, 5, { [b]: 0 }, b, { action: 'add', role: 'writer' }, 1);
    const addA2 = { ...ev(root, 6, {}, a, { action: 'add', role: 'writer' }), index: 0 };
    const s = projectMembers(genesis, [addC, selfPromote, selfAdd, replay, rmC, readd, adminReadd, beyond, addA2]);
    expect(rejection(s, selfPromote)).toBe('not-admin');
    expect(rejection(s, selfAdd)).toBe('not-admin');
    expect(rejection(s, replay)).toBe('replayed');
    expect(rejection(s, readd)).toBe('not-admin');
    expect(rejection(s, adminReadd)).toBe('removed');
    expect(rejection(s, beyond)).toBe('unseen-log');
    expect(
      listMembers(s)
        .map((m) => m.client)
        .sort(),
    ).toEqual([root, a].sort());
    const mismatch = ev(root, 7, {}, a, { action: 'remove' });
    const s2 = projectMembers(genesis, [addA2, { ...mismatch, event: { ...mismatch.event, fingerprint: fingerprints[3]! } }]);
    expect([...s2.rejected.values()]).toEqual(['fingerprint-mismatch']);
  });

  // Found by the beyond-cut property (seed -1078206035).
  it('a change of its own role applies from its writer next segment; later events of a removed member change nothing', () => {
    const e4 = clients[4]!;
    const history = [
      ev(root, 1, {}, e4, { action: 'add', role: 'admin' }, 0, '01EVNT00000000000000000000' as VersionId),
      ev(root, 2, {}, root, { action: 'role', role: 'reader' }, 1, '01EVNT0000000000000000000F' as VersionId),
      ev(root, 3, {}, e4, { action: 'remove' }, 0, '01EVNT0000000000000000000M' as VersionId),
    ];
    const before = projectMembers(genesis, history);
    // The self-demotion (upTo 1 of its own seq 2) was beyond its own writer's new role: revoked, so root stays admin and removes e4.
    expect(before.members.get(e4)?.cut).toBe(0);
    expect(rejection(before, history[1]!)).toBe('revoked-later');
    const beyondCut = [
      { ...ev(e4, 1, { [root]: 9 }, root, { action: 'role', role: 'admin' }, 0, '01EVNT00000000000000000004' as VersionId), index: 0 },
      { ...ev(e4, 1, { [root]: 9 }, root, { action: 'add', role: 'admin' }, 0, '01EVNT00000000000000000000' as VersionId), index: 1 },
    ];
    const after = projectMembers(genesis, [...history, ...beyondCut]);
    expect(listMembers(after)).toEqual(listMembers(before));
    expect(after.members.get(e4)?.cut).toBe(0);
    const selfDemote = ev(root, 2, {}, root, { action: 'role', role: 'reader' }, 2);
    const s = projectMembers(genesis, [history[0]!, selfDemote]);
    expect(s.counted.has(selfDemote.event.id)).toBe(true);
    expect(computeApplyVerdict('member', { client: root, seq: 2 }, s)).toBe('ok');
    expect(computeApplyVerdict('member', { client: root, seq: 3 }, s)).toBe('reader');
  });

  it('a reader is listed but none of its events but its own key apply', () => {
    const s = projectMembers(genesis, [ev(root, 1, {}, c, { action: 'add', role: 'reader' })]);
    expect(listMembers(s).find((m) => m.client === c)?.role).toBe('reader');
    expect(computeApplyVerdict('put', { client: c, seq: 1 }, s)).toBe('reader');
    expect(computeApplyVerdict('key', { client: c, seq: 1 }, s)).toBe('ok');
  });

  it('the schema refuses unknown actions, bad fingerprints and extra fields', () => {
    const good = ev(root, 1, {}, c, { action: 'add', role: 'writer' }).event;
    expect(memberEventSchema.safeParse(good).success).toBe(true);
    expect(memberEventSchema.safeParse({ ...good, action: 'promote' }).success).toBe(false);
    expect(memberEventSchema.safeParse({ ...good, fingerprint: 'abcd' }).success).toBe(false);
    expect(memberEventSchema.safeParse({ ...good, extra: 1 }).success).toBe(false);
    expect(memberEventSchema.safeParse({ ...good, upTo: -1 }).success).toBe(false);
  });
});

describe('key fingerprints', () => {
  it('are five groups of four, stable, and differ for another key', () => {
    const f = computeFingerprint('ab'.repeat(32));
    expect(f).toMatch(FINGERPRINT_RE);
    expect(computeFingerprint('ab'.repeat(32))).toBe(f);
    expect(computeFingerprint(`${'ab'.repeat(31)}ac`)).not.toBe(f);
  });
  it('parse as people type them, and refuse what no fingerprint is', () => {
    const f = computeFingerprint('cd'.repeat(32));
    expect(parseFingerprint(` ${f.toLowerCase().replace(/-/g, ' ')} `)).toBe(f);
    expect(parseFingerprint('OOOO-IIII-LLLL-0000-1111')).toBe('0000-1111-1111-0000-1111');
    expect(() => parseFingerprint('ABCD-EFGH')).toThrow(/20/);
    expect(() => parseFingerprint('ABCD-EFGH-JKMN-PQRS-TVW!')).toThrow(/character/);
  });
});

describe('invitation tokens', () => {
  const inv = {
    remote: 's3://team-bucket/notes',
    vault: '01VA000000000000000000000Z' as VaultId,
    root: computeFingerprint('ef'.repeat(32)),
  };
  const usage = (fn: () => unknown): BmError => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(BmError);
      expect((e as BmError).code).toBe('usage');
      return e as BmError;
    }
    throw new Error('expected a usage error');
  };

  it('round-trip, on one line, with blanks around ignored', () => {
    const token = encodeInvitation(inv);
    expect(token).not.toMatch(/\s/);
    expect(decodeInvitation(`  ${token}\n`)).toEqual(inv);
  });
  it('reject every single-character change and every cut with a clear error', () => {
    const token = encodeInvitation(inv);
    for (let i = 0; i < token.length; i++) {
      const changed = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
      const e = usage(() => decodeInvitation(changed));
      expect(e.hint.length).toBeGreaterThan(0);
    }
    for (let i = 0; i < token.length; i++) usage(() => decodeInvitation(token.slice(0, i)));
  });
  it('say what is wrong: not a token, newer version, damaged', () => {
    expect(usage(() => decodeInvitation('hello')).message).toMatch(/not a bm-log invitation/);
    expect(usage(() => decodeInvitation(encodeInvitation(inv).replace('invite-1.', 'invite-9.'))).hint).toMatch(/upgrade/);
    expect(usage(() => decodeInvitation(`${encodeInvitation(inv)}x`)).message).toMatch(/damaged/);
  });
  it('decode any string to a valid invitation or a usage error, never another exception', () => {
    const token = encodeInvitation(inv);
    const inserted = fc.nat(token.length).chain((i) => fc.string().map((s) => token.slice(0, i) + s + token.slice(i)));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => token.slice(0, 20) + s),
          inserted,
        ),
        (t) => {
          try {
            const out = decodeInvitation(t);
            expect(out.vault).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
            expect(out.root).toMatch(FINGERPRINT_RE);
          } catch (e) {
            expect(e).toBeInstanceOf(BmError);
            expect((e as BmError).code).toBe('usage');
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
  it('never hold a credential', () => {
    usage(() => encodeInvitation({ ...inv, remote: 's3://KEY:SECRET@bucket/x' }));
    usage(() => encodeInvitation({ ...inv, remote: 'https://host/b?token=abc' }));
    usage(() => encodeInvitation({ ...inv, remote: 'dir\n/etc' }));
  });
});
