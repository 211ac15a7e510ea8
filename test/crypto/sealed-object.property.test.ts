/**
 * The sealing layer of an encrypted vault (ADR-0031), property-tested: every object round-trips
 * under any key, epoch and plaintext; any single-byte change, and a ciphertext moved to another
 * object key, is refused with a typed error and no plaintext; blob and pack names are keyed
 * (stable, never the content hash, different for another vault key). The sealing store adapter
 * also passes the ObjectStore contract every adapter runs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeKeyringWith, createKeyring, SecretBytes, type Keyring } from '../../src/crypto/keyring.js';
import { computeObjectName, openObject, sealObject, SEALED_OVERHEAD } from '../../src/crypto/sealed-object.js';
import { SealedStore } from '../../src/crypto/sealed-store.js';
import { BmError, ErrorCode } from '../../src/errors.js';
import { MemoryStore } from '../../src/events/store/memory-store.js';
import { runObjectStoreContract } from '../events/store/object-store-contract.js';

const VAULT = '01VA000000000000000000000Z';
const keyBytes = fc.uint8Array({ minLength: 32, maxLength: 32 });
const epochs = fc.uniqueArray(fc.integer({ min: 1, max: 2 ** 32 - 1 }), { minLength: 1, maxLength: 3 });
const objectKey = fc.oneof(
  fc.hexaString({ minLength: 64, maxLength: 64 }).map((h) => `blobs/${h.slice(0, 2)}/${h}`),
  fc.integer({ min: 1, max: 999999 }).map((n) => `log/01CL000000000000000000000A/${String(n).padStart(12, '0')}`),
  fc.stringMatching(/^[a-z]{1,8}\/[a-z0-9]{1,12}$/),
);
const hexHash = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));

function keyringOf(keys: readonly Uint8Array[], at: readonly number[], vault = VAULT): Keyring {
  let ring = createKeyring(vault);
  at.forEach((epoch, i) => (ring = computeKeyringWith(ring, epoch, new SecretBytes(keys[i % keys.length]!))));
  // The names key is epoch 1's: a vault always holds epoch 1.
  return ring.epochs.has(1) ? ring : computeKeyringWith(ring, 1, new SecretBytes(keys[0]!));
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'opened';
  } catch (e) {
    if (!(e instanceof BmError)) throw e;
    return e.code;
  }
}

const REFUSED = [ErrorCode.tampered, ErrorCode.wrongKey, ErrorCode.unknownEpoch];

describe('sealed objects', () => {
  it('round-trip under any key, epochs, object key and plaintext, adding exactly SEALED_OVERHEAD bytes', () => {
    fc.assert(
      fc.property(
        fc.array(keyBytes, { minLength: 1, maxLength: 3 }),
        epochs,
        objectKey,
        fc.uint8Array({ maxLength: 3000 }),
        (k, e, key, pt) => {
          const ring = keyringOf(k, e);
          const sealed = sealObject(ring, key, pt);
          expect(sealed.length).toBe(pt.length + SEALED_OVERHEAD);
          expect(Buffer.from(openObject(ring, key, sealed))).toEqual(Buffer.from(pt));
        },
      ),
    );
  });

  it('refuse any single-byte change with tampered, wrong-key or unknown-epoch', () => {
    fc.assert(
      fc.property(
        keyBytes,
        objectKey,
        fc.uint8Array({ maxLength: 500 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (k, key, pt, at, xor) => {
          const ring = keyringOf([k], [1]);
          const sealed = Uint8Array.from(sealObject(ring, key, pt));
          sealed[at % sealed.length]! ^= xor;
          expect(REFUSED).toContain(codeOf(() => openObject(ring, key, sealed)));
        },
      ),
    );
  });

  it('refuse a ciphertext moved to another object key (tampered), and one made with another key (wrong-key)', () => {
    fc.assert(
      fc.property(keyBytes, keyBytes, objectKey, objectKey, fc.uint8Array({ maxLength: 200 }), (k1, k2, key, other, pt) => {
        fc.pre(key !== other && Buffer.compare(Buffer.from(k1), Buffer.from(k2)) !== 0);
        const ring = keyringOf([k1], [1]);
        const sealed = sealObject(ring, key, pt);
        expect(codeOf(() => openObject(ring, other, sealed))).toBe(ErrorCode.tampered);
        expect(codeOf(() => openObject(keyringOf([k2], [1]), key, sealed))).toBe(ErrorCode.wrongKey);
      }),
    );
  });

  it('seal the same plaintext to different bytes each time (a random nonce per object)', () => {
    fc.assert(
      fc.property(keyBytes, objectKey, fc.uint8Array({ maxLength: 100 }), (k, key, pt) => {
        const ring = keyringOf([k], [1]);
        expect(Buffer.from(sealObject(ring, key, pt))).not.toEqual(Buffer.from(sealObject(ring, key, pt)));
      }),
    );
  });
});

describe('keyed names', () => {
  it('name a blob by a keyed hash: stable, never the content hash, another name under another vault key', () => {
    fc.assert(
      fc.property(keyBytes, keyBytes, hexHash, (k1, k2, hash) => {
        fc.pre(Buffer.compare(Buffer.from(k1), Buffer.from(k2)) !== 0);
        const key = `blobs/${hash.slice(0, 2)}/${hash}`;
        const name = computeObjectName(keyringOf([k1], [1]), key);
        expect(name).toMatch(/^blobs\/[0-9a-f]{2}\/[0-9a-f]{64}$/);
        expect(name).not.toContain(hash);
        expect(name).toBe(computeObjectName(keyringOf([k1], [1, 7]), key)); // the same whatever later epochs exist
        expect(name).not.toBe(computeObjectName(keyringOf([k2], [1]), key));
      }),
    );
  });

  it('name a pack by a keyed hash of its id and keep segment keys (their seqs are listed)', () => {
    const ring = keyringOf([new Uint8Array(32).fill(7)], [1]);
    const pack = computeObjectName(ring, 'packs/01CL000000000000000000000A/01PK000000000000000000000A');
    expect(pack).toMatch(/^packs\/01CL000000000000000000000A\/[0-9a-f]{64}$/);
    expect(computeObjectName(ring, 'log/01CL000000000000000000000A/000000000001')).toBe('log/01CL000000000000000000000A/000000000001');
  });
});

runObjectStoreContract('sealed (over memory)', {
  create: async () => new SealedStore(new MemoryStore(), keyringOf([new Uint8Array(32).fill(3)], [1])),
});

describe('SealedStore', () => {
  it('stores no plaintext and no plaintext blob name, lists blobs it named, and reads them back', async () => {
    const inner = new MemoryStore();
    const store = new SealedStore(inner, keyringOf([new Uint8Array(32).fill(9)], [1]));
    const hash = 'ab'.repeat(32);
    const plain = new TextEncoder().encode('a private note with a recognisable sentence');
    expect(await store.putIfAbsent(`blobs/ab/${hash}`, plain)).toBe('created');
    expect(await store.putIfAbsent(`blobs/ab/${hash}`, plain)).toBe('identical'); // a retry: another nonce, the same plaintext
    const [stored] = [...inner.objects.entries()];
    expect(stored![0]).not.toContain(hash);
    expect(Buffer.from(stored![1] as Uint8Array).includes(Buffer.from('recognisable'))).toBe(false);
    expect((await store.list('blobs/')).objects.map((o) => o.key)).toEqual([`blobs/ab/${hash}`]);
    expect(await store.head(`blobs/ab/${hash}`)).toEqual({ size: plain.length });
    expect(Buffer.from((await store.get(`blobs/ab/${hash}`))!)).toEqual(Buffer.from(plain));
    const stranger = new SealedStore(inner, keyringOf([new Uint8Array(32).fill(9)], [1]));
    expect((await stranger.list('blobs/')).objects).toEqual([]); // a keyed name it was never told stays unlisted
  });
});
