import { BmError, ErrorCode } from '../errors.js';
import type { VersionId } from '../events/ids.js';
import type { GcContext } from '../gc/execute-gc.js';
import { DEFAULT_MERGE_POLICY, mergePolicySchema, type MergePolicy } from '../merge/merge-policy.js';
import { computeApplyVerdict } from '../members/may-apply.js';
import type { ConfigRecord } from '../projections/project-vault.js';
import { computeVaultMergePolicy } from '../reconcile/sync/merge-stage.js';
import { executeFetchLog, publishOwnSegment, type OpenLog } from '../reconcile/sync-log.js';

/**
 * `bm-log config` (ADR-0037): the vault-wide settings in effect, and publishing a `config` event
 * that changes them. The settings are never a client's own: every client folds the same config
 * events to the same value.
 */

/** The settings in effect and where they come from. */
export interface VaultConfigView {
  readonly merge: MergePolicy;
  /** The config event in effect (client, seq, id), or null: the defaults. */
  readonly from: { readonly client: string; readonly seq: number; readonly id: string } | null;
}

/** A change of the merge policy: each given field replaces the one in effect. */
export interface MergePolicyChange {
  readonly enabled?: boolean;
  readonly maxBytes?: number;
  readonly patterns?: readonly string[];
  readonly markdownPatterns?: readonly string[];
  /** Start from the default policy instead of the one in effect. */
  readonly reset?: boolean;
}

/** Pure: the view of a vault's config record. */
export function computeVaultConfigView(config: ConfigRecord | undefined): VaultConfigView {
  return {
    merge: computeVaultMergePolicy(config === undefined ? {} : { config }),
    from: config === undefined ? null : { client: config.client, seq: config.seq, id: config.id },
  };
}

/** Pure: the policy `change` makes of `current`, checked as the wire schema checks it (a usage error otherwise). */
export function computeChangedMergePolicy(current: MergePolicy, change: MergePolicyChange): MergePolicy {
  const from = change.reset === true ? DEFAULT_MERGE_POLICY : current;
  const next = {
    enabled: change.enabled ?? from.enabled,
    maxBytes: change.maxBytes ?? from.maxBytes,
    patterns: [...(change.patterns ?? from.patterns)],
    markdownPatterns: [...(change.markdownPatterns ?? from.markdownPatterns)],
  };
  const parsed = mergePolicySchema.safeParse(next);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new BmError(
    ErrorCode.usage,
    `invalid merge policy: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(),
    'see `bm-log config merge --help`',
  );
}

/** `bm-log config`: fetches (committing what it fetched) and shows the settings in effect. */
export async function executeShowConfig(ctx: GcContext): Promise<VaultConfigView> {
  const log = await executeFetchLog(ctx, { dryRun: false });
  return computeVaultConfigView(log.state.vault.config);
}

/** Refuses, before anything is published, a config event that would not count (ADR-0037: an admin's, in a vault with members). */
function mustMayConfigure(log: OpenLog, ctx: GcContext): void {
  const members = log.state.members;
  if (members === undefined) return;
  const self = ctx.identity.client;
  const place = { client: self, seq: (log.frontier.get(self)?.seq ?? 0) + 1 };
  if (computeApplyVerdict('config', place, members) === 'ok') return;
  throw new BmError(
    ErrorCode.usage,
    'only an admin of the vault changes its settings; this client is not one',
    'ask an admin (see `bm-log members`)',
  );
}

/** The result of `bm-log config merge`: the policy now in effect, and the event published (null: nothing changed). */
export interface MergeConfigResult extends VaultConfigView {
  readonly published: { readonly id: string; readonly seq: number } | null;
}

/** Publishes a `config` event with the changed merge policy; nothing when it equals the one in effect. */
export async function executeSetMergePolicy(ctx: GcContext, change: MergePolicyChange): Promise<MergeConfigResult> {
  const log = await executeFetchLog(ctx, { dryRun: false });
  mustMayConfigure(log, ctx);
  const current = computeVaultMergePolicy(log.state.vault);
  const next = computeChangedMergePolicy(current, change);
  if (JSON.stringify(next) === JSON.stringify(current)) return { ...computeVaultConfigView(log.state.vault.config), published: null };
  const id = ctx.newId() as VersionId;
  const seg = await publishOwnSegment(ctx, log, [{ type: 'config', id, settings: { merge: next } }], log.baseline);
  return { ...computeVaultConfigView(log.state.vault.config), published: { id, seq: seg.body.seq } };
}
