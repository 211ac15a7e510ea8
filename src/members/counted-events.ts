import { unreachable } from '../errors.js';
import type { ClientId } from '../events/ids.js';
import type { SegmentBody } from '../events/schema.js';
import type { LocatedMemberEvent } from './member-schema.js';
import { computeApplyVerdict, type ApplyVerdict, type EventKind } from './may-apply.js';
import { listMembers, projectMembers, type MemberState } from './project-members.js';
import type { MemberGenesis } from './member-schema.js';

/**
 * The member events a segment holds, where they are (for `projectMembers`). Pure.
 */
export function computeLocatedMemberEvents(body: SegmentBody): LocatedMemberEvent[] {
  const out: LocatedMemberEvent[] = [];
  body.events.forEach((event, index) => {
    if (event.type === 'member') out.push({ writer: body.client, seq: body.seq, index, seen: body.seen, event });
  });
  return out;
}

/** The member list of a vault with a root, from the member events of every segment held. Pure. */
export function projectMembersOf(genesis: MemberGenesis, bodies: Iterable<SegmentBody>): MemberState {
  const events: LocatedMemberEvent[] = [];
  for (const b of bodies) if (b.v >= 2) events.push(...computeLocatedMemberEvents(b));
  return projectMembers(genesis, events);
}

/**
 * The segment as it counts (ADR-0021): only the events `mayApply` allows at its writer's place;
 * the others change nothing for anyone, so the folds (paths, vault state) never see them. A
 * segment all of whose events count is returned as it is. Member events are kept (the path and
 * vault folds ignore them; the member fold judged them already). Pure.
 */
export function computeCountedSegment(body: SegmentBody, members: MemberState): SegmentBody {
  if (body.events.length === 0) return body;
  const place = { client: body.client, seq: body.seq };
  const kept = body.events.filter((e) => e.type === 'member' || computeApplyVerdict(e.type, place, members) === 'ok');
  return kept.length === body.events.length ? body : { ...body, events: kept };
}

/**
 * The versions that count (ADR-0032): what `log`, `ls` and `show` list, the same the projection
 * folds (`computeCountedSegment`). All of them in an open vault (`members` undefined). Pure.
 */
export function computeCountedVersions<T extends { readonly type: EventKind; readonly client: ClientId; readonly seq: number }>(
  versions: readonly T[],
  members: MemberState | undefined,
): T[] {
  if (members === undefined) return [...versions];
  return versions.filter((v) => computeApplyVerdict(v.type, { client: v.client, seq: v.seq }, members) === 'ok');
}

/** Per writer, how many of its events changed nothing, and why (for reports). */
export interface UncountedTally {
  readonly client: ClientId;
  readonly verdict: Exclude<ApplyVerdict, 'ok'>;
  events: number;
}

/** Adds the events of `body` that do not count to `into` (keyed by client and verdict). Pure but for `into`. */
export function tallyUncounted(body: SegmentBody, members: MemberState, into: Map<string, UncountedTally>): void {
  const place = { client: body.client, seq: body.seq };
  for (const e of body.events) {
    if (e.type === 'member') continue;
    const verdict = computeApplyVerdict(e.type, place, members);
    if (verdict === 'ok') continue;
    const key = `${body.client}/${verdict}`;
    const t = into.get(key) ?? { client: body.client, verdict, events: 0 };
    t.events += 1;
    into.set(key, t);
  }
}

/**
 * Clients with a published key that are not members (never admitted, or removed): a pending
 * client is one never admitted. Sorted by id. Pure.
 */
export function computePendingClients(keyed: Iterable<ClientId>, members: MemberState): ClientId[] {
  return [...keyed].filter((c) => !members.members.has(c)).sort();
}

/** The clients whose acknowledgements GC waits for in a vault with members: current members only. Pure. */
export function computeMemberClients(members: MemberState): Set<ClientId> {
  return new Set(listMembers(members).map((m) => m.client));
}

/**
 * Why this client's next segment's path events would change nothing (so the sync does not
 * publish them and leaves its files as they are), or undefined when they count. `name` is how
 * an admin names this client in `members add`. Pure.
 */
export function computeHeldBack(members: MemberState | undefined, self: ClientId, nextSeq: number, name: string): string | undefined {
  if (members === undefined) return undefined;
  const verdict = computeApplyVerdict('put', { client: self, seq: nextSeq }, members);
  switch (verdict) {
    case 'ok':
      return undefined;
    case 'not-a-member':
      return `not published: this client (${name}) is not a member of the vault yet; an admin admits it with \`bm-log members add NAME\` after checking its key fingerprint`;
    case 'removed':
      return 'not published: this client was removed from the vault (its changes would change nothing for anyone)';
    case 'reader':
    case 'not-admin':
      return 'not published: this client is a reader of the vault (an admin can change that with `bm-log members role NAME writer`)';
    default:
      return unreachable(verdict);
  }
}
