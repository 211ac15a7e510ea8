import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BmError } from '../../src/errors.js';
import { encodeSegment } from '../../src/events/codec.js';
import { counterIdFactory, type ClientId, type VaultId, type VersionId } from '../../src/events/ids.js';
import type { SegmentBody } from '../../src/events/schema.js';
import { generateKeyPair, sha256Hex } from '../../src/events/signing.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { LocalIndex } from '../../src/local/local-index.js';
import { MemoryIndex } from '../support/memory-index.js';
import type { BaseEntry } from '../../src/reconcile/ports.js';

/**
 * MemoryIndex stands in for LocalIndex in the simulation: the same script of commits, pins
 * and refused batches runs against both, and every answer must be the same. In particular a
 * refused commitBatch must leave nothing behind (all or nothing).
 */

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((r) => fs.rm(r, { recursive: true, force: true })));
});

const fixed = counterIdFactory('01MX');
const vault = fixed() as VaultId;
const clientA = fixed() as ClientId;
const clientB = fixed() as ClientId;
const keys = generateKeyPair();
const sp = (p: string) => p as SyncPath;
/** Ids of one run of the script: both indexes get the same ones. */
let nextId = counterIdFactory('01MY');

function segment(client: ClientId, seq: number): { client: ClientId; seq: number; bytes: Uint8Array } {
  const body: SegmentBody = {
    v: 1,
    vault,
    client,
    seq,
    prev: (seq === 1 ? null : sha256Hex(`prev ${seq}`)) as SegmentBody['prev'],
    time: '2024-01-01T00:00:00.000Z',
    seen: {},
    snapshot: null,
    events: [{ type: 'tombstone', id: nextId() as VersionId, path: sp(`f${seq}.md`), replaces: [] }],
  };
  return { client, seq, bytes: encodeSegment(body, keys.privateKey).bytes };
}

function entry(p: string, n: number, copyOf?: { path: SyncPath; version: VersionId }): BaseEntry {
  const e = {
    path: sp(p),
    hash: sha256Hex(`content ${n}`),
    size: n,
    mode: 0o644,
    mtimeMs: 1_700_000_000_000 + n + 0.5,
    ino: n,
    heads: [nextId() as VersionId],
    version: nextId() as VersionId,
  };
  return copyOf ? { ...e, copyOf } : e;
}

type Index = Pick<LocalIndex, 'getManifest' | 'getCursors' | 'getPinnedKeys' | 'pinKeys' | 'commitBatch' | 'getMeta'> & {
  iterateSegments(): AsyncIterable<{ client: ClientId; seq: number; bytes: Uint8Array }>;
};

async function state(idx: Index): Promise<unknown> {
  const segs: string[] = [];
  for await (const s of idx.iterateSegments()) segs.push(`${s.client === clientA ? 'A' : 'B'}${s.seq}:${sha256Hex(s.bytes).slice(0, 8)}`);
  return {
    manifest: await idx.getManifest(),
    cursors: await idx.getCursors(),
    keys: await idx.getPinnedKeys(),
    segs,
    lastSyncAt: await idx.getMeta('lastSyncAt'),
  };
}

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return e instanceof BmError ? `error ${e.code}` : `error ${String(e)}`;
  }
}

async function script(idx: Index): Promise<unknown[]> {
  nextId = counterIdFactory('01MY');
  const out: unknown[] = [];
  const a = entry('a.txt', 1);
  const b = entry('d/b.txt', 2);
  const copy = entry('d/b.conflict-bob-00000001.txt', 3, { path: sp('d/b.txt'), version: b.version! });
  out.push(await state(idx));
  out.push(
    await outcome(
      idx.commitBatch({
        manifestPut: [a, b, copy],
        meta: { lastSyncAt: '2024-01-01T00:00:00.000Z' },
        segments: [segment(clientB, 2), segment(clientA, 10), segment(clientA, 9), segment(clientB, 1)],
        cursors: new Map([[clientA, { seq: 10, hash: sha256Hex('10') }]]),
      }),
    ),
  );
  out.push(await state(idx));
  // Refused batches: each has one bad part and must write none of its good parts.
  const good = {
    manifestPut: [entry('new.txt', 4)],
    manifestDel: [sp('a.txt')],
    segments: [segment(clientB, 3)],
    meta: { lastSyncAt: 'later' },
  };
  out.push(await outcome(idx.commitBatch({ ...good, manifestDel: [sp('a.txt'), sp('new.txt')] })));
  out.push(await outcome(idx.commitBatch({ ...good, cursors: new Map([[clientB, { seq: 0, hash: 'nope' }]]) })));
  out.push(await outcome(idx.commitBatch({ ...good, meta: { 'index-format': 2 } })));
  out.push(await outcome(idx.commitBatch({ ...good, segments: [{ client: clientB, seq: 4, bytes: new Uint8Array([0xc1]) }] })));
  out.push(await outcome(idx.commitBatch({ ...good, segments: [{ ...segment(clientB, 5), seq: 0 }] })));
  out.push(await outcome(idx.commitBatch({ ...good, cursors: new Map([['not-a-ulid' as ClientId, { seq: 1, hash: sha256Hex('1') }]]) })));
  out.push(await state(idx));
  // A good batch, deleting a missing path too.
  out.push(await outcome(idx.commitBatch({ ...good, manifestDel: [sp('a.txt'), sp('never.txt')] })));
  out.push(await state(idx));
  // Pins: first sight, the same key again (first name kept), a different key (refused, none pinned).
  out.push(await outcome(idx.pinKeys([{ client: clientA, publicKey: 'a'.repeat(64), name: 'laptop' }])));
  out.push(await outcome(idx.pinKeys([{ client: clientA, publicKey: 'a'.repeat(64), name: 'renamed' }])));
  out.push(
    await outcome(
      idx.pinKeys([
        { client: clientB, publicKey: 'b'.repeat(64), name: 'desk' },
        { client: clientA, publicKey: 'c'.repeat(64), name: 'laptop' },
      ]),
    ),
  );
  out.push(await state(idx));
  // Answers are copies: changing one changes nothing stored.
  const m = await idx.getManifest();
  (m.get(sp('d/b.txt'))!.heads as VersionId[]).push('01MX0000000000000000000ZZZ' as VersionId);
  m.delete(sp('d/b.txt'));
  out.push(await state(idx));
  return out;
}

describe('MemoryIndex behaves like LocalIndex', () => {
  it('gives the same answers to the same script, refused batches writing nothing', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bm-memindex-'));
    roots.push(root);
    const level = await LocalIndex.open(root);
    try {
      const real = await script(level);
      const memory = await script(new MemoryIndex());
      expect(memory).toEqual(real);
      // The script does exercise refusals and a change.
      expect(real.filter((x) => typeof x === 'string' && x.startsWith('error')).length).toBeGreaterThanOrEqual(7);
      expect(real.at(-1)).not.toEqual(real[0]);
    } finally {
      await level.close();
    }
  });
});
