import { z } from 'zod';
import { ULID_RE, type VersionId } from '../events/ids.js';
import { keyEventObjectSchema, MAX_WRAPS, wrappedKeySchema } from '../events/member-event-schema.js';

/**
 * The key events of format 2 (ADR-0019 table, ADR-0021), for the codec to add to its union:
 * - `key`: in a client's own log, its X25519 public key for wrapping (and, later, a successor
 *   signing key). It speaks only for its writer; a pending client publishes one so that the
 *   admin admitting it can wrap the content key for it.
 * - `rekey`: by an admin, a new content key epoch wrapped for each member that remains (on a
 *   removal; the removed member gets no wrap).
 */
export { MAX_WRAPS } from '../events/member-event-schema.js';
const eventId = z
  .string()
  .regex(ULID_RE, 'ULID')
  .transform((s) => s as VersionId);
const _rawKey = z.string().regex(/^[0-9a-f]{64}$/);

export { keyEventObjectSchema };
export const keyEventSchema = keyEventObjectSchema.refine(
  (e) => e.x25519 !== undefined || e.ed25519 !== undefined,
  'a key event names at least one key',
);
export type KeyEvent = z.infer<typeof keyEventSchema>;

export const rekeyEventSchema = z
  .object({
    type: z.literal('rekey'),
    id: eventId,
    epoch: z
      .number()
      .int()
      .min(2)
      .max(2 ** 32 - 1),
    wraps: z.array(wrappedKeySchema).min(1).max(MAX_WRAPS),
  })
  .strict()
  .refine((e) => e.wraps.every((w) => w.epoch === e.epoch), 'every wrap of a rekey is for its epoch');
export type RekeyEvent = z.infer<typeof rekeyEventSchema>;
