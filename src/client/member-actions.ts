import { shellCommand } from './human-text.js';
import { BmError, ErrorCode } from '../errors.js';
import type { ClientId, VersionId } from '../events/ids.js';
import type { Event } from '../events/schema.js';
import { computeFingerprint } from '../crypto/fingerprint.js';
import { mustClientMatch } from '../gc/retire-client.js';
import type { GcContext } from '../gc/execute-gc.js';
import { planMemberKeys } from './vault-encryption.js';
import type { WrappedKey } from '../crypto/wrap-key.js';
import { executeFetchLog, publishOwnSegment, type OpenLog } from '../reconcile/sync-log.js';
import { computePendingClients } from '../members/counted-events.js';
import type { MemberEvent, Role } from '../members/member-schema.js';
import { readMemberState } from '../reconcile/member-state.js';
import { computeRoleAt, type MemberRecord, type MemberRejection, type MemberState } from '../members/project-members.js';
import { VAULT_ROOT_META_KEY } from '../reconcile/member-state.js';
import { computeVaultRootBody, writeVaultRoot, type VaultRootBody } from '../members/vault-root.js';
import { CLEAN_STATE_KEY } from '../reconcile/ports.js';

/**
 * The effects of the `members` commands (ADR-0021): each fetches the log, checks what the
 * change needs (a root, an admin, a target in the right state), publishes one segment with the
 * member event and folds the member list again to say whether it counted.
 */

/** The commands named in hints (built, so the hints test knows a test runs them). */
export const MEMBERS_LIST = shellCommand(['members']);
export const MEMBERS_INIT = shellCommand(['members', 'init']);

/**
 * Pure: the command an admin runs to admit a pending client, by its name. Shown (by `bm-log
 * members` and the web view), never run for the person: an admission follows a fingerprint check.
 */
export function computeAdmitCommand(name: string): string {
  return shellCommand(['members', 'add', name]);
}

/** One row of `bm-log members`. */
export interface MemberRow {
  readonly client: ClientId;
  readonly name: string;
  readonly fingerprint: string | null;
  /** Null for a pending client; 'removed' for a removed member. */
  readonly role: Role | 'removed' | null;
  readonly self: boolean;
}

/** What `bm-log members` shows. */
export interface MembersView {
  readonly root: { client: ClientId; name: string; fingerprint: string } | null;
  readonly members: readonly MemberRow[];
  readonly pending: readonly MemberRow[];
  readonly removed: readonly MemberRow[];
  /** Member events that changed nothing, and why. */
  readonly rejected: readonly { at: string; reason: MemberRejection }[];
}

async function fingerprintsOf(ctx: GcContext): Promise<Map<ClientId, string>> {
  const pinned = await ctx.index.getPinnedKeys();
  return new Map([...pinned].map(([c, k]) => [c, computeFingerprint(k.publicKey)]));
}

/** Pure: the members view of a fetched log. */
export function computeMembersView(log: OpenLog, fingerprints: ReadonlyMap<ClientId, string>, self: ClientId): MembersView {
  const members = log.state.members;
  const row = (client: ClientId, role: MemberRow['role']): MemberRow => ({
    client,
    name: members?.members.get(client)?.name ?? log.names.get(client) ?? client.slice(-6),
    fingerprint: fingerprints.get(client) ?? members?.members.get(client)?.fingerprint ?? null,
    role,
    self: client === self,
  });
  if (members === undefined) return { root: null, members: [], pending: [], removed: [], rejected: [] };
  const all = [...members.members.values()].sort((a, b) => (a.client < b.client ? -1 : 1));
  const root = members.members.get(members.root)!;
  return {
    root: { client: root.client, name: root.name, fingerprint: root.fingerprint },
    members: all.filter((m) => m.role !== null).map((m) => row(m.client, m.role)),
    pending: computePendingClients(log.keyed, members).map((c) => row(c, null)),
    removed: all.filter((m) => m.role === null).map((m) => row(m.client, 'removed')),
    rejected: [...members.rejected].map(([at, reason]) => ({ at, reason })).sort((a, b) => (a.at < b.at ? -1 : 1)),
  };
}

/** `bm-log members`: fetches (committing what it fetched, like `retire`) and lists. */
export async function executeListMembers(ctx: GcContext): Promise<MembersView> {
  const log = await executeFetchLog(ctx, { dryRun: false });
  return computeMembersView(log, await fingerprintsOf(ctx), ctx.identity.client);
}

function mustMembers(log: OpenLog): MemberState {
  if (log.state.members !== undefined) return log.state.members;
  throw new BmError(
    ErrorCode.usage,
    'this vault has no members yet: every client with a published key counts',
    `an admin-to-be runs \`${MEMBERS_INIT}\` first: it becomes the root admin and admits every client there now`,
  );
}

function mustBeAdmin(log: OpenLog, members: MemberState, self: ClientId): void {
  const next = (log.frontier.get(self)?.seq ?? 0) + 1;
  if (computeRoleAt(members.members.get(self), next) === 'admin') return;
  throw new BmError(
    ErrorCode.usage,
    'only an admin of the vault changes its members; this client is not one',
    `ask an admin (see \`${MEMBERS_LIST}\`)`,
  );
}

/** What a member change published, and whether it counted. */
export interface MemberChangeResult {
  readonly action: MemberEvent['action'];
  readonly client: ClientId;
  readonly name: string;
  readonly fingerprint: string;
  readonly role: Role | null;
  readonly upTo: number;
  readonly seq: number;
  readonly counted: boolean;
  readonly rejected: MemberRejection | null;
}

/**
 * Publishes `members add|remove|role` for `target` (an exact client id or name). `upTo` is what
 * this client fetched of the target's log: an admission counts the target's later segments, a
 * removal keeps what it wrote up to there (ADR-0021).
 */
export async function executeMemberChange(
  ctx: GcContext,
  change: { action: MemberEvent['action']; target: string; role?: Role },
): Promise<MemberChangeResult> {
  const log = await executeFetchLog(ctx, { dryRun: false });
  const members = mustMembers(log);
  const self = ctx.identity.client;
  mustBeAdmin(log, members, self);
  const client = mustClientMatch(log, change.target);
  const record = members.members.get(client);
  const fingerprint = (await fingerprintsOf(ctx)).get(client);
  if (fingerprint === undefined) throw new BmError(ErrorCode.notFound, `client ${client} has no published key`, 'see `bm-log clients`');
  const name = record?.name ?? log.names.get(client) ?? client;
  mustFitState(change.action, name, record);
  const upTo = client === self ? (log.frontier.get(self)?.seq ?? 0) + 1 : (log.frontier.get(client)?.seq ?? 0);
  const remaining = [...members.members].filter(([, r]) => r.role !== null).map(([c]) => c);
  const keys = await planMemberKeys(ctx.store, ctx.identity, { action: change.action, client, remaining });
  const event = buildMemberEvent(ctx.newId() as VersionId, change, { client, fingerprint, name, upTo, wraps: keys?.admissionWraps });
  await keys?.beforePublish();
  const seg = await publishOwnSegment(ctx, log, [event], null);
  await keys?.afterPublish();
  const after = (await readMemberState(ctx.index))!;
  const at = `${self}/${seg.body.seq}/0`;
  const role = event.action === 'remove' ? null : event.role;
  return {
    action: change.action,
    client,
    name,
    fingerprint,
    role,
    upTo,
    seq: seg.body.seq,
    counted: after.counted.has(event.id),
    rejected: after.rejected.get(at) ?? null,
  };
}

function mustFitState(action: MemberEvent['action'], name: string, record: MemberRecord | undefined): void {
  const usage = (message: string, hint: string) => new BmError(ErrorCode.usage, message, hint);
  if (record?.role === null)
    throw usage(
      `${name} was removed from the vault; a removal is final for a client`,
      'a person who comes back joins as a new client, with a new key, and is admitted again',
    );
  if (action === 'add' && record !== undefined)
    throw usage(`${name} is a member already (${record.role})`, 'to change its role, use `bm-log members role NAME ROLE`');
  if (action !== 'add' && record === undefined)
    throw usage(
      `${name} is not a member of the vault`,
      `see \`${MEMBERS_LIST}\` (pending clients are admitted with \`bm-log members add NAME\`)`,
    );
}

function buildMemberEvent(
  id: VersionId,
  change: { action: MemberEvent['action']; role?: Role },
  t: { client: ClientId; fingerprint: string; name: string; upTo: number; wraps?: readonly WrappedKey[] | undefined },
): Extract<Event, { type: 'member' }> {
  const common = { type: 'member' as const, id, client: t.client, fingerprint: t.fingerprint, upTo: t.upTo };
  switch (change.action) {
    case 'add':
      return {
        ...common,
        action: 'add',
        role: change.role ?? 'writer',
        name: t.name,
        ...(t.wraps === undefined ? {} : { wraps: [...t.wraps] }),
      };
    case 'remove':
      return { ...common, action: 'remove' };
    case 'role':
      return { ...common, action: 'role', role: change.role ?? 'writer' };
  }
}

/**
 * An agent client made for a person's folder (ADR-0028) is admitted by that person's client
 * when it is an admin of a vault with members (ADR-0032): the agent is the person's own tool.
 * Otherwise (an open vault, or a person who is no admin) nothing is published and undefined is
 * returned: the agent waits, pending, like any joiner.
 */
export async function executeAdmitAgent(ctx: GcContext, agent: ClientId): Promise<MemberChangeResult | undefined> {
  const log = await executeFetchLog(ctx, { dryRun: false });
  const members = log.state.members;
  const next = (log.frontier.get(ctx.identity.client)?.seq ?? 0) + 1;
  if (members === undefined || computeRoleAt(members.members.get(ctx.identity.client), next) !== 'admin') return undefined;
  if (members.members.has(agent)) return undefined;
  return executeMemberChange(ctx, { action: 'add', target: agent, role: 'writer' });
}

/**
 * `bm-log members init` (ADR-0021 "existing vaults"): this client becomes the vault's root
 * admin. It first publishes one segment admitting every other client with a published key as a
 * writer (`upTo` 0: their whole logs keep counting, as they did in the open vault), then writes
 * the root object; the first root written wins, and a client that loses the race gets an error
 * (its admissions then change nothing: their writer is no admin).
 */
export async function executeMembersInit(ctx: GcContext): Promise<{ root: VaultRootBody; admitted: readonly ClientId[] }> {
  const log = await executeFetchLog(ctx, { dryRun: false });
  if (log.state.members !== undefined) {
    const root = log.state.members.members.get(log.state.members.root);
    throw new BmError(
      ErrorCode.usage,
      `this vault has a root admin already: ${root?.name ?? log.state.members.root}`,
      `see \`${MEMBERS_LIST}\``,
    );
  }
  const self = ctx.identity.client;
  const fingerprints = await fingerprintsOf(ctx);
  const others = [...log.keyed].filter((c) => c !== self && fingerprints.has(c)).sort();
  const events = others.map((client) =>
    buildMemberEvent(
      ctx.newId() as VersionId,
      { action: 'add', role: 'writer' },
      { client, fingerprint: fingerprints.get(client)!, name: log.names.get(client) ?? client, upTo: 0 },
    ),
  );
  if (events.length > 0) await publishOwnSegment(ctx, log, events, null);
  const { identity } = ctx;
  const body = computeVaultRootBody(identity.vault, identity, ctx.now());
  const stands = await writeVaultRoot(ctx.store, body, identity.keys);
  if (stands.root.client !== self)
    throw new BmError(ErrorCode.usage, `another client became the root admin first: ${stands.root.name}`, `see \`${MEMBERS_LIST}\``);
  await ctx.index.commitBatch({ meta: { [VAULT_ROOT_META_KEY]: body, [CLEAN_STATE_KEY]: undefined } });
  return { root: body, admitted: others };
}
