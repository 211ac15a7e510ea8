import { z } from 'zod';
import { ULID_RE, type ClientId, type VersionId } from './ids.js';

/**
 * The wire schemas of the member and key events (format 2, ADR-0019 table, ADR-0021 rules),
 * here with the other event schemas so that the codec's union depends on nothing above
 * src/events. Their meaning lives with their folds: src/members (roles, the member list) and
 * src/crypto (fingerprints, wrapped keys), which re-export what they use.
 */

/** A key fingerprint (`computeFingerprint`): Crockford base32, five groups of four. */
export const FINGERPRINT_RE = /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}$/;
/** At most this many wraps in one event (one per member). */
export const MAX_WRAPS = 1024;
/** Largest member name (a person or device label, shown in `members`). */
export const MAX_MEMBER_NAME = 128;

const eventId = z
  .string()
  .regex(ULID_RE, 'ULID')
  .transform((s) => s as VersionId);
const clientId = z
  .string()
  .regex(ULID_RE, 'ULID')
  .transform((s) => s as ClientId);
const rawKey = z.string().regex(/^[0-9a-f]{64}$/);
const fingerprint = z.string().regex(FINGERPRINT_RE, 'key fingerprint XXXX-XXXX-XXXX-XXXX-XXXX');
const epoch = z
  .number()
  .int()
  .min(1)
  .max(2 ** 32 - 1);

/** A content key wrapped for one member (src/crypto/wrap-key.ts makes and opens them). */
export const wrappedKeySchema = z
  .object({
    epoch,
    recipient: z.string().regex(ULID_RE),
    /** Fingerprint of the recipient's X25519 public key. */
    fingerprint: z.string().regex(FINGERPRINT_RE),
    /** Ephemeral X25519 public key, raw, lowercase hex. */
    epk: rawKey,
    /** base64url of nonce (12) | wrapped key (32) | tag (16). */
    box: z.string().regex(/^[A-Za-z0-9_-]{80}$/),
  })
  .strict();

/** The `key` event's fields, without the at-least-one-key rule (the segment schema checks it: a union member must be a plain object). */
export const keyEventObjectSchema = z
  .object({ type: z.literal('key'), id: eventId, x25519: rawKey.optional(), ed25519: rawKey.optional() })
  .strict();

export const Role = { admin: 'admin', writer: 'writer', reader: 'reader' } as const;
export type Role = (typeof Role)[keyof typeof Role];
export const roleSchema = z.enum([Role.admin, Role.writer, Role.reader]);

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
