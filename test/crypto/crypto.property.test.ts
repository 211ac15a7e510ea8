import { createCipheriv, createHash } from 'node:crypto';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeBlobName, decryptBlob, encryptBlob } from '../../src/crypto/blob-cipher.js';
import { rekeyEventSchema } from '../../src/crypto/key-event-schema.js';
import { computeKeyringWith, createContentKey, createKeyring, mustEpochKeys, SecretBytes, type Keyring } from '../../src/crypto/keyring.js';
import { openBody, sealBody } from '../../src/crypto/seal-body.js';
import { generateWrapKeyPair, planRekey, unwrapContentKey, wrapContentKey, wrappedKeySchema } from '../../src/crypto/wrap-key.js';
import { BmError, type ErrorCode } from '../../src/errors.js';

const VAULT = '01VA000000000000000000000Z';
const keyBytes = fc.uint8Array({ minLength: 32, maxLength: 32 });
const epochArb = fc.integer({ min: 1, max: 2 ** 32 - 1 });
const keyringOf = (bytes: Uint8Array, epoch: number, vault = VAULT): Keyring =>
  computeKeyringWith(createKeyring(vault), epoch, new SecretBytes(bytes));

function codeOf(fn: () => unknown): ErrorCode | 'none' {
  try {
    fn();
    return 'none';
  } catch (e) {
    if (!(e instanceof BmError)) throw e;
    return e.code;
  }
}
function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}

describe('segment bodies (envelope encryption)', () => {
  it('round-trip under any key, epoch, context and plaintext', () => {
    fc.assert(
      fc.property(keyBytes, epochArb, fc.string(), fc.uint8Array({ maxLength: 2000 }), (k, epoch, ctx, pt) => {
        const ring = keyringOf(k, epoch);
        expect(Buffer.from(openBody(ring, epoch, ctx, sealBody(ring, epoch, ctx, pt)))).toEqual(Buffer.from(pt));
      }),
    );
  });

  it('reject any flipped bit: the key id as wrong-key, every other bit as tampered', () => {
    fc.assert(
      fc.property(keyBytes, epochArb, fc.uint8Array({ maxLength: 300 }), fc.nat(), (k, epoch, pt, pick) => {
        const ring = keyringOf(k, epoch);
        const sealed = sealBody(ring, epoch, 'segment', pt);
        const bit = pick % (sealed.length * 8);
        const expected = bit >= 8 && bit < 72 ? 'wrong-key' : 'tampered';
        expect(codeOf(() => openBody(ring, epoch, 'segment', flipBit(sealed, bit)))).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('do not open at another place (tampered), under another epoch label, vault or key (wrong-key); an unheld epoch is unknown-epoch', () => {
    fc.assert(
      fc.property(keyBytes, keyBytes, fc.uint8Array({ maxLength: 100 }), (k, other, pt) => {
        fc.pre(!Buffer.from(k).equals(Buffer.from(other)));
        const ring = computeKeyringWith(keyringOf(k, 1), 2, new SecretBytes(k));
        const sealed = sealBody(ring, 1, 'segment\0a\0b\x001', pt);
        expect(codeOf(() => openBody(ring, 1, 'segment\0a\0b\x002', sealed))).toBe('tampered');
        expect(codeOf(() => openBody(ring, 2, 'segment\0a\0b\x001', sealed))).toBe('wrong-key');
        expect(codeOf(() => openBody(keyringOf(other, 1), 1, 'segment\0a\0b\x001', sealed))).toBe('wrong-key');
        expect(codeOf(() => openBody(keyringOf(k, 1, '01VB000000000000000000000Z'), 1, 'segment\0a\0b\x001', sealed))).toBe('wrong-key');
        expect(codeOf(() => openBody(ring, 3, 'segment\0a\0b\x001', sealed))).toBe('unknown-epoch');
      }),
      { numRuns: 100 },
    );
  });
});

describe('blobs (deterministic encryption, keyed names)', () => {
  it('round-trip, and return the plaintext hash for the caller to check', () => {
    fc.assert(
      fc.property(keyBytes, epochArb, fc.uint8Array({ maxLength: 5000 }), (k, epoch, pt) => {
        const { plaintext, hash } = decryptBlob(keyringOf(k, epoch), encryptBlob(keyringOf(k, epoch), epoch, pt));
        expect(plaintext).toEqual(Buffer.from(pt));
        expect(hash).toBe(createHash('sha256').update(pt).digest('hex'));
      }),
    );
  });

  it('are deterministic across clients holding the same key, and differ for other content or another epoch', () => {
    fc.assert(
      fc.property(keyBytes, fc.uint8Array({ maxLength: 500 }), fc.uint8Array({ maxLength: 500 }), (k, a, b) => {
        const clientOne = keyringOf(k, 1);
        const clientTwo = computeKeyringWith(keyringOf(Uint8Array.from(k), 1), 2, createContentKey());
        expect(Buffer.from(encryptBlob(clientOne, 1, a))).toEqual(Buffer.from(encryptBlob(clientTwo, 1, a)));
        if (!Buffer.from(a).equals(Buffer.from(b)))
          expect(Buffer.from(encryptBlob(clientOne, 1, a))).not.toEqual(Buffer.from(encryptBlob(clientOne, 1, b)));
        expect(Buffer.from(encryptBlob(clientTwo, 2, a))).not.toEqual(Buffer.from(encryptBlob(clientTwo, 1, a)));
      }),
    );
  });

  it('reject any flipped bit (epoch field: unknown-epoch; key id: wrong-key; the rest: tampered)', () => {
    fc.assert(
      fc.property(keyBytes, fc.integer({ min: 1, max: 1000 }), fc.uint8Array({ maxLength: 300 }), fc.nat(), (k, epoch, pt, pick) => {
        const ring = keyringOf(k, epoch);
        const blob = encryptBlob(ring, epoch, pt);
        const bit = pick % (blob.length * 8);
        const expected = bit < 8 ? 'tampered' : bit < 40 ? 'unknown-epoch' : bit < 104 ? 'wrong-key' : 'tampered';
        expect(codeOf(() => decryptBlob(ring, flipBit(blob, bit)))).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('reject a blob whose IV was not derived from its content, even with a valid tag', () => {
    const ring = keyringOf(Buffer.alloc(32, 7), 1);
    const good = Buffer.from(encryptBlob(ring, 1, Buffer.from('hello')));
    const keys = mustEpochKeys(ring, 1);
    const iv = Buffer.alloc(12, 1);
    const header = Buffer.concat([good.subarray(0, 13), iv]);
    const cipher = createCipheriv('aes-256-gcm', keys.subkey('blob'), iv);
    cipher.setAAD(header);
    const forged = Buffer.concat([header, cipher.update('hello'), cipher.final(), cipher.getAuthTag()]);
    expect(codeOf(() => decryptBlob(ring, forged))).toBe('tampered');
    expect(decryptBlob(ring, good).plaintext.toString()).toBe('hello');
  });

  it('are named by a keyed hash: stable, per epoch and vault, never the content hash', () => {
    fc.assert(
      fc.property(keyBytes, fc.uint8Array({ maxLength: 200 }), (k, pt) => {
        const hash = createHash('sha256').update(pt).digest('hex');
        const ring = computeKeyringWith(keyringOf(k, 1), 2, new SecretBytes(k));
        const name = computeBlobName(ring, 1, hash);
        expect(name).toMatch(/^[0-9a-f]{64}$/);
        expect(name).toBe(computeBlobName(keyringOf(Uint8Array.from(k), 1), 1, hash));
        expect(name).not.toBe(hash);
        expect(computeBlobName(ring, 2, hash)).not.toBe(name);
        expect(computeBlobName(keyringOf(k, 1, '01VB000000000000000000000Z'), 1, hash)).not.toBe(name);
        const blob = Buffer.from(encryptBlob(ring, 1, pt));
        for (const enc of ['hex', 'base64', 'base64url'] as const)
          expect(blob.toString('latin1')).not.toContain(Buffer.from(hash, 'hex').toString(enc));
      }),
      { numRuns: 100 },
    );
  });
});

describe('key wrapping (X25519) and rekey on removal', () => {
  const alice = { client: '01A0000000000000000000000Z', keys: generateWrapKeyPair() };
  const bob = { client: '01B0000000000000000000000Z', keys: generateWrapKeyPair() };
  const mallory = { client: '01C0000000000000000000000Z', keys: generateWrapKeyPair() };
  const rec = (m: typeof alice) => ({ client: m.client, publicKeyHex: m.keys.publicKeyHex });

  it('a wrapped key opens only with its recipient private key; forged recipients and flipped bits are rejected', () => {
    fc.assert(
      fc.property(keyBytes, epochArb, fc.nat(), (k, epoch, pick) => {
        const key = new SecretBytes(k);
        const w = wrapContentKey(VAULT, epoch, key, rec(alice));
        expect(wrappedKeySchema.parse(w)).toEqual(w);
        expect(unwrapContentKey(VAULT, w, alice).equals(key)).toBe(true);
        expect(codeOf(() => unwrapContentKey(VAULT, w, bob))).toBe('wrong-key');
        // Bob relabels Alice's wrap as his: the key agreement gives him another secret.
        const relabelled = { ...w, recipient: bob.client, fingerprint: wrapContentKey(VAULT, epoch, key, rec(bob)).fingerprint };
        expect(codeOf(() => unwrapContentKey(VAULT, relabelled, bob))).toBe('tampered');
        expect(codeOf(() => unwrapContentKey('01VB000000000000000000000Z', w, alice))).toBe('tampered');
        expect(codeOf(() => unwrapContentKey(VAULT, { ...w, epoch: epoch === 1 ? 2 : epoch - 1 }, alice))).toBe('tampered');
        const box = Buffer.from(w.box, 'base64url');
        const flippedBox = Buffer.from(flipBit(box, pick % (box.length * 8))).toString('base64url');
        expect(codeOf(() => unwrapContentKey(VAULT, { ...w, box: flippedBox }, alice))).toBe('tampered');
        const epk = Buffer.from(w.epk, 'hex');
        const flippedEpk = Buffer.from(flipBit(epk, pick % 255)).toString('hex');
        expect(codeOf(() => unwrapContentKey(VAULT, { ...w, epk: flippedEpk }, alice))).toBe('tampered');
      }),
      { numRuns: 60 },
    );
  });

  it("after a rekey on removal, the removed member's keys open nothing of the new epoch", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (pt) => {
        const epoch1 = createContentKey();
        const everyone = computeKeyringWith(createKeyring(VAULT), 1, epoch1);
        const plan = planRekey(everyone, [rec(alice), rec(bob)]);
        expect(plan.epoch).toBe(2);
        expect(
          rekeyEventSchema.safeParse({ type: 'rekey', id: '01EVNT00000000000000000000', epoch: plan.epoch, wraps: plan.wraps }).success,
        ).toBe(true);
        const bobRing = computeKeyringWith(everyone, 2, unwrapContentKey(VAULT, plan.wraps.find((w) => w.recipient === bob.client)!, bob));
        const sealed = sealBody(bobRing, 2, 'segment', pt);
        const blob = encryptBlob(bobRing, 2, pt);
        expect(Buffer.from(openBody(bobRing, 2, 'segment', sealed))).toEqual(Buffer.from(pt));
        // Mallory (removed) holds epoch 1 and sees the rekey event's wraps.
        const malloryRing = everyone;
        expect(codeOf(() => openBody(malloryRing, 2, 'segment', sealed))).toBe('unknown-epoch');
        expect(codeOf(() => decryptBlob(malloryRing, blob))).toBe('unknown-epoch');
        for (const w of plan.wraps) {
          expect(codeOf(() => unwrapContentKey(VAULT, w, mallory))).toBe('wrong-key');
          const relabelled = { ...w, recipient: mallory.client, fingerprint: wrapContentKey(VAULT, 2, epoch1, rec(mallory)).fingerprint };
          expect(codeOf(() => unwrapContentKey(VAULT, relabelled, mallory))).toBe('tampered');
        }
        const guessed = computeKeyringWith(malloryRing, 2, epoch1);
        expect(codeOf(() => openBody(guessed, 2, 'segment', sealed))).toBe('wrong-key');
        expect(codeOf(() => decryptBlob(guessed, blob))).toBe('wrong-key');
        // What was written before the removal stays readable to it (said in the ADR).
        expect(Buffer.from(openBody(malloryRing, 1, 'segment', sealBody(everyone, 1, 'segment', pt)))).toEqual(Buffer.from(pt));
      }),
      { numRuns: 30 },
    );
  });

  it('reject every truncation of a body or blob, a short wrap box, and a low-order recipient key', () => {
    fc.assert(
      fc.property(keyBytes, fc.uint8Array({ maxLength: 100 }), fc.nat(), (k, pt, pick) => {
        const ring = keyringOf(k, 1);
        const sealed = sealBody(ring, 1, 'segment', pt);
        const blob = encryptBlob(ring, 1, pt);
        expect(codeOf(() => openBody(ring, 1, 'segment', sealed.subarray(0, pick % sealed.length)))).toBe('tampered');
        expect(codeOf(() => decryptBlob(ring, blob.subarray(0, pick % blob.length)))).toBe('tampered');
        const w = wrapContentKey(VAULT, 1, new SecretBytes(k), rec(alice));
        const short = Buffer.from(w.box, 'base64url')
          .subarray(0, pick % 60)
          .toString('base64url');
        expect(codeOf(() => unwrapContentKey(VAULT, { ...w, box: short }, alice))).toBe('tampered');
      }),
      { numRuns: 200 },
    );
    expect(codeOf(() => wrapContentKey(VAULT, 1, createContentKey(), { client: bob.client, publicKeyHex: '00'.repeat(32) }))).toBe(
      'tampered',
    );
  });

  it('never print a key: JSON, string and inspect forms hide the bytes', () => {
    const key = new SecretBytes(Buffer.alloc(32, 0xab));
    const ring = computeKeyringWith(createKeyring(VAULT), 1, key);
    for (const shown of [
      JSON.stringify({ ring: { ...ring, epochs: [...ring.epochs] } }),
      String(key),
      inspect(ring, { depth: 5 }),
      `${key}`,
    ]) {
      expect(shown).not.toMatch(/abab|q6ur|171,\s*171/i);
      expect(shown).toContain('[secret]');
    }
  });
});
