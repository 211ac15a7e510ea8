import { unreachable } from '../errors.js';
import type { ClientId } from '../events/ids.js';
import { computeMemberOrder, computeSeenOf, locationKey } from './member-order.js';
import type { LocatedMemberEvent, MemberEvent, MemberGenesis, Role } from './member-schema.js';

/**
 * The member list: a pure fold of the member events of every log (ADR-0021). The result
 * depends only on the set of events (`computeMemberOrder`), so every client that holds the
 * same events holds the same list, whatever order it fetched them in.
 */

/** From the target's segment `from` on, its role is `role` (null: removed). */
export interface RoleChange {
  readonly from: number;
  readonly role: Role | null;
}

export interface MemberRecord {
  readonly client: ClientId;
  readonly name: string;
  readonly fingerprint: string;
  readonly addedBy: ClientId;
  /** The role for its newest segments; null once removed. */
  readonly role: Role | null;
  /** A removal's `upTo`: the member's segments after it change nothing. Null: not removed. */
  readonly cut: number | null;
  /** Counted changes in fold order; `computeRoleAt` reads a segment's role from them. */
  readonly changes: readonly RoleChange[];
}

/** Why a member event changes nothing (reported, never applied). */
export type MemberRejection =
  | 'not-admin' // its writer was not an admin at that segment (non-member, reader, writer, removed, cut)
  | 'unseen-log' // `upTo` beyond what its writer had seen of the target's log
  | 'already-member'
  | 'not-member'
  | 'removed' // the target was removed: removal is final for a client id
  | 'fingerprint-mismatch'
  | 'last-admin' // it would leave the vault without an admin
  | 'replayed' // an event with this id already counted
  | 'revoked-later'; // its writer's authority at that segment was revoked by a removal or demotion it came after

export interface MemberState {
  readonly root: ClientId;
  readonly members: ReadonlyMap<ClientId, MemberRecord>;
  /** Ids of the member events that count. */
  readonly counted: ReadonlySet<string>;
  /** Location key (`writer/seq/index`) of each event that does not count, and why. */
  readonly rejected: ReadonlyMap<string, MemberRejection>;
}

/** The role a member had for its own segment `seq` (null: its events there change nothing). */
export function computeRoleAt(record: MemberRecord | undefined, seq: number): Role | null {
  let role: Role | null = null;
  for (const c of record?.changes ?? []) if (c.from <= seq) role = c.role;
  return role;
}

/**
 * Folds the member events. One pass in `computeMemberOrder`'s order judges each event by the
 * list so far. A removal or demotion can revoke events its target wrote beyond its `upTo`
 * that the pass already counted (they were ordered first: concurrent, or cut back by the
 * admin); at the first such revocation the pass stops, the revoked events are excluded (they
 * were beyond their writer's cut) and the pass starts again. Stopping at the first one means
 * nothing later in the order, such as an event of the revoked writer, is judged by a list
 * that still holds a revoked event. Each restart excludes at least one counted event, so
 * there are at most as many passes as events; an excluded event stays excluded.
 */
export function projectMembers(genesis: MemberGenesis, events: readonly LocatedMemberEvent[]): MemberState {
  const ordered = computeMemberOrder(events);
  const excluded = new Set<string>();
  for (;;) {
    const pass = foldPass(genesis, ordered, excluded);
    if (pass.revoked.length === 0) return { root: genesis.root, members: pass.members, counted: pass.counted, rejected: pass.rejected };
    for (const e of pass.revoked) excluded.add(locationKey(e));
  }
}

interface Pass {
  readonly members: Map<ClientId, MemberRecord>;
  readonly counted: Set<string>;
  readonly countedEvents: LocatedMemberEvent[];
  readonly rejected: Map<string, MemberRejection>;
  /** Counted events a later change revoked (the pass stopped there). */
  revoked: LocatedMemberEvent[];
}

function foldPass(genesis: MemberGenesis, ordered: readonly LocatedMemberEvent[], excluded: ReadonlySet<string>): Pass {
  const rootRecord: MemberRecord = {
    client: genesis.root,
    name: genesis.name,
    fingerprint: genesis.fingerprint,
    addedBy: genesis.root,
    role: 'admin',
    cut: null,
    changes: [{ from: 1, role: 'admin' }],
  };
  const pass: Pass = {
    members: new Map([[genesis.root, rootRecord]]),
    counted: new Set(),
    countedEvents: [],
    rejected: new Map(),
    revoked: [],
  };
  for (const e of ordered) {
    const key = locationKey(e);
    const reason = excluded.has(key) ? 'revoked-later' : judgeMemberEvent(e, pass);
    if (reason !== null) {
      pass.rejected.set(key, reason);
      continue;
    }
    const target = applyMemberEvent(e, pass.members.get(e.event.client));
    pass.members.set(e.event.client, target);
    pass.counted.add(e.event.id);
    pass.countedEvents.push(e);
    if (e.event.action === 'add') continue; // an admission revokes nothing: its target had no counted event
    pass.revoked = pass.countedEvents.filter((c) => c.writer === target.client && computeRoleAt(target, c.seq) !== 'admin');
    if (pass.revoked.length > 0) return pass;
  }
  return pass;
}

/** Null when `e` counts given the list so far; otherwise why it changes nothing. */
function judgeMemberEvent(e: LocatedMemberEvent, pass: Pass): MemberRejection | null {
  const ev = e.event;
  if (pass.counted.has(ev.id)) return 'replayed';
  if (computeRoleAt(pass.members.get(e.writer), e.seq) !== 'admin') return 'not-admin';
  if (ev.upTo > computeSeenOf(e, ev.client)) return 'unseen-log';
  const target = pass.members.get(ev.client);
  if (target?.cut !== undefined && target.cut !== null) return 'removed';
  if (ev.action === 'add') return target === undefined ? null : 'already-member';
  if (target === undefined) return 'not-member';
  if (target.fingerprint !== ev.fingerprint) return 'fingerprint-mismatch';
  const after = ev.action === 'remove' ? null : ev.role;
  if (target.role === 'admin' && after !== 'admin' && countAdmins(pass.members) === 1) return 'last-admin';
  return null;
}

function applyMemberEvent(e: LocatedMemberEvent, target: MemberRecord | undefined): MemberRecord {
  const ev: MemberEvent = e.event;
  const from = ev.upTo + 1;
  switch (ev.action) {
    case 'add':
      return {
        client: ev.client,
        name: ev.name,
        fingerprint: ev.fingerprint,
        addedBy: e.writer,
        role: ev.role,
        cut: null,
        changes: [{ from, role: ev.role }],
      };
    case 'remove':
      return { ...target!, role: null, cut: ev.upTo, changes: [...target!.changes, { from, role: null }] };
    case 'role':
      return { ...target!, role: ev.role, changes: [...target!.changes, { from, role: ev.role }] };
    default:
      return unreachable(ev);
  }
}

function countAdmins(members: ReadonlyMap<ClientId, MemberRecord>): number {
  let n = 0;
  for (const m of members.values()) if (m.role === 'admin') n += 1;
  return n;
}

/** The current members (removed ones left out), sorted by client id: what `bm-log members` lists. */
export function listMembers(state: MemberState): MemberRecord[] {
  return [...state.members.values()]
    .filter((m) => m.role !== null)
    .sort((a, b) => (a.client < b.client ? -1 : a.client > b.client ? 1 : 0));
}
