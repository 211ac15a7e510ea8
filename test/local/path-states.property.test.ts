import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeMsgpack, encodeMsgpack, encodeSegment } from '../../src/events/codec.js';
import { counterIdFactory, type ClientId, type VaultId, type VersionId } from '../../src/events/ids.js';
import type { Event, SegmentBody } from '../../src/events/schema.js';
import { generateKeyPair } from '../../src/events/signing.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { LocalIndex } from '../../src/local/local-index.js';
import { projectSegment, type Projection } from '../../src/projections/project-paths.js';
import { createVaultState, decodeVaultState, encodeVaultState, evolveVault } from '../../src/projections/project-vault.js';

// What a lazy sync (ADR-0009) reads instead of folding the log must be what the fold gives:
// LocalIndex.readPathStates, from the history and collection rows commitBatch writes with
// each segment, equals the fold of every committed segment for every path, whatever the
// events (puts, deletes, resolves, GC collections) and however they were batched; and the
// vault state survives the record's encoding unchanged.

const roots: string[] = [];
afterAll(async () => Promise.all(roots.map((r) => fs.rm(r, { recursive: true, force: true }))));

const key = generateKeyPair().privateKey;
const ids = counterIdFactory('01PS');
const vault = ids() as VaultId;
const clients = [ids(), ids()] as ClientId[];
const PATHS = ['a.md', 'b.md', 'd/c.md'] as const;
const hash = (n: number) => n.toString(16).padStart(64, '0');
const idOf = (n: number) => `01V${String(n).padStart(23, '0')}` as VersionId;

/** One event drawn against the ids issued so far (replaces and collections name earlier ones). */
const eventArb = fc.record({
  kind: fc.constantFrom('put', 'put', 'tombstone', 'resolve', 'gc'),
  path: fc.constantFrom(...PATHS),
  pick: fc.nat(50),
  bytes: fc.nat(5),
});
const scriptArb = fc.array(fc.record({ client: fc.nat(1), events: fc.array(eventArb, { maxLength: 4 }), batchWithNext: fc.boolean() }), {
  minLength: 1,
  maxLength: 10,
});

function buildSegments(
  script: readonly {
    client: number;
    events: readonly { kind: string; path: string; pick: number; bytes: number }[];
    batchWithNext: boolean;
  }[],
): { body: SegmentBody; batchWithNext: boolean }[] {
  const seqs = [0, 0];
  const issued: { id: VersionId; path: string }[] = [];
  let n = 0;
  return script.map((s) => {
    const seq = ++seqs[s.client]!;
    const events: Event[] = [];
    for (const e of s.events) {
      const earlier = issued.filter((v) => v.path === e.path);
      const replaces = earlier.length === 0 ? [] : [earlier[e.pick % earlier.length]!.id];
      if (e.kind === 'gc') {
        if (earlier.length === 0) continue;
        events.push({
          type: 'gc',
          id: idOf(++n),
          retentionMs: 0,
          graceMs: 0,
          frontier: {},
          collected: [{ path: e.path as SyncPath, versions: [earlier[e.pick % earlier.length]!.id] }],
          condemned: [hash(100 + e.bytes) as never],
          deleted: [],
        });
        continue;
      }
      const id = idOf(++n);
      issued.push({ id, path: e.path });
      if (replaces.length === 0)
        events.push({
          type: 'put',
          id,
          path: e.path as SyncPath,
          replaces,
          content: { hash: hash(e.bytes) as never, size: e.bytes, mode: 0o644 },
        });
      else if (e.kind === 'tombstone') events.push({ type: 'tombstone', id, path: e.path as SyncPath, replaces });
      else
        events.push({
          type: e.kind as 'put' | 'resolve',
          id,
          path: e.path as SyncPath,
          replaces,
          content: { hash: hash(e.bytes) as never, size: e.bytes, mode: 0o644 },
        });
    }
    const body: SegmentBody = {
      v: 1,
      vault,
      client: clients[s.client]!,
      seq,
      prev: (seq === 1 ? null : hash(seq)) as SegmentBody['prev'],
      time: '2026-11-21T00:00:00.000Z',
      seen: { [clients[1 - s.client]!]: seqs[1 - s.client]! },
      snapshot: null,
      events,
    };
    return { body, batchWithNext: s.batchWithNext };
  });
}

describe('the rows a lazy sync reads', () => {
  it('readPathStates equals the fold of every committed segment, for every path', async () => {
    await fc.assert(
      fc.asyncProperty(scriptArb, async (script) => {
        const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bm-rows-'));
        roots.push(root);
        const index = await LocalIndex.open(root);
        try {
          const segments = buildSegments(script);
          let batch: { client: ClientId; seq: number; bytes: Uint8Array }[] = [];
          const folded: Projection = new Map();
          for (const [i, { body, batchWithNext }] of segments.entries()) {
            projectSegment(body, folded);
            batch.push({ client: body.client, seq: body.seq, bytes: new Uint8Array(encodeSegment(body, key).bytes) });
            if (!batchWithNext || i === segments.length - 1) {
              await index.commitBatch({ segments: batch });
              batch = [];
            }
          }
          expect(await index.canReadPathStates()).toBe(true);
          const read = await index.readPathStates([...PATHS, 'never.md']);
          for (const p of [...PATHS, 'never.md']) expect(read.get(p as SyncPath), p).toEqual(folded.get(p as SyncPath));
        } finally {
          await index.close();
        }
      }),
      { numRuns: 40 },
    );
  });

  it('a version id claimed by two events turns the rows off for good (the fold keeps one by client and seq)', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bm-rows-'));
    roots.push(root);
    const index = await LocalIndex.open(root);
    try {
      const put = (client: ClientId, bytes: number): SegmentBody => ({
        v: 1,
        vault,
        client,
        seq: 1,
        prev: null,
        time: '2026-11-21T00:00:00.000Z',
        seen: {},
        snapshot: null,
        events: [
          {
            type: 'put',
            id: idOf(1),
            path: 'a.md' as SyncPath,
            replaces: [],
            content: { hash: hash(bytes) as never, size: bytes, mode: 0o644 },
          },
        ],
      });
      await index.commitBatch({
        segments: [{ client: clients[0]!, seq: 1, bytes: new Uint8Array(encodeSegment(put(clients[0]!, 1), key).bytes) }],
      });
      expect(await index.canReadPathStates()).toBe(true);
      await index.commitBatch({
        segments: [{ client: clients[1]!, seq: 1, bytes: new Uint8Array(encodeSegment(put(clients[1]!, 2), key).bytes) }],
      });
      expect(await index.canReadPathStates()).toBe(false);
    } finally {
      await index.close();
    }
  });

  it('the vault state survives the clean-state record (encoded, stored as msgpack, decoded)', () => {
    fc.assert(
      fc.property(scriptArb, (script) => {
        const state = createVaultState();
        for (const { body } of buildSegments(script)) evolveVault(state, body);
        const back = decodeVaultState(decodeMsgpack(encodeMsgpack(encodeVaultState(state)), 'vault'));
        expect(isDeepStrictEqual(back, state)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
