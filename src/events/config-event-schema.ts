import { z } from 'zod';
import { mergePolicySchema } from '../merge/merge-policy.js';
import { ULID_RE, type VersionId } from './ids.js';

/**
 * The `config` event (format 2, ADR-0019 table, ADR-0037): vault-wide settings, signed by the
 * writer that published them. Which config event is in effect is the vault fold's
 * (`evolveVault`, `compareConfigs`); who may publish one is `mayApply`'s (an admin in a vault
 * with members). Kept apart from schema.ts so that settings grow here.
 */
export const configSettingsSchema = z
  .object({
    /** The merge policy (ADR-0020): absent, the default policy. */
    merge: mergePolicySchema.optional(),
  })
  .strict();
export type ConfigSettings = z.infer<typeof configSettingsSchema>;

export const configEventSchema = z
  .object({
    type: z.literal('config'),
    id: z
      .string()
      .regex(ULID_RE, 'ULID')
      .transform((s) => s as VersionId),
    settings: configSettingsSchema,
  })
  .strict();
export type ConfigEvent = z.infer<typeof configEventSchema>;
