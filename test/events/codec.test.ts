import { describe, expect, it } from 'vitest';
import { BmError, ErrorCode, integrityCodes } from '../../src/errors.js';
import {
  decodeCheckpoint,
  decodeIdentity,
  decodeMsgpack,
  decodeSegment,
  decodeWriterCheckpoint,
  encodeIdentity,
  encodeMsgpack,
  encodeSegment,
  encodeWriterCheckpoint,
  type SegmentExpectation,
} from '../../src/events/codec.js';
import { counterIdFactory, type ClientId, type ContentHash, type VaultId, type VersionId } from '../../src/events/ids.js';
import type { CheckpointBody, WriterCheckpointBody } from '../../src/events/checkpoint-schema.js';
import {
  MAX_PACK_BYTES,
  MAX_SEGMENT_BYTES,
  SEGMENT_FORMAT_MAX,
  computeSegmentFormat,
  type Event,
  type IdentityBody,
  type SegmentBody,
} from '../../src/events/schema.js';
import { generateKeyPair, importPublicKeyHex, sha256Hex, signBody, type KeyPair } from '../../src/events/signing.js';
import type { SyncPath } from '../../src/events/sync-path.js';

const ids = counterIdFactory('01C0DEC');
const vault = ids() as VaultId;
const otherVault = ids() as VaultId;
const aliceId = ids() as ClientId;
const bobId = ids() as ClientId;
const alice = generateKeyPair();
const bob = generateKeyPair();
const mallory = generateKeyPair();
const TIME = '2026-11-21T10:00:00.000Z';

function put(path: string): Event {
  return {
    type: 'put',
    id: ids() as VersionId,
    path: path as SyncPath,
    replaces: [],
    content: { hash: sha256Hex(path) as ContentHash, size: path.length, mode: 0o644 },
  };
}

function segmentBody(seq: number, prev: string | null, client: ClientId = aliceId): SegmentBody {
  return {
    v: 1,
    vault,
    client,
    seq,
    prev: prev as ContentHash | null,
    time: TIME,
    seen: { [bobId]: 3 },
    snapshot: null,
    events: [
      put('docs/a.md'),
      { type: 'tombstone', id: ids() as VersionId, path: 'old.txt' as SyncPath, replaces: [ids() as VersionId] },
      {
        type: 'resolve',
        id: ids() as VersionId,
        path: 'x/y.bin' as SyncPath,
        replaces: [ids() as VersionId, ids() as VersionId],
        content: null,
      },
    ],
  };
}

function expectation(seq: number, prev: string | null | undefined, over: Partial<SegmentExpectation> = {}): SegmentExpectation {
  return {
    vault,
    client: aliceId,
    seq,
    ...(prev === undefined ? {} : { prev }),
    publicKey: importPublicKeyHex(alice.publicKeyHex),
    ...over,
  };
}

/**
 * Signs any value (even one the schema rejects) with `key` for the given position and
 * packs it in an envelope: what a buggy or hostile holder of the key could publish.
 */
function packSigned(
  body: unknown,
  key: KeyPair,
  ctx: { vault?: string; client?: string; seq: number; prev: string | null },
  v = 1,
): Uint8Array {
  const bodyBytes = encodeMsgpack(body);
  const sig = signBody(
    { domain: 'segment', vault: ctx.vault ?? vault, client: ctx.client ?? aliceId, seq: ctx.seq, prev: ctx.prev },
    bodyBytes,
    key.privateKey,
  );
  return encodeMsgpack({ v, body: bodyBytes, sig });
}

function expectBmError(fn: () => unknown, code: ErrorCode): BmError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(BmError);
  expect((thrown as BmError).code).toBe(code);
  return thrown as BmError;
}

describe('segment codec', () => {
  it('accepts a segment with no events (a pure acknowledgement) and the retire and gc events', () => {
    const ack = encodeSegment({ ...segmentBody(1, null), events: [] }, alice.privateKey);
    expect(decodeSegment(ack.bytes, expectation(1, null)).body.events).toEqual([]);
    const events: Event[] = [
      { type: 'retire', id: ids() as VersionId, client: bobId },
      {
        type: 'gc',
        id: ids() as VersionId,
        retentionMs: 1000,
        graceMs: 0,
        frontier: { [bobId]: 3 },
        collected: [{ path: 'gone.md' as SyncPath, versions: [ids() as VersionId] }],
        condemned: ['a'.repeat(64) as ContentHash],
        deleted: [],
      },
    ];
    const seg = encodeSegment({ ...segmentBody(2, ack.hash), events }, alice.privateKey);
    expect(decodeSegment(seg.bytes, expectation(2, ack.hash)).body.events).toEqual(events);
  });

  it('round-trips a signed chain of segments', () => {
    const first = encodeSegment(segmentBody(1, null), alice.privateKey);
    const second = encodeSegment(segmentBody(2, first.hash), alice.privateKey);
    const d1 = decodeSegment(first.bytes, expectation(1, null));
    const d2 = decodeSegment(second.bytes, expectation(2, d1.hash));
    expect(d1.body).toEqual(first.body);
    expect(d2.body).toEqual(second.body);
    expect(d1.hash).toBe(first.hash);
    expect(Buffer.from(d2.bytes).equals(Buffer.from(second.bytes))).toBe(true);
  });

  it('hashes the exact body bytes inside the envelope', () => {
    const seg = encodeSegment(segmentBody(1, null), alice.privateKey);
    const env = decodeMsgpack(seg.bytes, 'test') as { body: Uint8Array };
    expect(seg.hash).toBe(sha256Hex(env.body));
  });

  it('encodes deterministically, so a retried write is byte-identical', () => {
    const body = segmentBody(1, null);
    expect(Buffer.from(encodeSegment(body, alice.privateKey).bytes).equals(Buffer.from(encodeSegment(body, alice.privateKey).bytes))).toBe(
      true,
    );
  });

  it('rejects a signature made with another key', () => {
    const forged = encodeSegment(segmentBody(1, null), mallory.privateKey);
    expectBmError(() => decodeSegment(forged.bytes, expectation(1, null)), ErrorCode.badSignature);
  });

  it('rejects a segment checked against a key signing for another client', () => {
    const bobs = encodeSegment(segmentBody(1, null, bobId), bob.privateKey);
    // The right position but alice's key ...
    expectBmError(() => decodeSegment(bobs.bytes, expectation(1, null, { client: bobId })), ErrorCode.badSignature);
    // ... and bob's segment copied into alice's log.
    expectBmError(() => decodeSegment(bobs.bytes, expectation(1, null)), ErrorCode.badSignature);
  });

  it('rejects a body tampered with inside the envelope', () => {
    const seg = encodeSegment(segmentBody(1, null), alice.privateKey);
    const env = decodeMsgpack(seg.bytes, 'test') as { v: number; body: Uint8Array; sig: Uint8Array };
    const body = Buffer.from(env.body);
    // Flip a character of a path string: still valid msgpack, so only the signature can tell.
    const at = body.indexOf('docs/a.md') + 5;
    expect(at).toBeGreaterThan(5);
    body[at] = 'b'.charCodeAt(0);
    const tampered = encodeMsgpack({ v: env.v, body, sig: env.sig });
    expectBmError(() => decodeSegment(tampered, expectation(1, null)), ErrorCode.badSignature);
  });

  it('rejects a segment moved to another seq: the signature binds its position', () => {
    const seg = encodeSegment(segmentBody(2, 'a'.repeat(64)), alice.privateKey);
    expectBmError(() => decodeSegment(seg.bytes, expectation(3, undefined)), ErrorCode.badSignature);
  });

  it('rejects a body whose seq or client differ from where it is stored, even when signed for that place', () => {
    const seq2 = packSigned(segmentBody(2, 'a'.repeat(64)), alice, { seq: 3, prev: 'a'.repeat(64) });
    expectBmError(() => decodeSegment(seq2, expectation(3, undefined)), ErrorCode.brokenChain);
    const bobsBody = packSigned(segmentBody(1, null, bobId), alice, { seq: 1, prev: null });
    expectBmError(() => decodeSegment(bobsBody, expectation(1, null)), ErrorCode.brokenChain);
  });

  it('rejects a prev that does not match the previous segment (rollback or fork)', () => {
    const first = encodeSegment(segmentBody(1, null), alice.privateKey);
    const fork = encodeSegment(segmentBody(2, 'b'.repeat(64)), alice.privateKey);
    expectBmError(() => decodeSegment(fork.bytes, expectation(2, first.hash)), ErrorCode.brokenChain);
  });

  it('rejects a format newer than it reads before anything else, as unknown-version (no integrity fault)', () => {
    const seg = encodeSegment(segmentBody(1, null), alice.privateKey);
    const env = decodeMsgpack(seg.bytes, 'test') as { body: Uint8Array; sig: Uint8Array };
    expectBmError(
      () => decodeSegment(encodeMsgpack({ v: SEGMENT_FORMAT_MAX + 1, body: env.body, sig: env.sig }), expectation(1, null)),
      ErrorCode.unknownVersion,
    );
    expect(integrityCodes.has(ErrorCode.unknownVersion)).toBe(false);
  });

  it("rejects an envelope whose format is not its body's", () => {
    const seg = encodeSegment(segmentBody(1, null), alice.privateKey);
    const env = decodeMsgpack(seg.bytes, 'test') as { body: Uint8Array; sig: Uint8Array };
    expectBmError(() => decodeSegment(encodeMsgpack({ v: 2, body: env.body, sig: env.sig }), expectation(1, null)), ErrorCode.malformed);
  });

  describe('format 2: the merge put (ADR-0019)', () => {
    const parents = [ids() as VersionId, ids() as VersionId];
    const mergePut = (merge: Record<string, unknown>): Event => ({ ...put('notes/a.md'), replaces: [...parents], merge }) as Event;
    const withEvents = (v: number, events: Event[]): SegmentBody => ({ ...segmentBody(1, null), v, events }) as SegmentBody;

    it('writes a segment with a merge as format 2 and reads it back; one without stays format 1', () => {
      const merge = { base: ids(), parents, algo: 'markdown/1' };
      expect(computeSegmentFormat([mergePut(merge)])).toBe(2);
      expect(computeSegmentFormat(segmentBody(1, null).events)).toBe(1);
      const seg = encodeSegment(withEvents(2, [mergePut(merge)]), alice.privateKey);
      expect((decodeMsgpack(seg.bytes, 'test') as { v: number }).v).toBe(2);
      const back = decodeSegment(seg.bytes, expectation(1, null));
      expect(back.body.events[0]).toMatchObject({ type: 'put', merge });
      const plain = encodeSegment(segmentBody(1, null), alice.privateKey);
      expect((decodeMsgpack(plain.bytes, 'test') as { v: number }).v).toBe(1);
    });

    it('rejects a format-1 segment holding a merge, and a merge whose parents are not replaced', () => {
      const merge = { base: null, parents, algo: 'lines/1' };
      const decode = (v: number, e: Event) =>
        decodeSegment(packSigned(withEvents(v, [e]), alice, { seq: 1, prev: null }, v), expectation(1, null));
      expectBmError(() => decode(1, mergePut(merge)), ErrorCode.malformed);
      expect(decode(2, mergePut(merge)).body.v).toBe(2);
      expectBmError(() => decode(2, mergePut({ ...merge, parents: [parents[0], ids()] })), ErrorCode.malformed);
      expectBmError(() => decode(2, mergePut({ ...merge, parents: [parents[0]] })), ErrorCode.malformed);
      expectBmError(() => decode(2, mergePut({ ...merge, parents: [parents[0], parents[0]] })), ErrorCode.malformed);
    });
  });

  describe('format 2: a content in a pack (ADR-0022)', () => {
    const pack = { client: bobId, id: ids(), offset: 10, length: 9 };
    const packedPut = (p: Record<string, unknown>, size = 9): Event =>
      ({ ...put('notes/p.md'), content: { hash: sha256Hex('p') as ContentHash, size, mode: 0o644, pack: p } }) as Event;
    const withEvents = (v: number, events: Event[]): SegmentBody => ({ ...segmentBody(1, null), v, events }) as SegmentBody;
    const decode = (v: number, e: Event) =>
      decodeSegment(packSigned(withEvents(v, [e]), alice, { seq: 1, prev: null }, v), expectation(1, null));

    it('writes a segment naming a pack entry as format 2 and reads the location back', () => {
      expect(computeSegmentFormat([packedPut(pack)])).toBe(2);
      const seg = encodeSegment(withEvents(2, [packedPut(pack)]), alice.privateKey);
      expect((decodeMsgpack(seg.bytes, 'test') as { v: number }).v).toBe(2);
      expect(decodeSegment(seg.bytes, expectation(1, null)).body.events[0]).toMatchObject({ content: { pack } });
    });

    it.each([
      ['in a format-1 segment', 1, pack, 9],
      ['longer than its content', 2, pack, 8],
      ['ending past the largest pack', 2, { ...pack, offset: MAX_PACK_BYTES - 4 }, 9],
      ['with a negative offset', 2, { ...pack, offset: -1 }, 9],
      ['with a writer that is not a client id', 2, { ...pack, client: '../keys' }, 9],
      ['with an id that is not a ULID', 2, { ...pack, id: 'x' }, 9],
      ['with an extra field', 2, { ...pack, key: 'blobs/aa' }, 9],
      ['without its length', 2, { client: pack.client, id: pack.id, offset: 0 }, 9],
    ])('rejects a pack location %s', (_what, v, p, size) => {
      expectBmError(() => decode(v, packedPut(p, size)), ErrorCode.malformed);
    });
  });

  describe('format 2: the move (ADR-0019 §2, ADR-0020)', () => {
    const withEvents = (v: number, events: Event[]): SegmentBody => ({ ...segmentBody(1, null), v, events }) as SegmentBody;
    const decode = (v: number, events: Event[]) =>
      decodeSegment(packSigned(withEvents(v, events), alice, { seq: 1, prev: null }, v), expectation(1, null));
    const old = ids() as VersionId;
    const moveTo = (to: string): Event =>
      ({ type: 'tombstone', id: ids() as VersionId, path: 'a.md' as SyncPath, replaces: [old], to }) as Event;
    const moveFrom = (from: string, path = 'b.md'): Event => ({ ...put(path), from: { path: from, version: old } }) as Event;

    it('reads both halves in one format-2 segment back, and writes it as format 2', () => {
      const events = [moveFrom('a.md'), moveTo('b.md')];
      expect(computeSegmentFormat(events)).toBe(2);
      expect(decode(2, events).body.events).toEqual([
        expect.objectContaining({ from: { path: 'a.md', version: old } }),
        expect.objectContaining({ to: 'b.md' }),
      ]);
    });

    it('rejects a half alone, halves that name other paths, a move onto its own path, and a move in a format-1 segment', () => {
      expectBmError(() => decode(2, [moveTo('b.md')]), ErrorCode.malformed);
      expectBmError(() => decode(2, [moveFrom('a.md')]), ErrorCode.malformed);
      expectBmError(() => decode(2, [moveFrom('a.md'), moveTo('c.md')]), ErrorCode.malformed);
      expectBmError(() => decode(2, [moveFrom('a.md', 'a.md'), moveTo('a.md')]), ErrorCode.malformed);
      expectBmError(() => decode(1, [moveFrom('a.md'), moveTo('b.md')]), ErrorCode.malformed);
    });
  });

  it('rejects an object over MAX_SEGMENT_BYTES without decoding it', () => {
    expectBmError(() => decodeSegment(new Uint8Array(MAX_SEGMENT_BYTES + 1), expectation(1, null)), ErrorCode.malformed);
  });

  it.each([
    ['empty', new Uint8Array(0)],
    ['a reserved msgpack byte', Uint8Array.of(0xc1)],
    ['text', new TextEncoder().encode('definitely not msgpack')],
    ['a truncated envelope', encodeSegment(segmentBody(1, null), alice.privateKey).bytes.subarray(0, 40)],
    ['an array', encodeMsgpack([1, 2, 3])],
    ['an envelope with a string body', encodeMsgpack({ v: 1, body: 'x', sig: new Uint8Array(64) })],
    ['an envelope with an extra field', encodeMsgpack({ v: 1, body: new Uint8Array(1), sig: new Uint8Array(64), extra: 1 })],
  ])('rejects garbage bytes: %s', (_name, bytes) => {
    expectBmError(() => decodeSegment(bytes, expectation(1, null)), ErrorCode.malformed);
  });

  const badPaths = [
    '../x',
    'a/../../x',
    '/etc/passwd',
    'a\0b',
    'a\\b',
    '.bm-log/x',
    '.BM-LOG/config.json',
    '.git/config',
    'sub/.git/HEAD',
    'CON.md',
    'a//b',
    'a/',
    'C:/x',
    'a/b.',
  ];
  it.each(badPaths)('rejects a correctly signed event with unsafe path %j', (path) => {
    const body = { ...segmentBody(1, null), events: [put(path)] };
    expectBmError(() => decodeSegment(packSigned(body, alice, { seq: 1, prev: null }), expectation(1, null)), ErrorCode.malformed);
  });

  it.each<[string, (b: SegmentBody) => unknown]>([
    ['a non-ULID event id', (b) => ({ ...b, events: [{ ...put('a.md'), id: 'not-a-ulid' }] })],
    ['a lowercase ULID event id', (b) => ({ ...b, events: [{ ...put('a.md'), id: ids().toLowerCase() }] })],
    [
      'a gc event with an unsafe collected path',
      (b) => ({
        ...b,
        events: [
          {
            type: 'gc',
            id: ids(),
            retentionMs: 0,
            graceMs: 0,
            frontier: {},
            collected: [{ path: '../x', versions: [ids()] }],
            condemned: [],
            deleted: [],
          },
        ],
      }),
    ],
    [
      'a gc event condemning a non-hash',
      (b) => ({
        ...b,
        events: [{ type: 'gc', id: ids(), retentionMs: 0, graceMs: 0, frontier: {}, collected: [], condemned: ['nope'], deleted: [] }],
      }),
    ],
    ['a retire event naming a non-ULID client', (b) => ({ ...b, events: [{ type: 'retire', id: ids(), client: 'bob' }] })],
    ['two events with one id', (b) => ({ ...b, events: [b.events[0], b.events[0]] })],
    ['an unknown event type', (b) => ({ ...b, events: [{ ...put('a.md'), type: 'rename' }] })],
    ['an extra body field', (b) => ({ ...b, admin: true })],
    ['a resolve replacing nothing', (b) => ({ ...b, events: [{ type: 'resolve', id: ids(), path: 'a', replaces: [], content: null }] })],
    ['a mode above 0o7777', (b) => ({ ...b, events: [{ ...put('a.md'), content: { hash: 'a'.repeat(64), size: 1, mode: 0o10000 } }] })],
    ['a negative size', (b) => ({ ...b, events: [{ ...put('a.md'), content: { hash: 'a'.repeat(64), size: -1, mode: 0o644 } }] })],
  ])('rejects a correctly signed body with %s', (_name, mutate) => {
    const body = mutate(segmentBody(1, null));
    expectBmError(() => decodeSegment(packSigned(body, alice, { seq: 1, prev: null }), expectation(1, null)), ErrorCode.malformed);
  });

  it('rejects seq 1 with a non-null prev, even when signed with that prev', () => {
    const prev = 'c'.repeat(64);
    const body = { ...segmentBody(1, null), prev };
    expectBmError(() => decodeSegment(packSigned(body, alice, { seq: 1, prev }), expectation(1, undefined)), ErrorCode.malformed);
  });

  it('rejects a later seq with a null prev', () => {
    const body = segmentBody(2, null);
    expectBmError(() => decodeSegment(packSigned(body, alice, { seq: 2, prev: null }), expectation(2, undefined)), ErrorCode.malformed);
  });

  it('rejects a body for another vault', () => {
    const body = { ...segmentBody(1, null), vault: otherVault };
    // Signed for this vault's position but naming another vault in the body.
    expectBmError(() => decodeSegment(packSigned(body, alice, { seq: 1, prev: null }), expectation(1, null)), ErrorCode.wrongVault);
    // Signed honestly for the other vault: the vault is part of the signed message.
    expectBmError(() => decodeSegment(encodeSegment(body, alice.privateKey).bytes, expectation(1, null)), ErrorCode.badSignature);
  });

  it.each(['../escape', 'x\uD800y'])('refuses to sign a body with path %j', (path) => {
    // A lone surrogate has no UTF-8 form: readers would decode another path than was written.
    const body = { ...segmentBody(1, null), events: [put(path)] };
    expectBmError(() => encodeSegment(body, alice.privateKey), ErrorCode.internal);
  });
});

describe('identity codec', () => {
  function identity(over: Partial<IdentityBody> = {}): IdentityBody {
    return { v: 1, vault, client: aliceId, name: 'alice laptop', publicKey: alice.publicKeyHex, time: TIME, ...over };
  }

  it('round-trips a self-signed identity and returns a usable key', () => {
    const decoded = decodeIdentity(encodeIdentity(identity(), alice.privateKey), { vault, client: aliceId }, importPublicKeyHex);
    const { key, ...body } = decoded;
    expect(body).toEqual(identity());
    const seg = encodeSegment(segmentBody(1, null), alice.privateKey);
    expect(decodeSegment(seg.bytes, expectation(1, null, { publicKey: key })).body.seq).toBe(1);
  });

  it('rejects an identity publishing a key that did not sign it', () => {
    const forged = encodeIdentity(identity(), mallory.privateKey);
    expectBmError(() => decodeIdentity(forged, { vault, client: aliceId }, importPublicKeyHex), ErrorCode.badSignature);
  });

  it('rejects an identity claiming another client id', () => {
    const bobs = encodeIdentity(identity({ client: bobId, publicKey: bob.publicKeyHex }), bob.privateKey);
    expectBmError(() => decodeIdentity(bobs, { vault, client: aliceId }, importPublicKeyHex), ErrorCode.keyMismatch);
  });

  it('rejects an identity for another vault', () => {
    const other = encodeIdentity(identity({ vault: otherVault }), alice.privateKey);
    expectBmError(() => decodeIdentity(other, { vault, client: aliceId }, importPublicKeyHex), ErrorCode.wrongVault);
  });

  it('rejects an unknown identity format and garbage', () => {
    const env = decodeMsgpack(encodeIdentity(identity(), alice.privateKey), 'test') as { body: Uint8Array; sig: Uint8Array };
    expectBmError(
      () => decodeIdentity(encodeMsgpack({ v: 2, body: env.body, sig: env.sig }), { vault, client: aliceId }, importPublicKeyHex),
      ErrorCode.unknownVersion,
    );
    expectBmError(() => decodeIdentity(Uint8Array.of(0xc1), { vault, client: aliceId }, importPublicKeyHex), ErrorCode.malformed);
  });
});

describe('checkpoint codec', () => {
  const writer = aliceId;
  const head = {
    id: ids() as VersionId,
    type: 'put' as const,
    ctx: 0,
    replaces: [ids() as VersionId],
    content: { hash: sha256Hex('x') as ContentHash, size: 1, mode: 0o644 },
  };
  const gone = ids() as VersionId;
  const carolId = ids() as ClientId;
  const body = (): CheckpointBody => ({
    v: 1,
    vault,
    client: writer,
    seq: 3,
    time: TIME,
    frontier: { [writer]: { seq: 3, hash: 'a'.repeat(64) } },
    contexts: [{ client: writer, seq: 2, time: TIME, seen: {}, snapshot: null }],
    paths: [{ path: 'docs/a.md' as SyncPath, heads: [head], replaced: [] }],
    collected: [{ path: 'gone.md' as SyncPath, versions: [gone] }],
    retired: [],
    latest: [{ client: writer, seq: 3, time: TIME, seen: {}, events: 0 }],
    lastEventful: { [writer]: 2 },
    condemnations: [],
    deletions: [],
    namers: [],
  });
  const writerBody = (): WriterCheckpointBody => ({
    v: 2,
    vault,
    client: writer,
    seq: 3,
    hash: 'b'.repeat(64),
    time: TIME,
    segment: { time: TIME, seen: { [bobId]: 4 }, events: 0 },
    lastEventful: 2,
    contexts: [{ seq: 2, time: TIME, seen: {}, snapshot: null }],
    paths: [{ path: 'docs/a.md' as SyncPath, versions: [head], replaced: [{ id: gone, seq: 1 }] }],
    collected: [{ path: 'gone.md' as SyncPath, seq: 2, versions: [gone] }],
    retired: [{ client: bobId, seq: 2 }],
    condemnations: [{ hash: sha256Hex('old') as ContentHash, ctx: 0, graceMs: 1000 }],
    deletions: [],
    namers: [{ hash: sha256Hex('y') as ContentHash, seq: 1 }],
    relies: [{ client: carolId, seq: 7 }],
  });
  const expect3 = () => ({ vault, client: writer, seq: 3, publicKey: importPublicKeyHex(alice.publicKeyHex) });
  const signRaw = (b: unknown, v = 1) => {
    const bodyBytes = encodeMsgpack(b);
    const sig = signBody({ domain: 'checkpoint', vault, client: writer, seq: 3, prev: null }, bodyBytes, alice.privateKey);
    return encodeMsgpack({ v, body: bodyBytes, sig });
  };

  it('format 1 (read only, for verify): decodes, bound to its domain, vault, writer and seq', () => {
    const bytes = signRaw(body());
    expect(decodeCheckpoint(bytes, expect3()).body).toEqual(body());
    expectBmError(() => decodeCheckpoint(bytes, { ...expect3(), seq: 4 }), ErrorCode.badSignature);
    expectBmError(() => decodeCheckpoint(bytes, { ...expect3(), publicKey: importPublicKeyHex(bob.publicKeyHex) }), ErrorCode.badSignature);
    // A segment signature never verifies as a checkpoint's.
    const seg = encodeSegment(segmentBody(1, null), alice.privateKey);
    expectBmError(() => decodeCheckpoint(seg.bytes, { ...expect3(), seq: 1 }), ErrorCode.badSignature);
    // Never read as a writer checkpoint, and the reverse.
    expectBmError(() => decodeWriterCheckpoint(bytes, expect3()), ErrorCode.unknownVersion);
    expectBmError(
      () => decodeCheckpoint(encodeWriterCheckpoint(writerBody(), alice.privateKey).bytes, expect3()),
      ErrorCode.unknownVersion,
    );
  });

  it.each<[string, (b: CheckpointBody) => unknown]>([
    ['an unsafe path', (b) => ({ ...b, paths: [{ ...b.paths[0], path: '../etc/passwd' }] })],
    ['an unsafe collected path', (b) => ({ ...b, collected: [{ path: 'a/../../x', versions: [] }] })],
    [
      'a head with a bad hash',
      (b) => ({ ...b, paths: [{ ...b.paths[0], heads: [{ ...head, content: { hash: 'XYZ', size: 1, mode: 0o644 } }] }] }),
    ],
    ['a head of an unknown type', (b) => ({ ...b, paths: [{ ...b.paths[0], heads: [{ ...head, type: 'rename' }] }] })],
    ['a head without content', (b) => ({ ...b, paths: [{ ...b.paths[0], heads: [{ id: head.id, type: 'put', ctx: 0, replaces: [] }] }] })],
    ['a head with an extra key', (b) => ({ ...b, paths: [{ ...b.paths[0], heads: [{ ...head, admin: true }] }] })],
    ['a non-ULID replaced id', (b) => ({ ...b, paths: [{ ...b.paths[0], replaced: ['nope'] }] })],
  ])('rejects a correctly signed format-1 checkpoint with %s', (_name, mutate) => {
    expectBmError(() => decodeCheckpoint(signRaw(mutate(body())), expect3()), ErrorCode.malformed);
  });

  it('format 2 (a writer checkpoint, ADR-0014): round-trips, bound to its domain, vault, writer and seq', () => {
    const cp = encodeWriterCheckpoint(writerBody(), alice.privateKey);
    expect(decodeWriterCheckpoint(cp.bytes, expect3()).body).toEqual(writerBody());
    expectBmError(() => decodeWriterCheckpoint(cp.bytes, { ...expect3(), seq: 4 }), ErrorCode.badSignature);
    expectBmError(() => decodeWriterCheckpoint(cp.bytes, { ...expect3(), client: bobId }), ErrorCode.badSignature);
    expectBmError(
      () => decodeWriterCheckpoint(cp.bytes, { ...expect3(), publicKey: importPublicKeyHex(mallory.publicKeyHex) }),
      ErrorCode.badSignature,
    );
    expectBmError(() => decodeWriterCheckpoint(cp.bytes, { ...expect3(), vault: otherVault }), ErrorCode.badSignature);
    // Signed for seq 3 but claiming another writer inside: refused.
    expectBmError(() => decodeWriterCheckpoint(signRaw({ ...writerBody(), client: bobId }, 2), expect3()), ErrorCode.brokenChain);
  });

  it.each<[string, (b: WriterCheckpointBody) => unknown]>([
    ['an unsafe path', (b) => ({ ...b, paths: [{ ...b.paths[0], path: '.bm-log/../../x' }] })],
    ['a version naming a missing context', (b) => ({ ...b, paths: [{ ...b.paths[0], versions: [{ ...head, ctx: 5 }] }] })],
    ['a tombstone with content', (b) => ({ ...b, paths: [{ ...b.paths[0], versions: [{ ...head, type: 'tombstone' }] }] })],
    ['a replaced claim past the checkpoint', (b) => ({ ...b, paths: [{ ...b.paths[0], replaced: [{ id: gone, seq: 4 }] }] })],
    ['a replaced claim without its seq', (b) => ({ ...b, paths: [{ ...b.paths[0], replaced: [gone] }] })],
    ['a collected claim past the checkpoint', (b) => ({ ...b, collected: [{ path: 'gone.md', seq: 9, versions: [gone] }] })],
    ['a context past the checkpoint', (b) => ({ ...b, contexts: [{ seq: 4, time: TIME, seen: {}, snapshot: null }] })],
    ['a gc record naming a missing context', (b) => ({ ...b, deletions: [{ hash: sha256Hex('z'), ctx: 1 }] })],
    ['a namer past the checkpoint', (b) => ({ ...b, namers: [{ hash: sha256Hex('z'), seq: 4 }] })],
    ['an extra key', (b) => ({ ...b, frontier: {} })],
    ['relies naming its own writer', (b) => ({ ...b, relies: [{ client: writer, seq: 1 }] })],
  ])('rejects a correctly signed writer checkpoint with %s', (_name, mutate) => {
    expectBmError(() => encodeWriterCheckpoint(mutate(writerBody()) as WriterCheckpointBody, alice.privateKey), ErrorCode.internal);
    expectBmError(() => decodeWriterCheckpoint(signRaw(mutate(writerBody()), 2), expect3()), ErrorCode.malformed);
  });
});
