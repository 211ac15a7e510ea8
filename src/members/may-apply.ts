import { unreachable } from '../errors.js';
import type { ClientId } from '../events/ids.js';
import type { Role } from './member-schema.js';
import { computeRoleAt, type MemberState } from './project-members.js';

/**
 * Whether a writer's event counts (ADR-0021): the engine asks this for every event of every
 * verified segment before folding it; an event that does not count changes nothing for anyone
 * (it is reported, like a fault, never applied). A writer speaks only for itself (ADR-0014):
 * the answer depends on the writer's role at that very segment, so a removed member's log
 * counts up to its cut, and a pending client's not at all.
 */
export type EventKind = 'put' | 'tombstone' | 'resolve' | 'retire' | 'gc' | 'member' | 'key' | 'rekey' | 'config' | 'purge';

export type ApplyVerdict =
  | 'ok'
  | 'not-a-member' // never admitted, or this segment is before what the admitting admin had seen
  | 'removed' // beyond the cut of its removal
  | 'reader' // a reader's events change nothing
  | 'not-admin'; // the event needs an admin

/** Where the event is: its writer's log and segment. */
export interface EventPlace {
  readonly client: ClientId;
  readonly seq: number;
}

/** The roles whose events of `kind` count; `any` for a client's statements about itself. */
export function computeRequiredRoles(kind: EventKind): readonly Role[] | 'any' {
  switch (kind) {
    case 'put':
    case 'tombstone':
    case 'resolve':
    case 'retire':
    case 'gc':
      return ['admin', 'writer'];
    case 'member':
    case 'rekey':
    case 'config':
    case 'purge':
      return ['admin'];
    case 'key':
      // Its own wrapping key: a pending client publishes it so that an admin can wrap the
      // content key for it when admitting it. It changes nothing shared.
      return 'any';
    default:
      return unreachable(kind);
  }
}

/** Why an event of `kind` at `place` counts or not, given the member list. */
export function computeApplyVerdict(kind: EventKind, place: EventPlace, state: MemberState): ApplyVerdict {
  const record = state.members.get(place.client);
  if (record?.cut !== undefined && record.cut !== null && place.seq > record.cut) return 'removed';
  const required = computeRequiredRoles(kind);
  if (required === 'any') return 'ok';
  const role = computeRoleAt(record, place.seq);
  if (role === null) return 'not-a-member';
  if (required.includes(role)) return 'ok';
  return role === 'reader' ? 'reader' : 'not-admin';
}

/** True when an event of `kind` written at `place` counts. */
export function mayApply(kind: EventKind, place: EventPlace, state: MemberState): boolean {
  return computeApplyVerdict(kind, place, state) === 'ok';
}
