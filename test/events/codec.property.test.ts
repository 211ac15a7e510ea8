import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BmError } from '../../src/errors.js';
import { decodeSegment, encodeMsgpack, encodeSegment, type SegmentExpectation } from '../../src/events/codec.js';
import type { ClientId, ContentHash, VaultId, VersionId } from '../../src/events/ids.js';
import { computeSegmentFormat, MAX_PACK_BYTES, type ContentRef, type Event, type SegmentBody } from '../../src/events/schema.js';
import { generateKeyPair, importPublicKeyHex } from '../../src/events/signing.js';
import { computePathProblem, createSyncPathCheck, isStateDirName, isSyncPath, type SyncPath } from '../../src/events/sync-path.js';

const key = generateKeyPair();
const publicKey = importPublicKeyHex(key.publicKeyHex);

const CROCKFORD = [...'0123456789ABCDEFGHJKMNPQRSTVWXYZ'];
const ulid = fc
  .tuple(fc.constantFrom(...'01234567'), fc.string({ unit: fc.constantFrom(...CROCKFORD), minLength: 25, maxLength: 25 }))
  .map(([first, rest]) => first + rest);
const hash = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }).map((s) => s as ContentHash);
// A safe alphabet with non-ASCII letters; dots inside names, never at the end (schema rule).
const nameChar = fc.constantFrom(...'abcxyzABCXYZ019-_ ~é文ß', '😀');
const segmentName = fc
  .tuple(fc.string({ unit: nameChar, minLength: 1, maxLength: 12 }), fc.constantFrom('', '.md', '.tar.gz', '.x'))
  .map(([stem, ext]) => stem.trim().replace(/^$/, 'f') + ext);
const syncPath = fc
  .array(segmentName, { minLength: 1, maxLength: 5 })
  .map((segs) => segs.join('/'))
  .filter(isSyncPath)
  .map((p) => p as SyncPath);
const plainContent = fc.record({ hash, size: fc.maxSafeNat(), mode: fc.integer({ min: 0, max: 0o7777 }) });
/** A content in a pack (format 2, ADR-0022): the entry is as long as the content and ends inside the largest pack. */
const packedContent = fc
  .record({
    hash,
    mode: fc.integer({ min: 0, max: 0o7777 }),
    client: ulid,
    id: ulid,
    offset: fc.nat(MAX_PACK_BYTES),
    length: fc.nat(MAX_PACK_BYTES),
  })
  .filter((c) => c.offset + c.length <= MAX_PACK_BYTES)
  .map(({ hash, mode, client, id, offset, length }) => ({
    hash,
    size: length,
    mode,
    pack: { client: client as ClientId, id: id as VersionId, offset, length },
  }));
const contentRef: fc.Arbitrary<ContentRef> = fc.oneof({ arbitrary: plainContent, weight: 3 }, { arbitrary: packedContent, weight: 1 });
const replaces = (minLength: number) =>
  fc.array(
    ulid.map((s) => s as VersionId),
    { minLength, maxLength: 4 },
  );

/** Any valid event, with `id` filled in later so ids within a segment are unique. */
const eventWithoutId = fc.oneof(
  fc.record({ type: fc.constant('put' as const), path: syncPath, replaces: replaces(0), content: contentRef }),
  fc.record({ type: fc.constant('tombstone' as const), path: syncPath, replaces: replaces(0) }),
  fc.record({
    type: fc.constant('resolve' as const),
    path: syncPath,
    replaces: replaces(1),
    content: fc.option(contentRef, { nil: null }),
  }),
);

const segmentBody: fc.Arbitrary<SegmentBody> = fc
  .record({
    vault: ulid,
    client: ulid,
    seq: fc.integer({ min: 1, max: 2 ** 40 }),
    prev: hash,
    time: fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z') }).map((d) => d.toISOString()),
    seen: fc.dictionary(ulid, fc.nat(), { maxKeys: 5 }),
    snapshot: fc.option(fc.string({ unit: 'binary', maxLength: 40 }), { nil: null }),
    events: fc.array(eventWithoutId, { minLength: 1, maxLength: 20 }),
    ids: fc.uniqueArray(ulid, { minLength: 20, maxLength: 20 }),
  })
  .map(({ ids, events, seq, prev, vault, client, ...rest }) => ({
    v: computeSegmentFormat(events as Event[]),
    vault: vault as VaultId,
    client: client as ClientId,
    seq,
    prev: seq === 1 ? null : prev,
    ...rest,
    events: events.map((e, i) => ({ ...e, id: ids[i] as VersionId }) as Event),
  }));

function expectationFor(body: SegmentBody): SegmentExpectation {
  return { vault: body.vault, client: body.client, seq: body.seq, prev: body.prev, publicKey };
}

describe('segment codec properties', () => {
  it('decode(encode(x)) deep-equals x for every valid body', () => {
    fc.assert(
      fc.property(segmentBody, (body) => {
        const seg = encodeSegment(body, key.privateKey);
        const decoded = decodeSegment(seg.bytes, expectationFor(body));
        expect(decoded.body).toEqual(body);
        expect(decoded.hash).toBe(seg.hash);
      }),
      { numRuns: 300 },
    );
  });

  it('a single-byte mutation is rejected with a BmError or changes nothing', () => {
    fc.assert(
      fc.property(segmentBody, fc.nat(), fc.integer({ min: 1, max: 255 }), (body, at, flip) => {
        const bytes = Uint8Array.from(encodeSegment(body, key.privateKey).bytes);
        const i = at % bytes.length;
        bytes[i] = bytes[i]! ^ flip;
        let decoded;
        try {
          decoded = decodeSegment(bytes, expectationFor(body));
        } catch (e) {
          expect(e).toBeInstanceOf(BmError);
          return;
        }
        expect(decoded.body).toEqual(body);
      }),
      { numRuns: 1000 },
    );
  });

  it('arbitrary bytes only ever throw a BmError', () => {
    const expect0: SegmentExpectation = { vault: '0'.repeat(26), client: '1'.repeat(26), seq: 1, prev: null, publicKey };
    const anyBytes = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.anything().map((v) => encodeMsgpack(v)),
      // Well-formed envelopes around arbitrary bodies reach the body decoder and the verifier.
      fc
        .record({
          v: fc.constant(1),
          body: fc.oneof(
            fc.uint8Array({ maxLength: 200 }),
            fc.anything().map((v) => encodeMsgpack(v)),
          ),
          sig: fc.uint8Array({ minLength: 0, maxLength: 80 }),
        })
        .map((env) => encodeMsgpack(env)),
    );
    fc.assert(
      fc.property(anyBytes, (bytes) => {
        expect(() => decodeSegment(bytes, expect0)).toThrow(BmError);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('computePathProblem properties', () => {
  const tokens = [
    '..',
    '.',
    '/',
    '\\',
    '\0',
    '\u0001',
    'a',
    'é',
    'e\u0301',
    'ß',
    '\uD800',
    '\uDC00',
    '😀',
    'C:',
    ':',
    ' ',
    '~',
    'CON',
    'con.md',
    '.git',
    '.GIT ',
    '.bm-log',
    '.BM-Log.',
    '.bm-log ',
    '%2e%2e',
    '\u202e',
    'ａ',
    '\u2024\u2024',
  ];
  const nastyPath = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string16bits({ maxLength: 40 }),
    fc.array(fc.constantFrom(...tokens), { maxLength: 12 }).map((t) => t.join('')),
    // Several segments, so accepted multi-level paths are common too.
    fc
      .array(
        fc.array(fc.constantFrom(...tokens), { minLength: 1, maxLength: 3 }).map((t) => t.join('')),
        { minLength: 2, maxLength: 5 },
      )
      .map((s) => s.join('/')),
  );

  it('every accepted path stays inside the root, segment for segment, on POSIX and Windows', () => {
    const roots = [
      { p: path.posix, root: '/srv/sync/root' },
      { p: path.win32, root: 'C:\\sync\\root' },
    ];
    fc.assert(
      fc.property(nastyPath, (candidate) => {
        if (computePathProblem(candidate) !== undefined) return;
        const segs = candidate.split('/');
        for (const { p, root } of roots) {
          const rel = p.relative(root, p.join(root, ...segs));
          expect(p.isAbsolute(rel)).toBe(false);
          // '..a' is a fine name; only a '..' segment would climb out.
          expect(rel.split(p.sep)[0]).not.toBe('..');
          // Nothing was collapsed or reinterpreted: the file is exactly the named one.
          expect(rel.split(p.sep)).toEqual(segs);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('the folder-caching check (createSyncPathCheck) gives the same answer as isSyncPath, in any order', () => {
    fc.assert(
      fc.property(fc.array(nastyPath, { maxLength: 30 }), (paths) => {
        const check = createSyncPathCheck(); // one cache across all paths, as the planner uses it
        for (const p of [...paths, ...paths.map((x) => `${x}/x.md`), ...paths.map((x) => `a/${x}`)])
          expect({ p, ok: check(p) }).toEqual({ p, ok: isSyncPath(p) });
      }),
      { numRuns: 3000 },
    );
  });

  it("no accepted path names bm-log's state at any depth: no segment is .bm-log in any case, normalisation or trailing dots (ADR-0016)", () => {
    fc.assert(
      fc.property(nastyPath, (candidate) => {
        if (computePathProblem(candidate) !== undefined) return;
        for (const seg of candidate.split('/')) {
          expect(isStateDirName(seg), candidate).toBe(false);
          expect(
            seg
              .normalize('NFC')
              .toLowerCase()
              .replace(/[. ]+$/, ''),
            candidate,
          ).not.toBe('.bm-log');
        }
      }),
      { numRuns: 5000 },
    );
    for (const p of ['sub/.bm-log/identity.key', 'a/.BM-LOG/x', 'a/b/.bm-log./c', 'x/.bm-log']) {
      expect(computePathProblem(p), p).toMatch(/\.bm-log state folder/);
    }
  });

  it('accepted paths survive a UTF-8 round trip unchanged', () => {
    fc.assert(
      fc.property(nastyPath, (candidate) => {
        if (computePathProblem(candidate) !== undefined) return;
        expect(Buffer.from(candidate, 'utf8').toString('utf8')).toBe(candidate);
      }),
      { numRuns: 5000 },
    );
  });
});
