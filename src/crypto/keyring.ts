import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';
import { z } from 'zod';
import { BmError, ErrorCode } from '../errors.js';

/**
 * Vault content keys by epoch (ADR-0021). A vault created with `--encrypt` has content key
 * epoch 1; every removal starts a new epoch (a `rekey` event wraps a fresh key for each
 * remaining member), and new data is written under the newest epoch. Older epochs stay in
 * the keyring to read older data.
 *
 * Each use gets its own subkey (HKDF-SHA256 over the content key, salted with the vault id,
 * the epoch in its info):
 * segment bodies, blob encryption, blob synthetic IVs, blob names and the key id. The key id
 * (8 bytes) travels with ciphertext so that "made for another key" (`wrong-key`) is told
 * apart from "altered" (`tampered`); it reveals nothing but which objects share a key.
 */
export const CONTENT_KEY_BYTES = 32;
export const KEY_ID_BYTES = 8;

export type RandomSource = (n: number) => Buffer;
export const systemRandom: RandomSource = (n) => randomBytes(n);

/** Key bytes that never print: JSON, string and inspect forms say only that a secret is there. */
export class SecretBytes {
  readonly #bytes: Buffer;
  constructor(bytes: Uint8Array) {
    this.#bytes = Buffer.from(bytes);
  }
  /** The raw bytes, for node:crypto calls only. */
  reveal(): Buffer {
    return this.#bytes;
  }
  equals(other: SecretBytes): boolean {
    return this.#bytes.length === other.#bytes.length && timingSafeEqual(this.#bytes, other.#bytes);
  }
  toJSON(): string {
    return '[secret]';
  }
  toString(): string {
    return '[secret]';
  }
  [inspect.custom](): string {
    return '[secret]';
  }
}

export type SubkeyPurpose = 'body' | 'blob' | 'blob-iv' | 'blob-name' | 'key-id';

/** The keys one epoch's content key gives, each for one purpose. */
export interface EpochKeys {
  readonly epoch: number;
  readonly keyId: Buffer;
  subkey(purpose: Exclude<SubkeyPurpose, 'key-id'>): Buffer;
}

/** The content keys of one vault this client holds, by epoch. */
export interface Keyring {
  readonly vault: string;
  readonly epochs: ReadonlyMap<number, SecretBytes>;
}

export function createKeyring(vault: string): Keyring {
  return { vault, epochs: new Map() };
}

/** A new random content key. */
export function createContentKey(random: RandomSource = systemRandom): SecretBytes {
  return new SecretBytes(random(CONTENT_KEY_BYTES));
}

/** `keyring` with `key` for `epoch` (a new keyring; the same key again is a no-op, another key for a held epoch a fault). */
export function computeKeyringWith(keyring: Keyring, epoch: number, key: SecretBytes): Keyring {
  if (!Number.isSafeInteger(epoch) || epoch < 1) throw new BmError(ErrorCode.internal, `epoch ${epoch} is not a positive integer`);
  if (key.reveal().length !== CONTENT_KEY_BYTES) {
    throw new BmError(
      ErrorCode.tampered,
      'a content key has the wrong length',
      'the key event is damaged; ask an admin to rekey the vault',
    );
  }
  const held = keyring.epochs.get(epoch);
  if (held !== undefined && !held.equals(key)) {
    const hint = 'an admin wrapped conflicting keys: report it; data of this epoch may not be readable by everyone';
    throw new BmError(ErrorCode.wrongKey, `two different content keys for epoch ${epoch}`, hint);
  }
  return { vault: keyring.vault, epochs: new Map([...keyring.epochs, [epoch, key]]) };
}

/** The newest epoch held (what new data is written under), or null when none. */
export function computeNewestEpoch(keyring: Keyring): number | null {
  let newest: number | null = null;
  for (const e of keyring.epochs.keys()) if (newest === null || e > newest) newest = e;
  return newest;
}

/** The keys of `epoch`, or an `unknown-epoch` error. */
export function mustEpochKeys(keyring: Keyring, epoch: number): EpochKeys {
  const key = keyring.epochs.get(epoch);
  if (key === undefined) {
    throw new BmError(
      ErrorCode.unknownEpoch,
      `this client holds no content key for key epoch ${epoch}`,
      'sync again to receive it from an admin; a client removed from the vault cannot read what was written after its removal',
      { epoch },
    );
  }
  const derive = (purpose: SubkeyPurpose, length: number): Buffer =>
    Buffer.from(hkdfSync('sha256', key.reveal(), Buffer.from(keyring.vault, 'utf8'), `bm-log/${purpose}/v1\0${epoch}`, length));
  return { epoch, keyId: derive('key-id', KEY_ID_BYTES), subkey: (purpose) => derive(purpose, 32) };
}

/** Throws `wrong-key` when `found` (read from a ciphertext) is not the key id of `keys`. */
export function checkKeyId(keys: EpochKeys, found: Uint8Array, what: string): void {
  if (found.length !== KEY_ID_BYTES || !timingSafeEqual(keys.keyId, found)) {
    throw new BmError(
      ErrorCode.wrongKey,
      `${what} was encrypted with another key than this client holds for key epoch ${keys.epoch}`,
      'it was written for another vault or with a key an admin never gave this client; report it with `bm-log verify`',
      { epoch: keys.epoch },
    );
  }
}

/** HMAC-SHA256 (a small helper so every keyed hash in this module reads the same). */
export function computeHmac(key: Buffer, ...parts: (string | Uint8Array)[]): Buffer {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** The `tampered` error every failed authentication becomes. */
export function tamperedError(what: string, cause?: unknown): BmError {
  const hint = 'nothing of it was used; run `bm-log verify` to list what is affected';
  return new BmError(ErrorCode.tampered, `${what} failed its authentication check: it was altered or damaged`, hint, {}, { cause });
}

/** A key epoch as every encrypted object and wrapped key names it: 1 up to 2^32 - 1. */
export const epochSchema = z
  .number()
  .int()
  .min(1)
  .max(2 ** 32 - 1);
