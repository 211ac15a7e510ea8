import { createCipheriv, createDecipheriv } from 'node:crypto';
import { z } from 'zod';
import {
  checkKeyId,
  epochSchema,
  KEY_ID_BYTES,
  mustEpochKeys,
  systemRandom,
  tamperedError,
  type Keyring,
  type RandomSource,
} from './keyring.js';

/**
 * Envelope encryption of a segment (or checkpoint) body, ADR-0019 §4 and ADR-0021: the
 * envelope of an encrypted vault is `{v: 2, body, sig, enc: {epoch}}`, where `body` is
 * what `sealBody` returns and `sig` (made by the codec, as today) covers those ciphertext
 * bytes, so anyone can check who wrote an object and only members can read it.
 *
 *     body = 0x01 | key id (8) | nonce (12) | AES-256-GCM ciphertext | tag (16)
 *
 * The nonce is random (a body is written once; 2^32 bodies per epoch keep the chance of a
 * repeat below 2^-32). The additional data binds the ciphertext to its epoch and to the
 * place it was written for (`context`: vault, client, object kind and seq, made by the
 * caller), so a body moved to another place or epoch does not open (`tampered`).
 */
const FORMAT = 0x01;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + KEY_ID_BYTES + NONCE_BYTES;

/** The encrypted envelope (format 2 with `enc`): the shape the codec will read. */
export const encryptedEnvelopeSchema = z
  .object({
    v: z.literal(2),
    body: z.instanceof(Uint8Array),
    sig: z.instanceof(Uint8Array),
    enc: z
      .object({
        epoch: epochSchema,
      })
      .strict(),
  })
  .strict();
export type EncryptedEnvelope = z.infer<typeof encryptedEnvelopeSchema>;

/** Where a body belongs, e.g. `segment\0<vault>\0<client>\0<seq>`: the caller's domain-separated place. */
export type SealContext = string;

function computeAad(epoch: number, context: SealContext, header: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`bm-log/body/v1\0${epoch}\0${context}\0`, 'utf8'), header]);
}

/** Encrypts `plaintext` under the newest-or-given `epoch` of `keyring`. */
export function sealBody(
  keyring: Keyring,
  epoch: number,
  context: SealContext,
  plaintext: Uint8Array,
  random: RandomSource = systemRandom,
): Uint8Array {
  const keys = mustEpochKeys(keyring, epoch);
  const nonce = random(NONCE_BYTES);
  const header = Buffer.concat([Buffer.of(FORMAT), keys.keyId, nonce]);
  const cipher = createCipheriv('aes-256-gcm', keys.subkey('body'), nonce);
  cipher.setAAD(computeAad(epoch, context, header));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, ct, cipher.getAuthTag()]);
}

/**
 * Decrypts a sealed body. Throws `unknown-epoch` (no key for it), `wrong-key` (another key
 * made it) or `tampered` (any altered byte, another context or epoch).
 */
export function openBody(keyring: Keyring, epoch: number, context: SealContext, sealed: Uint8Array): Uint8Array {
  const keys = mustEpochKeys(keyring, epoch);
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (buf.length < HEADER_BYTES + TAG_BYTES || buf[0] !== FORMAT) throw tamperedError('an encrypted body');
  checkKeyId(keys, buf.subarray(1, 1 + KEY_ID_BYTES), 'an encrypted body');
  const header = buf.subarray(0, HEADER_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', keys.subkey('body'), buf.subarray(1 + KEY_ID_BYTES, HEADER_BYTES), {
    authTagLength: TAG_BYTES,
  });
  decipher.setAAD(computeAad(epoch, context, header));
  decipher.setAuthTag(buf.subarray(buf.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(buf.subarray(HEADER_BYTES, buf.length - TAG_BYTES)), decipher.final()]);
  } catch (e) {
    throw tamperedError('an encrypted body', e);
  }
}
