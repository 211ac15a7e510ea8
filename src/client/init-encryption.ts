import { computeFingerprint } from '../crypto/fingerprint.js';
import { BmError, ErrorCode } from '../errors.js';
import { readVaultRoot } from '../members/vault-root.js';
import { connectRemote, openLocal } from './client-session.js';
import { executeMembersInit } from './member-actions.js';
import { executeCreateEncryption, executeJoinEncryption } from './vault-encryption.js';

/** `--encrypt` is for a new vault only: refused before anything is written otherwise. Pure. */
export function mustEncryptFlags(o: { encrypt?: boolean; create?: boolean }): void {
  if (o.encrypt === true && o.create !== true) {
    throw new BmError(
      ErrorCode.usage,
      '--encrypt makes a new encrypted vault; it needs --create',
      'add --create for a new vault; joining an encrypted vault needs no flag (init finds out, and an admin admits you)',
    );
  }
}

/**
 * The encryption step of `init` (ADR-0031), after the client is made: with `--encrypt` on the
 * client that created the vault, a content key, this client as the vault's root admin (an
 * encrypted vault has members: only they receive the key); without it, a join finds out
 * whether the vault is encrypted and, if so, publishes this client's key for an admin to admit.
 * Returns whether the vault is encrypted, and for a joiner of an encrypted vault (which holds no
 * key until an admin admits it) its key fingerprint, for the admin to check.
 */
export async function executeInitEncryption(
  root: string,
  o: { encrypt: boolean; createdVault: boolean },
): Promise<{ encrypted: boolean; waitingFingerprint?: string }> {
  const local = await openLocal(root);
  try {
    if (!o.encrypt) {
      const encrypted = await executeJoinEncryption(root, local.config, local.keys);
      return encrypted ? { encrypted, waitingFingerprint: computeFingerprint(local.keys.publicKeyHex) } : { encrypted };
    }
    if (!o.createdVault) {
      const hint = 'another client created a vault at this remote first; this client joined it (init again without --encrypt)';
      throw new BmError(ErrorCode.usage, 'the vault was not created by this init, so it cannot be made encrypted', hint);
    }
    await executeCreateEncryption(root, local.config, local.keys);
  } finally {
    await local.close();
  }
  const session = await connectRemote(await openLocal(root));
  try {
    if ((await readVaultRoot(session.store, session.config.vaultId)) === undefined) await executeMembersInit(session.ctx);
  } finally {
    await session.close();
  }
  return { encrypted: true };
}
