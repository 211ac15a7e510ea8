import { describe, expect, it } from 'vitest';
import { BmError, ErrorCode } from '../../src/errors.js';
import { decodeSegment, encodeMsgpack, encodeSegment } from '../../src/events/codec.js';
import { counterIdFactory, type ClientId, type VaultId, type VersionId } from '../../src/events/ids.js';
import { computeSegmentFormat, type Event, type SegmentBody } from '../../src/events/schema.js';
import { generateKeyPair, importPublicKeyHex, signBody } from '../../src/events/signing.js';
import { computeFingerprint } from '../../src/crypto/fingerprint.js';

const ids = counterIdFactory('01MBRC0');
const vault = ids() as VaultId;
const admin = ids() as ClientId;
const joiner = ids() as ClientId;
const keys = generateKeyPair();
const fingerprint = computeFingerprint(generateKeyPair().publicKeyHex);

const add: Event = {
  type: 'member',
  action: 'add',
  id: ids() as VersionId,
  client: joiner,
  fingerprint,
  upTo: 0,
  role: 'writer',
  name: 'bob',
};
const key: Event = { type: 'key', id: ids() as VersionId, x25519: 'ab'.repeat(32) };

function body(events: Event[], v: 1 | 2 = computeSegmentFormat(events)): SegmentBody {
  return { v, vault, client: admin, seq: 1, prev: null, time: '2026-12-07T10:00:00.000Z', seen: {}, snapshot: null, events };
}

const expectation = { vault, client: admin, seq: 1, prev: null, publicKey: importPublicKeyHex(keys.publicKeyHex) };

/** The segment object for `b`, signed as a writer would, without encodeSegment's schema check. */
function forge(b: unknown): Uint8Array {
  const bodyBytes = encodeMsgpack(b);
  const sig = signBody({ domain: 'segment', vault, client: admin, seq: 1, prev: null }, bodyBytes, keys.privateKey);
  return encodeMsgpack({ v: (b as { v: number }).v, body: bodyBytes, sig });
}

function malformed(bytes: Uint8Array): BmError {
  try {
    decodeSegment(bytes, expectation);
  } catch (e) {
    if (e instanceof BmError) return e;
    throw e;
  }
  throw new Error('decoded');
}

describe('member and key events in the segment format (ADR-0019 §2, ADR-0021)', () => {
  it('take format 2 and round-trip through the signed codec', () => {
    expect(computeSegmentFormat([add])).toBe(2);
    expect(computeSegmentFormat([key])).toBe(2);
    const seg = encodeSegment(body([add, key]), keys.privateKey);
    expect(decodeSegment(seg.bytes, expectation).body.events).toEqual([add, key]);
  });

  it('are malformed in a format-1 segment, with an unknown action, or as a key event naming no key', () => {
    expect(malformed(forge(body([add], 1))).code).toBe(ErrorCode.malformed);
    expect(malformed(forge(body([{ ...add, action: 'promote' } as unknown as Event]))).code).toBe(ErrorCode.malformed);
    expect(malformed(forge(body([{ type: 'key', id: ids() } as unknown as Event], 2))).message).toMatch(/names no key/);
    expect(malformed(forge(body([{ ...add, fingerprint: 'not-a-fingerprint' }]))).code).toBe(ErrorCode.malformed);
  });

  it('keep a plain segment at format 1', () => {
    expect(computeSegmentFormat([])).toBe(1);
  });
});
