import { computeFingerprint } from '../crypto/fingerprint.js';
import { BmError, ErrorCode } from '../errors.js';
import { encodeInvitation } from '../members/invitation.js';
import type { MemberAction, Role } from '../members/member-schema.js';
import { readHeldVaultRoot } from '../reconcile/member-state.js';
import type { ClientSession } from '../client/client-session.js';
import {
  executeListMembers,
  executeMemberChange,
  executeMembersInit,
  MEMBERS_INIT,
  type MemberChangeResult,
  type MembersView,
} from '../client/member-actions.js';

/*
 * The vault's members on an open folder (`bm-log members`, `members init|add|remove|role|invite`;
 * issues 23 and 26, ADR-0021, ADR-0028): who counts, with which role and key, who waits, and the
 * invitation a joiner pins the root with. Nothing is printed; the results are plain data.
 */

/** What `members init` did: this client is the root admin; the clients there were admitted as writers. */
export interface MembersInitResult {
  readonly root: { readonly client: string; readonly name: string; readonly fingerprint: string };
  readonly admitted: readonly string[];
}

/** An invitation (`members invite NAME`): the one-line token and the root key's fingerprint it pins. */
export interface InvitationResult {
  readonly name: string;
  readonly token: string;
  readonly rootFingerprint: string;
}

/** The members with their key fingerprints and roles, the pending clients and the removed members. */
export function listMembers(s: ClientSession): Promise<MembersView> {
  return executeListMembers(s.ctx);
}

/** Makes this client the root admin of a vault that has no members yet (an existing vault, ADR-0021). */
export async function initMembers(s: ClientSession): Promise<MembersInitResult> {
  const r = await executeMembersInit(s.ctx);
  const root = { client: r.root.root.client, name: r.root.root.name, fingerprint: computeFingerprint(r.root.root.publicKey) };
  return { root, admitted: r.admitted };
}

/** Publishes one member event (add, remove, role); `counted` says whether it changed anything. */
export function changeMember(s: ClientSession, change: { action: MemberAction; target: string; role?: Role }): Promise<MemberChangeResult> {
  return executeMemberChange(s.ctx, change);
}

/** An invitation for `name`: the remote, the vault id and the root key's fingerprint, in one token (`init --join TOKEN`). */
export async function inviteMember(s: ClientSession, name: string): Promise<InvitationResult> {
  const root = await readHeldVaultRoot(s.index);
  if (root === undefined)
    throw new BmError(
      ErrorCode.usage,
      'this vault has no root admin to pin yet',
      `run \`${MEMBERS_INIT}\` first (it makes this client the root admin)`,
    );
  const rootFingerprint = computeFingerprint(root.root.publicKey);
  const token = encodeInvitation({ remote: s.config.remote.url, vault: s.config.vaultId, root: rootFingerprint });
  return { name, token, rootFingerprint };
}

export type { MemberChangeResult, MembersView };
