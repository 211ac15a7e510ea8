import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

/**
 * Ed25519 keys and domain-separated signatures. The signed message is
 * `bm-log/<domain>/v1 \0 vault \0 client \0 seq \0 prev \0 body`, so a signature made for
 * one vault, client, position or object kind never verifies as another.
 */
export type SignDomain = 'segment' | 'identity' | 'checkpoint' | 'vault-root' | 'crypt';

export interface KeyPair {
  readonly privateKey: KeyObject;
  /** Raw 32-byte public key, lowercase hex. */
  readonly publicKeyHex: string;
}

export function generateKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKeyHex: exportPublicKeyHex(publicKey) };
}

export function exportPublicKeyHex(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new Error('not an Ed25519 key');
  return Buffer.from(jwk.x, 'base64url').toString('hex');
}

/** Imported public keys by hex: a KeyObject is immutable, and a sync imports each pinned key again. */
const importedKeys = new Map<string, KeyObject>();
const IMPORTED_KEYS_MAX = 4096;

/** The KeyObject of a raw Ed25519 public key in hex (cached: importing from JWK costs as much as a verify). */
export function importPublicKeyHex(hex: string): KeyObject {
  const known = importedKeys.get(hex);
  if (known !== undefined) return known;
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(hex, 'hex').toString('base64url') }, format: 'jwk' });
  if (importedKeys.size >= IMPORTED_KEYS_MAX) importedKeys.clear();
  importedKeys.set(hex, key);
  return key;
}

/** PKCS#8 PEM, for the key file (written mode 600). */
export function exportPrivateKeyPem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

export function importPrivateKeyPem(pem: string): KeyPair {
  const privateKey = createPrivateKey(pem);
  return { privateKey, publicKeyHex: exportPublicKeyHex(createPublicKey(privateKey)) };
}

export interface SignContext {
  readonly domain: SignDomain;
  readonly vault: string;
  readonly client: string;
  readonly seq: number;
  readonly prev: string | null;
}

/** What a signature covers before the body: the domain and the object's place. */
function computeMessageHead(ctx: SignContext): Buffer {
  return Buffer.from(`bm-log/${ctx.domain}/v1\0${ctx.vault}\0${ctx.client}\0${ctx.seq}\0${ctx.prev ?? ''}\0`, 'utf8');
}

function computeMessage(ctx: SignContext, body: Uint8Array): Buffer {
  return Buffer.concat([computeMessageHead(ctx), body]);
}

/**
 * `signBody` of a body written in parts, without a copy of it for the message: the body is
 * written once, after the signed head, into one buffer with `room` more bytes after it (for
 * a caller that writes the object around the body in place). Returns that buffer, where the
 * body starts in it, and the signature.
 */
export function signBodyParts(
  ctx: SignContext,
  parts: readonly Uint8Array[],
  key: KeyObject,
  room = 0,
): { buffer: Buffer; start: number; length: number; sig: Uint8Array } {
  const head = computeMessageHead(ctx);
  const length = parts.reduce((n, p) => n + p.byteLength, 0);
  const buffer = Buffer.allocUnsafeSlow(head.length + length + room);
  let at = head.copy(buffer, 0);
  for (const p of parts) {
    buffer.set(p, at);
    at += p.byteLength;
  }
  return { buffer, start: head.length, length, sig: sign(null, buffer.subarray(0, at), key) };
}

export function signBody(ctx: SignContext, body: Uint8Array, key: KeyObject): Uint8Array {
  return sign(null, computeMessage(ctx, body), key);
}

export function verifyBody(ctx: SignContext, body: Uint8Array, sig: Uint8Array, publicKey: KeyObject): boolean {
  if (sig.length !== 64) return false;
  return verify(null, computeMessage(ctx, body), publicKey, sig);
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
