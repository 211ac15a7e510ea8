import {
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
} from 'node:crypto';
import type { z } from 'zod';
import { BmError, ErrorCode } from '../errors.js';
import { computeFingerprint } from './fingerprint.js';
import { wrappedKeySchema } from '../events/member-event-schema.js';
import {
  computeNewestEpoch,
  createContentKey,
  SecretBytes,
  systemRandom,
  tamperedError,
  type Keyring,
  type RandomSource,
} from './keyring.js';

/**
 * Wrapping a vault content key for one member (ADR-0021): X25519 from `node:crypto` with an
 * ephemeral key per wrap, HKDF-SHA256 to a key-encryption key, AES-256-GCM. Each member
 * publishes an X25519 public key (a `key` event in its own log) and keeps the private key
 * next to its signing key (mode 600). A wrap names its recipient (client id and the
 * fingerprint of its X25519 key) and is bound to vault, epoch and recipient, so it cannot be
 * replayed for another member, vault or epoch.
 */
const BOX_BYTES = 12 + 32 + 16;
export { wrappedKeySchema };
export type WrappedKey = z.infer<typeof wrappedKeySchema>;

/** A member's key-wrapping key pair. */
export interface WrapKeyPair {
  readonly privateKey: KeyObject;
  /** Raw 32-byte X25519 public key, lowercase hex. */
  readonly publicKeyHex: string;
}

/** Someone to wrap for: a member's client id and published X25519 key. */
export interface WrapRecipient {
  readonly client: string;
  readonly publicKeyHex: string;
}

export function generateWrapKeyPair(): WrapKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  return { privateKey, publicKeyHex: exportX25519Hex(publicKey) };
}

function exportX25519Hex(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string' || jwk.crv !== 'X25519') throw new BmError(ErrorCode.internal, 'not an X25519 key');
  return Buffer.from(jwk.x, 'base64url').toString('hex');
}

function importX25519Hex(hex: string): KeyObject {
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(hex, 'hex').toString('base64url') }, format: 'jwk' });
  } catch (e) {
    throw tamperedError('a published X25519 key', e);
  }
}

function computeKek(shared: Buffer, epkHex: string, recipientHex: string, info: string): Buffer {
  const salt = Buffer.concat([Buffer.from(epkHex, 'hex'), Buffer.from(recipientHex, 'hex')]);
  return Buffer.from(hkdfSync('sha256', shared, salt, info, 32));
}

function computeInfo(vault: string, epoch: number, recipient: string): string {
  return `bm-log/wrap/v1\0${vault}\0${epoch}\0${recipient}`;
}

/** Wraps `key` (epoch `epoch` of `vault`) for `recipient`. */
export function wrapContentKey(
  vault: string,
  epoch: number,
  key: SecretBytes,
  recipient: WrapRecipient,
  random: RandomSource = systemRandom,
): WrappedKey {
  const eph = generateWrapKeyPair();
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: eph.privateKey, publicKey: importX25519Hex(recipient.publicKeyHex) });
  } catch (e) {
    throw tamperedError(`the published X25519 key of ${recipient.client}`, e); // a low-order point: no shared secret
  }
  const info = computeInfo(vault, epoch, recipient.client);
  const nonce = random(12);
  const cipher = createCipheriv('aes-256-gcm', computeKek(shared, eph.publicKeyHex, recipient.publicKeyHex, info), nonce);
  cipher.setAAD(Buffer.from(info, 'utf8'));
  const ct = Buffer.concat([cipher.update(key.reveal()), cipher.final()]);
  const box = Buffer.concat([nonce, ct, cipher.getAuthTag()]).toString('base64url');
  return { epoch, recipient: recipient.client, fingerprint: computeFingerprint(recipient.publicKeyHex), epk: eph.publicKeyHex, box };
}

/**
 * Opens a wrap made for `me`. Throws `wrong-key` when it names another recipient or another
 * X25519 key than `me`'s, `tampered` when it does not authenticate.
 */
export function unwrapContentKey(
  vault: string,
  wrapped: WrappedKey,
  me: { readonly client: string; readonly keys: WrapKeyPair },
): SecretBytes {
  if (wrapped.recipient !== me.client || wrapped.fingerprint !== computeFingerprint(me.keys.publicKeyHex)) {
    const message = `this content key (epoch ${wrapped.epoch}) was wrapped for another member or another key`;
    throw new BmError(ErrorCode.wrongKey, message, 'ask an admin to rekey the vault for this client', { epoch: wrapped.epoch });
  }
  const box = Buffer.from(wrapped.box, 'base64url');
  if (box.length !== BOX_BYTES) throw tamperedError('a wrapped content key');
  const info = computeInfo(vault, wrapped.epoch, me.client);
  try {
    const shared = diffieHellman({ privateKey: me.keys.privateKey, publicKey: importX25519Hex(wrapped.epk) });
    const decipher = createDecipheriv('aes-256-gcm', computeKek(shared, wrapped.epk, me.keys.publicKeyHex, info), box.subarray(0, 12), {
      authTagLength: 16,
    });
    decipher.setAAD(Buffer.from(info, 'utf8'));
    decipher.setAuthTag(box.subarray(box.length - 16));
    return new SecretBytes(Buffer.concat([decipher.update(box.subarray(12, box.length - 16)), decipher.final()]));
  } catch (e) {
    throw tamperedError('a wrapped content key', e);
  }
}

/** A rekey (on removal): the next epoch, a fresh key, and its wrap for each remaining member. */
export interface RekeyPlan {
  readonly epoch: number;
  readonly key: SecretBytes;
  readonly wraps: readonly WrappedKey[];
}

/** Plans a rekey for `recipients` (the members that remain, the rekeying admin among them). */
export function planRekey(keyring: Keyring, recipients: readonly WrapRecipient[], random: RandomSource = systemRandom): RekeyPlan {
  const epoch = (computeNewestEpoch(keyring) ?? 0) + 1;
  const key = createContentKey(random);
  return { epoch, key, wraps: recipients.map((r) => wrapContentKey(keyring.vault, epoch, key, r, random)) };
}
