import { BmError, ErrorCode } from '../errors.js';
import { KEYS_PREFIX, VAULT_KEY } from '../events/layout.js';
import { computeHmac, computeNewestEpoch, mustEpochKeys, systemRandom, tamperedError, type Keyring, type RandomSource } from './keyring.js';
import { openBody, sealBody } from './seal-body.js';

/**
 * What an encrypted vault's bucket holds instead of each object (ADR-0031): pure functions
 * the sealing store adapter (`sealed-store.ts`) calls at the store boundary.
 *
 *     sealed object = 0xB5 | epoch (u32 BE) | sealBody(...)   (sealBody: 0x01 | key id | nonce | AES-256-GCM | tag)
 *
 * The nonce is random per object; the additional data is the epoch and the object's plaintext
 * key (its place: `log/<client>/<seq>`, `blobs/<hh>/<hash>`, ...) under the vault id, so a
 * ciphertext moved to another key, epoch or vault does not open (`tampered`).
 *
 * Names: a blob's key `blobs/<hh>/<sha256>` becomes `blobs/<nn>/<HMAC(nameKey, hash)>`, a
 * pack's `packs/<client>/<id>` becomes `packs/<client>/<HMAC(nameKey, client/id)>`: no content
 * hash reaches the bucket. The name key is the `blob-name` subkey of epoch 1, fixed for the
 * vault's life (a reader finds a blob from the hash its event names, whatever epoch wrote it).
 */
const FORMAT = 0xb5;
const PREFIX_BYTES = 5;
/** Bytes a sealed object adds to its plaintext: format + epoch (5), key id (8), nonce (12), tag (16), body format (1). */
export const SEALED_OVERHEAD = PREFIX_BYTES + 1 + 8 + 12 + 16;
/** Where the encryption's own objects live (signed, not sealed: a joiner reads them before it holds a key). */
export const CRYPT_PREFIX = 'crypt/';

const BLOB_KEY_RE = /^blobs\/[0-9a-f]{2}\/([0-9a-f]{64})$/;
const PACK_KEY_RE = /^packs\/([^/]+)\/([^/]+)$/;

/** True for the keys stored as they are: the vault marker, identities and roots, the encryption's own objects. */
export function isPlainKey(key: string): boolean {
  return key === VAULT_KEY || key.startsWith(KEYS_PREFIX) || key.startsWith(CRYPT_PREFIX);
}

/** The prefixes whose names are keyed (a listing of them cannot be read back without the names asked for). */
export function isKeyedPrefix(prefix: string): boolean {
  return prefix === 'blobs/' || prefix.startsWith('blobs/') || prefix === 'packs/' || prefix.startsWith('packs/');
}

function computeName(keyring: Keyring, what: string, value: string): string {
  return computeHmac(mustEpochKeys(keyring, 1).subkey('blob-name'), `bm-log/object-name/v1\0${what}\0`, value).toString('hex');
}

/** The bucket key of plaintext key `key` (blobs and packs keyed; every other key as it is). Pure. */
export function computeObjectName(keyring: Keyring, key: string): string {
  const blob = BLOB_KEY_RE.exec(key);
  if (blob !== null) {
    const n = computeName(keyring, 'blob', blob[1]!);
    return `blobs/${n.slice(0, 2)}/${n}`;
  }
  const pack = PACK_KEY_RE.exec(key);
  if (pack !== null) return `packs/${pack[1]!}/${computeName(keyring, 'pack', `${pack[1]!}/${pack[2]!}`)}`;
  return key;
}

function computeContext(key: string): string {
  return `object\0${key}`;
}

/** Seals `plaintext` for plaintext key `key` under the newest epoch held. */
export function sealObject(keyring: Keyring, key: string, plaintext: Uint8Array, random: RandomSource = systemRandom): Uint8Array {
  const epoch = computeNewestEpoch(keyring);
  if (epoch === null) {
    throw new BmError(
      ErrorCode.unknownEpoch,
      'this client holds no content key of this encrypted vault yet, so it cannot write to it',
      'an admin gives it one by admitting it: `bm-log members add NAME` on an admin client, then sync again',
    );
  }
  const head = Buffer.alloc(PREFIX_BYTES);
  head[0] = FORMAT;
  head.writeUInt32BE(epoch, 1);
  return Buffer.concat([head, sealBody(keyring, epoch, computeContext(key), plaintext, random)]);
}

/** The epoch a sealed object says it was written under. Throws `tampered` for what is no sealed object. */
export function computeSealedEpoch(key: string, sealed: Uint8Array): number {
  if (sealed.length < SEALED_OVERHEAD || sealed[0] !== FORMAT) throw tamperedError(`the encrypted object ${key}`);
  return Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength).readUInt32BE(1);
}

/**
 * Opens the sealed object stored for plaintext key `key`. Throws `unknown-epoch` (no key for
 * its epoch: written after this client's removal, or before its admission reached it),
 * `wrong-key` (another key made it) or `tampered` (any altered byte, another key's object).
 */
export function openObject(keyring: Keyring, key: string, sealed: Uint8Array): Uint8Array {
  const epoch = computeSealedEpoch(key, sealed);
  if (keyring.epochs.size === 0) {
    throw new BmError(
      ErrorCode.unknownEpoch,
      'this client holds no content key of this encrypted vault yet: it cannot read the vault until an admin admits it',
      "an admin runs `bm-log members add NAME` (after checking this client's key fingerprint); then sync again",
      { epoch },
    );
  }
  try {
    return openBody(keyring, epoch, computeContext(key), sealed.subarray(PREFIX_BYTES));
  } catch (e) {
    if (e instanceof BmError && e.code === ErrorCode.tampered) throw tamperedError(`the encrypted object ${key}`, e);
    throw e;
  }
}
