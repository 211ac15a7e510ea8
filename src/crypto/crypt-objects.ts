import { createPrivateKey, hkdfSync, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { BmError, ErrorCode } from '../errors.js';
import { decodeMsgpack, encodeMsgpack } from '../events/codec.js';
import { ULID_RE } from '../events/ids.js';
import { envelopeSchema } from '../events/schema.js';
import { signBody, verifyBody, type KeyPair } from '../events/signing.js';
import { wrappedKeySchema, type WrapKeyPair, type WrappedKey } from './wrap-key.js';
import { CRYPT_PREFIX } from './sealed-object.js';

/**
 * The encryption's own objects (ADR-0031), signed and stored as they are (a joiner reads them
 * before it holds a content key; none names a path or a content hash):
 *
 *   crypt/vault                       the vault is encrypted (its creator; a joiner's init reads it)
 *   crypt/x25519/<client>             a client's X25519 public key for wrapping (that client)
 *   crypt/wraps/<recipient>/<epoch>   a content key wrapped for one member (an admin)
 *
 * Each is `{v: 1, body, sig}` with the signature of its writer under the `crypt` domain, the
 * object's kind and place in the signed head, so a signed object never verifies elsewhere.
 */
export const CRYPT_VAULT_KEY = `${CRYPT_PREFIX}vault`;
const ulid = z.string().regex(ULID_RE);
const rawKey = z.string().regex(/^[0-9a-f]{64}$/);

export const cryptBodySchema = z.discriminatedUnion('type', [
  z.object({ v: z.literal(1), type: z.literal('vault'), vault: ulid, writer: ulid, aead: z.literal('aes-256-gcm') }).strict(),
  z.object({ v: z.literal(1), type: z.literal('x25519'), vault: ulid, writer: ulid, x25519: rawKey }).strict(),
  z.object({ v: z.literal(1), type: z.literal('wrap'), vault: ulid, writer: ulid, wrap: wrappedKeySchema }).strict(),
]);
export type CryptBody = z.infer<typeof cryptBodySchema>;

export function keyOfX25519(client: string): string {
  return `${CRYPT_PREFIX}x25519/${client}`;
}

export function prefixOfWraps(recipient: string): string {
  return `${CRYPT_PREFIX}wraps/${recipient}/`;
}

export function keyOfWrap(recipient: string, epoch: number): string {
  return `${prefixOfWraps(recipient)}${String(epoch).padStart(10, '0')}`;
}

/** The object key a crypt body belongs at (its place is part of what is signed). */
export function computeCryptKey(body: CryptBody): string {
  switch (body.type) {
    case 'vault':
      return CRYPT_VAULT_KEY;
    case 'x25519':
      return keyOfX25519(body.writer);
    case 'wrap':
      return keyOfWrap(body.wrap.recipient, body.wrap.epoch);
  }
}

function signContext(body: CryptBody) {
  return { domain: 'crypt' as const, vault: body.vault, client: body.writer, seq: 0, prev: computeCryptKey(body) };
}

/** Signs and encodes a crypt object with its writer's key. */
export function encodeCryptObject(body: CryptBody, keys: KeyPair): Uint8Array {
  const bytes = encodeMsgpack(body);
  return encodeMsgpack({ v: 1, body: bytes, sig: signBody(signContext(body), bytes, keys.privateKey) });
}

const CRYPT_HINT = 'nothing of it was used; run `bm-log verify`, and ask the vault admin';

/**
 * The parsed, not yet verified crypt object at `key` of `vault`: its writer says whose key checks it. Throws malformed,
 * wrong-vault, or wrong-key for an object copied from another place (a wrap made for another member).
 */
export function parseCryptObject(key: string, bytes: Uint8Array, vault: string): { body: CryptBody; bytes: Uint8Array; sig: Uint8Array } {
  const env = envelopeSchema.safeParse(decodeMsgpack(bytes, key));
  const body = env.success && env.data.v === 1 ? cryptBodySchema.safeParse(decodeMsgpack(env.data.body, key)) : undefined;
  if (!env.success || body === undefined || !body.success)
    throw new BmError(ErrorCode.malformed, `the encryption object ${key} is malformed`, CRYPT_HINT, { key });
  if (computeCryptKey(body.data) !== key) {
    const what =
      body.data.type === 'wrap' ? `a content key wrapped for client ${body.data.wrap.recipient}` : `${computeCryptKey(body.data)}`;
    throw new BmError(ErrorCode.wrongKey, `the encryption object ${key} holds ${what}, not what belongs there`, CRYPT_HINT, { key });
  }
  if (body.data.vault !== vault)
    throw new BmError(ErrorCode.wrongVault, `the encryption object ${key} belongs to another vault`, CRYPT_HINT);
  return { body: body.data, bytes: env.data.body, sig: env.data.sig };
}

/**
 * Decodes the crypt object read at `key` of `vault`, verified with `publicKey` (its writer's).
 * Throws malformed, bad-signature or wrong-vault; an object moved to another key is wrong-key.
 */
export function decodeCryptObject(key: string, bytes: Uint8Array, vault: string, publicKey: KeyObject): CryptBody {
  const parsed = parseCryptObject(key, bytes, vault);
  if (!verifyBody(signContext(parsed.body), parsed.bytes, parsed.sig, publicKey))
    throw new BmError(ErrorCode.badSignature, `the encryption object ${key} is not signed by the client it names`, CRYPT_HINT, { key });
  return parsed.body;
}

const X25519_PKCS8_HEAD = Buffer.from('302e020100300506032b656e04220420', 'hex');

/**
 * A client's X25519 key pair, derived from its Ed25519 signing key (HKDF-SHA256 over the
 * Ed25519 seed, the vault id as salt): nothing more to store or back up, and exporting the
 * identity carries it. Pure.
 */
export function computeWrapKeyPair(signing: KeyPair, vault: string): WrapKeyPair {
  const der = signing.privateKey.export({ format: 'der', type: 'pkcs8' });
  const seed = der.subarray(der.length - 32);
  const x = Buffer.from(hkdfSync('sha256', seed, Buffer.from(vault, 'utf8'), 'bm-log/x25519-from-ed25519/v1', 32));
  const privateKey = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_HEAD, x]), format: 'der', type: 'pkcs8' });
  const jwk = privateKey.export({ format: 'jwk' });
  return { privateKey, publicKeyHex: Buffer.from(jwk.x!, 'base64url').toString('hex') };
}

export type { WrappedKey };
