import { createCipheriv, createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';
import { BmError, ErrorCode } from '../errors.js';
import { checkKeyId, computeHmac, KEY_ID_BYTES, mustEpochKeys, tamperedError, type Keyring } from './keyring.js';

/**
 * Deterministic blob encryption and keyed blob names (ADR-0019 §4, ADR-0021).
 *
 * Blobs are create-only and shared: two members who write the same content under one epoch
 * must write the same bytes under the same name, or the second write would be a conflict.
 * So the IV is synthetic (SIV style, Rogaway and Shrimpton's deterministic authenticated
 * encryption): `iv = HMAC(ivKey, SHA-256(plaintext))` truncated to 96 bits, then
 * AES-256-GCM under a separate key. Why that is safe here:
 * - GCM breaks only when one (key, IV) pair encrypts two different plaintexts. The IV is a
 *   PRF of the plaintext (of its SHA-256, which has no known collisions), so one IV means
 *   one plaintext, except for a 96-bit collision of the PRF: about n^2 / 2^97 for n blobs
 *   under one epoch, 2^-33 at four billion blobs (GCM's own bound for random IVs).
 * - What it reveals beyond random-IV encryption is equality: the same content under the same
 *   epoch gives the same ciphertext. That is the point (no duplicate uploads), it is visible
 *   only within one vault and epoch (keys are per vault and epoch), and the bucket learns it
 *   anyway from identical names.
 * - Opening checks the tag, then recomputes the IV from the plaintext and compares: a
 *   ciphertext whose IV was not derived from its content is rejected (`tampered`).
 * The IV keys the plaintext's SHA-256 rather than its bytes so the engine, which hashes every
 * file first anyway, can stream large files in one encrypting pass. A blob is one GCM message:
 * at most 64 GiB.
 *
 *     blob = 0x02 | epoch (u32 BE) | key id (8) | iv (12) | ciphertext | tag (16)
 *
 * Names: `HMAC(nameKey(epoch), hash)` in hex, so the bucket sees neither the content hash
 * (which would let anyone holding a file confirm the vault has it) nor anything derived from
 * it without the key.
 */
const FORMAT = 0x02;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + 4 + KEY_ID_BYTES + IV_BYTES;
const HASH_RE = /^[0-9a-f]{64}$/;

/** The object name (64 hex characters) of the blob with plaintext SHA-256 `hash` under `epoch`. */
export function computeBlobName(keyring: Keyring, epoch: number, hash: string): string {
  if (!HASH_RE.test(hash)) throw new BmError(ErrorCode.internal, 'a blob name is made from a lowercase hex SHA-256');
  return computeHmac(mustEpochKeys(keyring, epoch).subkey('blob-name'), 'bm-log/blob-name/v1\0', hash).toString('hex');
}

function computeIv(ivKey: Buffer, hash: string): Buffer {
  return computeHmac(ivKey, 'bm-log/blob-iv/v1\0', hash).subarray(0, IV_BYTES);
}

/** Encrypts a blob: the same `plaintext` under the same epoch gives the same bytes on every client. */
export function encryptBlob(keyring: Keyring, epoch: number, plaintext: Uint8Array): Uint8Array {
  const keys = mustEpochKeys(keyring, epoch);
  const hash = createHash('sha256').update(plaintext).digest('hex');
  const iv = computeIv(keys.subkey('blob-iv'), hash);
  const epochBytes = Buffer.alloc(4);
  epochBytes.writeUInt32BE(epoch);
  const header = Buffer.concat([Buffer.of(FORMAT), epochBytes, keys.keyId, iv]);
  const cipher = createCipheriv('aes-256-gcm', keys.subkey('blob'), iv);
  cipher.setAAD(header);
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, ct, cipher.getAuthTag()]);
}

/** The epoch an encrypted blob says it was written under (to pick the key, and to report). */
export function computeBlobEpoch(blob: Uint8Array): number {
  if (blob.length < HEADER_BYTES + TAG_BYTES || blob[0] !== FORMAT) throw tamperedError('an encrypted blob');
  return Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength).readUInt32BE(1);
}

/**
 * Decrypts a blob and returns its plaintext and SHA-256 (the caller compares it with the
 * content hash its event names). Throws `unknown-epoch`, `wrong-key` or `tampered`.
 */
export function decryptBlob(keyring: Keyring, blob: Uint8Array): { plaintext: Buffer; hash: string } {
  const epoch = computeBlobEpoch(blob);
  const keys = mustEpochKeys(keyring, epoch);
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  checkKeyId(keys, buf.subarray(5, 5 + KEY_ID_BYTES), 'an encrypted blob');
  const iv = buf.subarray(5 + KEY_ID_BYTES, HEADER_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', keys.subkey('blob'), iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(buf.subarray(0, HEADER_BYTES));
  decipher.setAuthTag(buf.subarray(buf.length - TAG_BYTES));
  let plaintext: Buffer;
  try {
    plaintext = Buffer.concat([decipher.update(buf.subarray(HEADER_BYTES, buf.length - TAG_BYTES)), decipher.final()]);
  } catch (e) {
    throw tamperedError('an encrypted blob', e);
  }
  const hash = createHash('sha256').update(plaintext).digest('hex');
  if (!timingSafeEqual(computeIv(keys.subkey('blob-iv'), hash), iv)) throw tamperedError('an encrypted blob (its IV is not its content)');
  return { plaintext, hash };
}
