import { createHash } from 'node:crypto';
import { z } from 'zod';
import { BmError, ErrorCode } from '../errors.js';
import { ULID_RE, type VaultId } from '../events/ids.js';
import { encodeBase32, FINGERPRINT_RE } from '../crypto/fingerprint.js';

/**
 * Invitation tokens (`bm-log members invite NAME` prints one; `init --join TOKEN` reads it):
 * one line holding the remote, the vault id and the fingerprint of the vault's root admin
 * key, so that a joiner pins the root key instead of trusting the first key it meets.
 *
 *     bmlog-invite-1.<base64url of the JSON payload>.<checksum>
 *
 * The checksum (40 bits of SHA-256, Crockford base32) catches a token cut or mistyped in
 * transit; the root fingerprint is what protects against a forged vault. A token is not a
 * secret and grants nothing: it holds no credential (encoding refuses a remote with one), the
 * joiner still needs its own access to the remote and an admin's `members add`.
 */
const PREFIX = 'bmlog-invite-';
const VERSION = 1;
export const MAX_INVITATION_REMOTE = 1024;

export interface Invitation {
  readonly remote: string;
  readonly vault: VaultId;
  /** Fingerprint of the root admin's signing key (`computeFingerprint`). */
  readonly root: string;
}

const payloadSchema = z
  .object({
    remote: z.string().min(1).max(MAX_INVITATION_REMOTE),
    vault: z
      .string()
      .regex(ULID_RE)
      .transform((s) => s as VaultId),
    root: z.string().regex(FINGERPRINT_RE),
  })
  .strict();

const JOIN_HINT = 'ask an admin of the vault for a new one with `bm-log members invite NAME`, and paste it whole, on one line';

function badToken(message: string, hint = JOIN_HINT): BmError {
  return new BmError(ErrorCode.usage, message, hint);
}

function computeChecksum(payload: string): string {
  return encodeBase32(createHash('sha256').update(`bm-log/invitation/v${VERSION}\0${payload}`).digest(), 40);
}

/** The token for `invitation`; throws a usage error for a remote that holds a credential or a line break. */
export function encodeInvitation(invitation: Invitation): string {
  const remote = invitation.remote;
  if (/[\r\n]/.test(remote))
    throw badToken('the remote of an invitation must be one line', 'check the remote address: it holds a line break');
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(remote) || /[?&](secret|token|key|password)=/i.test(remote)) {
    throw badToken(
      'refusing to put a credential in an invitation token',
      'use a remote address without user, password or keys; each member sets up its own',
    );
  }
  const parsed = payloadSchema.safeParse({ remote, vault: invitation.vault, root: invitation.root });
  if (!parsed.success) {
    throw badToken(
      `cannot make an invitation: ${parsed.error.issues[0]?.message ?? 'bad field'}`,
      'check the remote, vault id and root fingerprint',
    );
  }
  const payload = Buffer.from(JSON.stringify({ remote, vault: invitation.vault, root: invitation.root }), 'utf8').toString('base64url');
  return `${PREFIX}${VERSION}.${payload}.${computeChecksum(payload)}`;
}

/** Reads a token as pasted (surrounding blanks are ignored); throws a usage error saying what is wrong with it. */
export function decodeInvitation(token: string): Invitation {
  const t = token.trim();
  if (t === '') throw badToken('the invitation token is empty');
  if (!t.startsWith(PREFIX)) throw badToken(`not a bm-log invitation token (it should start with "${PREFIX}${VERSION}.")`);
  const parts = t.slice(PREFIX.length).split('.');
  const version = Number(parts[0]);
  if (!/^\d+$/.test(parts[0] ?? '')) throw badToken('the invitation token is damaged (no version after its prefix)');
  if (version > VERSION)
    throw badToken(`this invitation was made by a newer bm-log (token version ${version})`, 'upgrade bm-log on this machine');
  if (version !== VERSION || parts.length !== 3) throw badToken('the invitation token is damaged (wrong number of parts)');
  const [, payload, checksum] = parts as [string, string, string];
  if (checksum !== computeChecksum(payload)) throw badToken('the invitation token is damaged or cut (its checksum does not match)');
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw badToken('the invitation token is damaged (its content is not readable)');
  }
  const parsed = payloadSchema.safeParse(json);
  if (!parsed.success)
    throw badToken(`the invitation token is not valid: its ${parsed.error.issues[0]?.path.join('.') ?? 'content'} is wrong`);
  return parsed.data;
}
