import { createHash } from 'node:crypto';
import { BmError, ErrorCode } from '../errors.js';

/**
 * Key fingerprints: the short form two people compare out loud before an admission, and that
 * an invitation token pins. 100 bits of SHA-256 over a domain-separated raw public key, in
 * Crockford base32 (no I, L, O, U: nothing to misread), five groups of four:
 * `7KQ2-M9XD-0ZAF-3R8T-PWCN`. Finding another key with the same fingerprint costs about
 * 2^100 hashes (a second preimage), far beyond any attacker of a team vault.
 */
export { FINGERPRINT_RE } from '../events/member-event-schema.js';
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const GROUPS = 5;
const GROUP_LEN = 4;

/** Crockford base32 of `bits` leading bits of `bytes` (bits a multiple of 5). */
export function encodeBase32(bytes: Uint8Array, bits: number): string {
  let out = '';
  for (let i = 0; i < bits; i += 5) {
    let v = 0;
    for (let b = i; b < i + 5; b++) v = (v << 1) | ((bytes[b >> 3]! >> (7 - (b & 7))) & 1);
    out += ALPHABET[v];
  }
  return out;
}

/** The fingerprint of a raw public key given as lowercase hex (Ed25519 or X25519, 32 bytes). */
export function computeFingerprint(publicKeyHex: string): string {
  if (!/^[0-9a-f]{64}$/.test(publicKeyHex)) throw new BmError(ErrorCode.internal, 'a public key is 32 bytes of lowercase hex');
  const digest = createHash('sha256').update('bm-log/fingerprint/v1\0').update(Buffer.from(publicKeyHex, 'hex')).digest();
  const flat = encodeBase32(digest, GROUPS * GROUP_LEN * 5);
  const groups: string[] = [];
  for (let g = 0; g < GROUPS; g++) groups.push(flat.slice(g * GROUP_LEN, (g + 1) * GROUP_LEN));
  return groups.join('-');
}

/**
 * A fingerprint as typed by a person: case, spaces and dashes are free; O reads as 0, I and L
 * as 1 (Crockford's rule). Returns the canonical form, or throws a usage error saying why not.
 */
export function parseFingerprint(typed: string): string {
  const flat = typed.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  const hint = 'a key fingerprint is 20 letters and digits in five groups of four, like 7KQ2-M9XD-0ZAF-3R8T-PWCN';
  if (flat.length !== GROUPS * GROUP_LEN)
    throw new BmError(ErrorCode.usage, `not a key fingerprint: ${flat.length} characters, expected 20`, hint);
  if (![...flat].every((c) => ALPHABET.includes(c)))
    throw new BmError(ErrorCode.usage, 'not a key fingerprint: it has a character no fingerprint uses', hint);
  return flat.match(/.{4}/g)!.join('-');
}
