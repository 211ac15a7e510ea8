import { withClient } from '../client/client-queries.js';
import { displayName, shellCommand } from '../client/human-text.js';
import { computeAdmitCommand, MEMBERS_INIT, type MemberChangeResult, type MemberRow, type MembersView } from '../client/member-actions.js';
import { changeMember, initMembers, inviteMember, listMembers } from '../api/folder-members.js';
import type { MemberAction, Role } from '../members/member-schema.js';
import { ExitCode } from './exit-codes.js';
import type { FolderOptions } from './options.js';
import type { Output } from './output.js';

/*
 * `bm-log members` and its subcommands (ADR-0021): list, init, add, remove, role, invite.
 */

function describeRow(r: MemberRow): string {
  const role = r.role ?? 'pending';
  return `${r.self ? '*' : ' '} ${displayName(r.name).padEnd(24)} ${r.client}  ${r.fingerprint ?? '(no key)'}  ${role}`;
}

/** Pure: the human lines of the members view. */
export function computeMembersLines(v: MembersView): string[] {
  if (v.root === null) return [`this vault has no members: every client with a published key counts (\`${MEMBERS_INIT}\` starts them)`];
  const lines = [`root admin: ${displayName(v.root.name)} (${v.root.fingerprint})`, ...v.members.map(describeRow)];
  if (v.pending.length > 0) {
    lines.push('pending (nothing they write counts until an admin admits them):');
    for (const p of v.pending) {
      lines.push(describeRow(p));
      lines.push(`    run \`${computeAdmitCommand(p.name)}\` to admit it, after checking its key fingerprint`);
    }
  }
  if (v.removed.length > 0) lines.push('removed:', ...v.removed.map(describeRow));
  if (v.rejected.length > 0)
    lines.push(`${v.rejected.length} member event(s) changed nothing:`, ...v.rejected.map((r) => `  ${r.at}: ${r.reason}`));
  return lines;
}

/** `bm-log members`: the members with their key fingerprints and roles, pending clients, removed members. */
export async function runMembersListCommand(o: FolderOptions, out: Output): Promise<number> {
  return withClient(o.dir, async (s) => {
    const view = await listMembers(s);
    out.result(o.json, view, () => computeMembersLines(view));
    return ExitCode.ok;
  });
}

/** `bm-log members init`: this client becomes the root admin; every client there now is admitted as a writer. */
export async function runMembersInitCommand(o: FolderOptions, out: Output): Promise<number> {
  return withClient(o.dir, async (s) => {
    const data = await initMembers(s);
    out.result(o.json, data, () => [
      `this client is the root admin of the vault (key fingerprint ${data.root.fingerprint})`,
      `admitted ${data.admitted.length} other client(s) as writers; a client that joins from now on waits for an admin's \`bm-log members add NAME\``,
    ]);
    return ExitCode.ok;
  });
}

function describeChange(r: MemberChangeResult): string[] {
  const who = `${displayName(r.name)} (${r.client}, key ${r.fingerprint})`;
  const what: Record<MemberAction, string> = {
    add: `admitted ${who} as ${r.role}: its segments after ${r.upTo} count`,
    remove: `removed ${who}: what it wrote up to its segment ${r.upTo} stays; nothing later counts`,
    role: `${who} is now ${r.role} from its segment ${r.upTo + 1}`,
  };
  return r.counted ? [what[r.action]] : [`published, but it changed nothing (${r.rejected ?? 'not counted'})`];
}

/** `bm-log members add|remove|role`: one member event, published; exit 2 when it did not count. */
export async function runMemberChangeCommand(
  change: { action: MemberAction; target: string; role?: Role },
  o: FolderOptions,
  out: Output,
): Promise<number> {
  return withClient(o.dir, async (s) => {
    const r = await changeMember(s, change);
    out.result(o.json, r, () => describeChange(r));
    return r.counted ? ExitCode.ok : ExitCode.usage;
  });
}

/** `bm-log members invite NAME`: a one-line token with the remote, the vault id and the root key's fingerprint. */
export async function runMembersInviteCommand(name: string, o: FolderOptions, out: Output): Promise<number> {
  return withClient(o.dir, async (s) => {
    const { token, rootFingerprint } = await inviteMember(s, name);
    const join = shellCommand(['init', '--join', token]);
    out.result(o.json, { name, token, rootFingerprint }, () => [
      token,
      `give this line to ${displayName(name)}: in a new folder, \`${join}\`; then admit its client once its key fingerprint checks out`,
    ]);
    return ExitCode.ok;
  });
}
