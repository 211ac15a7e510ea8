import type { ClientId } from '../events/ids.js';
import type { MemberEvent } from '../events/member-event-schema.js';

/**
 * Member events (format 2, ADR-0019 table, ADR-0021 rules): an admin adds a client, removes
 * it, or changes its role. Each names the target's key fingerprint (what the admin checked)
 * and `upTo`: how much of the target's own log the admin had seen when it wrote the event.
 * The change takes effect at the target's segment `upTo + 1`: for a removal, the target's
 * segments up to `upTo` keep counting, later ones never count.
 */
export {
  MAX_MEMBER_NAME,
  Role,
  memberAddSchema,
  memberEventSchema,
  memberRemoveSchema,
  memberRoleSchema,
  roleSchema,
  type MemberEvent,
} from '../events/member-event-schema.js';
export type MemberAction = MemberEvent['action'];

/**
 * A member event where it was found: its writer's log, segment seq, index within the
 * segment, and the segment's `seen` frontier (what its writer had folded of other logs).
 * The engine builds these from verified segments; the fold trusts nothing else.
 */
export interface LocatedMemberEvent {
  readonly writer: ClientId;
  readonly seq: number;
  readonly index: number;
  readonly seen: Readonly<Record<string, number>>;
  readonly event: MemberEvent;
}

/** The vault's root of trust (the signed format-2 vault marker): its first admin. */
export interface MemberGenesis {
  readonly root: ClientId;
  readonly name: string;
  readonly fingerprint: string;
}
