import { z } from 'zod';
import { ULID_RE, type ClientId, type VersionId } from '../events/ids.js';
import { MAX_WRAPS } from '../crypto/key-event-schema.js';
import { wrappedKeySchema } from '../crypto/wrap-key.js';
import { FINGERPRINT_RE } from '../crypto/fingerprint.js';

/**
 * Member events (format 2, ADR-0019 table, ADR-0021 rules): an admin adds a client, removes
 * it, or changes its role. Each names the target's key fingerprint (what the admin checked)
 * and `upTo`: how much of the target's own log the admin had seen when it wrote the event.
 * The change takes effect at the target's segment `upTo + 1`: for a removal, the target's
 * segments up to `upTo` keep counting, later ones never count.
 */
export const Role = { admin: 'admin', writer: 'writer', reader: 'reader' } as const;
export type Role = (typeof Role)[keyof typeof Role];
export const roleSchema = z.enum([Role.admin, Role.writer, Role.reader]);

/** Largest member name (a person or device label, shown in `members`). */
export const MAX_MEMBER_NAME = 128;

const clientId = z
  .string()
  .regex(ULID_RE, 'ULID')
  .transform((s) => s as ClientId);
const eventId = z
  .string()
  .regex(ULID_RE, 'ULID')
  .transform((s) => s as VersionId);
const fingerprint = z.string().regex(FINGERPRINT_RE, 'key fingerprint XXXX-XXXX-XXXX-XXXX-XXXX');
/** A seq of the target's log (0: the admin had seen none of it). */
const upTo = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const common = { type: z.literal('member'), id: eventId, client: clientId, fingerprint, upTo };

/**
 * Admits `client` (whose published key has `fingerprint`) with `role`. In an encrypted vault,
 * `wraps` delivers every content key epoch the new member needs, wrapped for its X25519 key.
 */
export const memberAddSchema = z
  .object({
    ...common,
    action: z.literal('add'),
    role: roleSchema,
    name: z.string().min(1).max(MAX_MEMBER_NAME),
    wraps: z.array(wrappedKeySchema).max(MAX_WRAPS).optional(),
  })
  .strict();
/** Removes `client`: its segments after `upTo` change nothing, for anyone. Final for that client id. */
export const memberRemoveSchema = z.object({ ...common, action: z.literal('remove') }).strict();
/** Gives `client` another role for its segments after `upTo`. */
export const memberRoleSchema = z.object({ ...common, action: z.literal('role'), role: roleSchema }).strict();

export const memberEventSchema = z.discriminatedUnion('action', [memberAddSchema, memberRemoveSchema, memberRoleSchema]);
export type MemberEvent = z.infer<typeof memberEventSchema>;
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
