import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BmError, ErrorCode } from '../../src/errors.js';
import { counterIdFactory, type ClientId, type VaultId, type VersionId } from '../../src/events/ids.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { ByteParts, encodeMsgpack, encodeSegment } from '../../src/events/codec.js';
import type { SegmentBody } from '../../src/events/schema.js';
import { generateKeyPair } from '../../src/events/signing.js';
import { CLEAN_STATE_KEY } from '../../src/reconcile/ports.js';
import { LocalIndex, type Cursor, type SegmentRecord } from '../../src/local/local-index.js';
import { Level } from 'level';
import {
  STATE_DIR,
  findClientRoot,
  readClientConfig,
  readPrivateKey,
  writeClientConfig,
  writePrivateKey,
  type ClientConfig,
} from '../../src/local/state-dir.js';
import type { BaseEntry } from '../../src/reconcile/ports.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const roots: string[] = [];
async function tempRoot(): Promise<string> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bm-local-'));
  roots.push(root);
  return root;
}
afterAll(async () => {
  await Promise.all(roots.map((r) => fs.rm(r, { recursive: true, force: true })));
});

const nextId = counterIdFactory();
const clientA = nextId() as ClientId;
const clientB = nextId() as ClientId;
const hashOf = (n: number): string => n.toString(16).padStart(64, '0');
const sp = (p: string): SyncPath => p as SyncPath;

function entry(p: string, n: number, extra: Partial<BaseEntry> = {}): BaseEntry {
  return {
    path: sp(p),
    hash: hashOf(n),
    size: n,
    mode: 0o644,
    mtimeMs: 1_700_000_000_000 + n + 0.5,
    ino: n,
    heads: [nextId() as VersionId],
    version: n % 2 === 0 ? null : (nextId() as VersionId),
    ...extra,
  };
}

const segmentKey = generateKeyPair().privateKey;
const vault = nextId() as VaultId;
/** A real signed segment (deterministic: Ed25519 signatures are), one put at `f<seq>.md`. */
function segment(client: ClientId, seq: number): SegmentRecord {
  const body: SegmentBody = {
    v: 1,
    vault,
    client,
    seq,
    prev: (seq === 1 ? null : hashOf(seq - 1)) as SegmentBody['prev'],
    time: '2026-11-21T00:00:00.000Z',
    seen: {},
    snapshot: null,
    events: [
      {
        type: 'put',
        id: `01SEG${client.slice(-10)}${String(seq).padStart(11, '0')}` as VersionId,
        path: sp(`f${seq}.md`),
        replaces: [],
        content: { hash: hashOf(seq) as never, size: seq, mode: 0o644 },
      },
    ],
  };
  return { client, seq, bytes: new Uint8Array(encodeSegment(body, segmentKey).bytes) };
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function caught(p: Promise<unknown>): Promise<BmError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(BmError);
  return e as BmError;
}

describe('LocalIndex sublevels', () => {
  it('round-trips meta values of any msgpack type', async () => {
    const root = await tempRoot();
    const idx = await LocalIndex.open(root);
    await idx.putMeta('lastSyncAt', '2026-01-01T00:00:00.000Z');
    await idx.putMeta('frontier', { [clientA]: 3, [clientB]: 7 });
    expect(await idx.getMeta<string>('lastSyncAt')).toBe('2026-01-01T00:00:00.000Z');
    expect(await idx.getMeta('frontier')).toEqual({ [clientA]: 3, [clientB]: 7 });
    expect(await idx.getMeta('missing')).toBeUndefined();
    await idx.commitBatch({ meta: { lastSyncAt: undefined } });
    expect(await idx.getMeta('lastSyncAt')).toBeUndefined();
    await idx.close();
  });

  it('stores segments as exact bytes and iterates them in numeric seq order per client', async () => {
    const root = await tempRoot();
    const idx = await LocalIndex.open(root);
    // Seqs whose decimal strings would sort wrongly without zero padding.
    await idx.putSegments([segment(clientB, 2), segment(clientA, 10), segment(clientA, 9), segment(clientA, 100), segment(clientB, 1)]);
    const got = await idx.getSegment(clientA, 10);
    expect(got).toEqual(segment(clientA, 10).bytes);
    expect(got?.constructor).toBe(Uint8Array);
    expect(await idx.getSegment(clientA, 11)).toBeUndefined();
    const seqsOf = (rs: SegmentRecord[]): string[] => rs.map((r) => `${r.client === clientA ? 'A' : 'B'}${r.seq}`);
    expect(seqsOf(await collect(idx.iterateSegments(clientA)))).toEqual(['A9', 'A10', 'A100']);
    expect(seqsOf(await collect(idx.iterateSegments(clientA, 10)))).toEqual(['A10', 'A100']);
    expect(seqsOf(await collect(idx.iterateSegments(clientB)))).toEqual(['B1', 'B2']);
    expect(seqsOf(await collect(idx.iterateSegments()))).toEqual(['A9', 'A10', 'A100', 'B1', 'B2']);
    expect(seqsOf(await collect(idx.iterateSegments(undefined, 2)))).toEqual(['A9', 'A10', 'A100', 'B2']);
    const [first] = await collect(idx.iterateSegments(clientB));
    expect(first).toEqual({ client: clientB, seq: 1, bytes: segment(clientB, 1).bytes });
    expect((await idx.getPathHistory('f10.md')).map((v) => [v.client, v.seq])).toEqual([[clientA, 10]]);
    await expect(idx.putSegments([{ ...segment(clientA, 1), seq: 0 }])).rejects.toMatchObject({ code: ErrorCode.internal });
    await idx.close();
  });

  it('commits fetched segments together with the cursors they advance', async () => {
    const root = await tempRoot();
    const idx = await LocalIndex.open(root);
    expect(await idx.getCursors()).toEqual(new Map());
    const cursors = new Map<ClientId, Cursor>([
      [clientA, { seq: 2, hash: hashOf(2) }],
      [clientB, { seq: 1, hash: hashOf(1) }],
    ]);
    await idx.commitFetched({ segments: [segment(clientA, 1), segment(clientA, 2), segment(clientB, 1)], cursors });
    expect(await idx.getCursors()).toEqual(cursors);
    expect((await collect(idx.iterateSegments())).length).toBe(3);
    await idx.close();
  });

  it('pins keys on first sight and refuses a different key later', async () => {
    const root = await tempRoot();
    const idx = await LocalIndex.open(root);
    const keyA = 'a'.repeat(64);
    await idx.pinKeys([{ client: clientA, publicKey: keyA, name: 'laptop' }]);
    // Same key again: no-op, the first name is kept.
    await idx.pinKeys([
      { client: clientA, publicKey: keyA, name: 'renamed' },
      { client: clientB, publicKey: 'b'.repeat(64), name: 'desk' },
    ]);
    expect(await idx.getPinnedKeys()).toEqual(
      new Map([
        [clientA, { publicKey: keyA, name: 'laptop' }],
        [clientB, { publicKey: 'b'.repeat(64), name: 'desk' }],
      ]),
    );
    const e = await caught(idx.pinKeys([{ client: clientA, publicKey: 'c'.repeat(64), name: 'laptop' }]));
    expect(e.code).toBe(ErrorCode.keyMismatch);
    expect((await idx.getPinnedKeys()).get(clientA)?.publicKey).toBe(keyA);
    await idx.close();
  });

  it('round-trips manifest entries exactly, with and without copyOf', async () => {
    const root = await tempRoot();
    const idx = await LocalIndex.open(root);
    const plain = entry('docs/a.md', 1);
    const copy = entry('docs/a (conflict).md', 2, { copyOf: { path: sp('docs/a.md'), version: nextId() as VersionId } });
    const gone = entry('old.txt', 3);
    await idx.applyManifest({ put: [plain, copy, gone], del: [] });
    await idx.applyManifest({ put: [], del: [sp('old.txt')] });
    const m = await idx.getManifest();
    expect([...m.keys()].sort()).toEqual(['docs/a (conflict).md', 'docs/a.md']);
    expect(m.get(sp('docs/a.md'))).toStrictEqual(plain);
    expect('copyOf' in (m.get(sp('docs/a.md')) ?? {})).toBe(false);
    expect(m.get(sp('docs/a (conflict).md'))).toStrictEqual(copy);
    const some = await idx.getManifestEntries([sp('docs/a.md'), sp('old.txt'), sp('never.txt')]);
    expect(some).toEqual(new Map([[sp('docs/a.md'), plain]]));
    await idx.close();
  });

  it('refuses a damaged manifest row with a local-io error naming the row', async () => {
    const root = await tempRoot();
    const good = entry('ok.md', 1);
    const damaged: [string, unknown][] = [
      ['no-hash.md', { ...good, path: undefined, hash: 'xyz' }],
      ['neg-size.md', { hash: good.hash, size: -1, mode: 420, mtimeMs: 1, ino: 1, heads: [], version: null }],
      ['bad-head.md', { hash: good.hash, size: 1, mode: 420, mtimeMs: 1, ino: 1, heads: ['nope'], version: null }],
      ['extra.md', { hash: good.hash, size: 1, mode: 420, mtimeMs: 1, ino: 1, heads: [], version: null, evil: true }],
      ['list.md', [1, 2, 3]],
    ];
    for (const [key, row] of damaged) {
      const idx = await LocalIndex.open(root);
      await idx.applyManifest({ put: [good], del: [] });
      await idx.close();
      const db = new Level<string, Uint8Array>(LocalIndex.location(root), { keyEncoding: 'utf8', valueEncoding: 'view' });
      await db
        .sublevel<string, Uint8Array>('manifest', { keyEncoding: 'utf8', valueEncoding: 'view' })
        .put(key, encodeMsgpack(JSON.parse(JSON.stringify(row)) as unknown));
      await db.close();
      const again = await LocalIndex.open(root);
      const err = await again.getManifest().catch((e: unknown) => e);
      await again.close();
      expect(err).toBeInstanceOf(BmError);
      expect((err as BmError).code).toBe(ErrorCode.localIo);
      expect((err as BmError).message).toContain(`manifest row ${key} is damaged`);
      const db2 = new Level<string, Uint8Array>(LocalIndex.location(root), { keyEncoding: 'utf8', valueEncoding: 'view' });
      await db2.sublevel<string, Uint8Array>('manifest', { keyEncoding: 'utf8', valueEncoding: 'view' }).del(key);
      await db2.close();
    }
  });

  it('keeps a large meta value in a side file: read back exactly, replaced and removed with its key; a damaged one is refused', async () => {
    const root = await tempRoot();
    const idx = await LocalIndex.open(root);
    const valuesDir = path.join(root, STATE_DIR, 'index-values');
    const big = { witness: new Uint8Array(600_000).map((_, i) => i % 251), note: 'x' };
    await idx.commitBatch({ meta: { [CLEAN_STATE_KEY]: big, small: 1 } });
    expect(await fs.readdir(valuesDir)).toHaveLength(1);
    const same = (v: unknown, want: typeof big) => {
      const r = v as typeof big;
      return r.note === want.note && Buffer.from(r.witness).equals(Buffer.from(want.witness));
    };
    expect(same(await idx.getMeta(CLEAN_STATE_KEY), big)).toBe(true);
    expect(await idx.getMeta('small')).toBe(1);
    const bigger = { ...big, note: 'y' };
    await idx.commitBatch({ meta: { [CLEAN_STATE_KEY]: bigger } });
    expect(same(await idx.getMeta(CLEAN_STATE_KEY), bigger)).toBe(true);
    expect(await fs.readdir(valuesDir)).toHaveLength(1); // the old one is gone
    // A change that voids the record deletes it, and its file goes with it.
    await idx.commitBatch({ manifestPut: [entry('a.md', 1)] });
    expect(await idx.getMeta(CLEAN_STATE_KEY)).toBeUndefined();
    expect(await fs.readdir(valuesDir)).toEqual([]);
    // Damaged on disk: refused with a clear error, not read as something else.
    await idx.commitBatch({ meta: { [CLEAN_STATE_KEY]: big } });
    const [name] = await fs.readdir(valuesDir);
    await fs.writeFile(path.join(valuesDir, name!), 'tampered');
    await expect(idx.getMeta(CLEAN_STATE_KEY)).rejects.toMatchObject({ code: ErrorCode.localIo });
    await idx.close();
  });

  it('stores a large byte field of a meta value as a file of its own, as it is (given whole or in parts); cleanup keeps what a value still points to', async () => {
    const root = await tempRoot();
    const idx = await LocalIndex.open(root);
    const valuesDir = path.join(root, STATE_DIR, 'index-values');
    const a = new Uint8Array(300_000).map((_, i) => i % 7);
    const b = new Uint8Array(200_000).map((_, i) => i % 13);
    const joined = Buffer.concat([a, b]);
    // In parts: written as the concatenation, read back as one array.
    await idx.commitBatch({ meta: { [CLEAN_STATE_KEY]: { witness: new ByteParts([a, b]), note: 'p' } } });
    const files = await fs.readdir(valuesDir);
    expect(files).toHaveLength(1);
    expect(Buffer.from(await fs.readFile(path.join(valuesDir, files[0]!))).equals(joined)).toBe(true); // the bytes as they are
    const back = (await idx.getMeta(CLEAN_STATE_KEY)) as { witness: Uint8Array; note: string };
    expect(back.note).toBe('p');
    expect(Buffer.from(back.witness).equals(joined)).toBe(true);
    // Small parts stay inline (joined), with no file.
    await idx.commitBatch({ meta: { small: { witness: new ByteParts([a.subarray(0, 10), b.subarray(0, 10)]) } } });
    expect(
      Buffer.from(((await idx.getMeta('small')) as { witness: Uint8Array }).witness).equals(
        Buffer.concat([a.subarray(0, 10), b.subarray(0, 10)]),
      ),
    ).toBe(true);
    expect(await fs.readdir(valuesDir)).toHaveLength(1);
    // A value still too large without its byte field: a file for the value and one for the field, both kept by cleanup.
    const notes = Array.from({ length: 30_000 }, (_, i) => `notice ${i}`);
    await idx.commitBatch({ meta: { [CLEAN_STATE_KEY]: { witness: a, notes } } });
    expect(await fs.readdir(valuesDir)).toHaveLength(2);
    await idx.commitBatch({ meta: { other: 1 } });
    await idx.commitBatch({ meta: { other: undefined } }); // a delete runs the cleanup
    expect(await fs.readdir(valuesDir)).toHaveLength(2);
    const both = (await idx.getMeta(CLEAN_STATE_KEY)) as { witness: Uint8Array; notes: string[] };
    expect(Buffer.from(both.witness).equals(Buffer.from(a))).toBe(true);
    expect(both.notes).toEqual(notes);
    // The field's file damaged: refused, not read as something else.
    for (const name of await fs.readdir(valuesDir))
      if ((await fs.stat(path.join(valuesDir, name))).size === a.byteLength)
        await fs.writeFile(path.join(valuesDir, name), Buffer.alloc(a.byteLength));
    await expect(idx.getMeta(CLEAN_STATE_KEY)).rejects.toMatchObject({ code: ErrorCode.localIo });
    await idx.close();
  });

  it('upgrades a format-1 index (no collection rows yet: lazy syncs off until a full fold writes them) and refuses a newer one', async () => {
    const root = await tempRoot();
    const idx = await LocalIndex.open(root);
    expect(await idx.canReadPathStates()).toBe(true); // a new index has the rows from its first segment
    await idx.close();
    const meta = async (fn: (m: ReturnType<Level<string, Uint8Array>['sublevel']>) => Promise<void>) => {
      const db = new Level<string, Uint8Array>(LocalIndex.location(root), { keyEncoding: 'utf8', valueEncoding: 'view' });
      await fn(db.sublevel<string, Uint8Array>('meta', { keyEncoding: 'utf8', valueEncoding: 'view' }) as never);
      await db.close();
    };
    // As a bm-log before collection rows left it.
    await meta(async (m) => {
      await m.put('index-format', encodeMsgpack(1));
      await m.del('collected-rows');
    });
    const old = await LocalIndex.open(root);
    expect(await old.getMeta('index-format')).toBe(2);
    expect(await old.canReadPathStates()).toBe(false);
    await old.indexCollections(new Map());
    expect(await old.canReadPathStates()).toBe(true);
    await old.close();
    await meta(async (m) => m.put('index-format', encodeMsgpack(3)));
    await expect(LocalIndex.open(root)).rejects.toMatchObject({ code: ErrorCode.unknownVersion });
  });

  it('deletes the clean-state record with every change to manifest, segments, cursors or keys, and keeps it for meta-only writes', async () => {
    const root = await tempRoot();
    const idx = await LocalIndex.open(root);
    const record = { v: 1, marker: 'x' };
    const cases: [string, () => Promise<void>, boolean][] = [
      ['meta only', () => idx.commitBatch({ meta: { lastSyncAt: 'now' } }), true],
      ['manifest put', () => idx.commitBatch({ manifestPut: [entry('a.md', 1)] }), false],
      ['manifest delete', () => idx.commitBatch({ manifestDel: [sp('a.md')] }), false],
      ['cursor', () => idx.commitBatch({ cursors: new Map([[clientA, { seq: 1, hash: hashOf(1) }]]) }), false],
      ['pinned key', () => idx.pinKeys([{ client: clientB, publicKey: generateKeyPair().publicKeyHex, name: 'b' }]), false],
      ['nothing new to pin', () => idx.pinKeys([]), true],
    ];
    for (const [what, write, kept] of cases) {
      await idx.commitBatch({ meta: { [CLEAN_STATE_KEY]: record } });
      await write();
      expect({ what, kept: (await idx.getMeta(CLEAN_STATE_KEY)) !== undefined }).toEqual({ what, kept });
    }
    // A batch that sets the record along with a change keeps the new record.
    await idx.commitBatch({ manifestPut: [entry('b.md', 2)], meta: { [CLEAN_STATE_KEY]: record } });
    expect(await idx.getMeta(CLEAN_STATE_KEY)).toEqual(record);
    await idx.close();
  });

  it('loads a manifest of 10,000 entries in bulk', async () => {
    const root = await tempRoot();
    const idx = await LocalIndex.open(root);
    const entries = Array.from({ length: 10_000 }, (_, i) => entry(`dir${i % 37}/file-${i}.bin`, i));
    await idx.applyManifest({ put: entries, del: [] });
    const m = await idx.getManifest();
    expect(m.size).toBe(10_000);
    expect(m).toEqual(new Map(entries.map((e) => [e.path, e])));
    const picked = await idx.getManifestEntries(entries.slice(4_000, 6_000).map((e) => e.path));
    expect(picked.size).toBe(2_000);
    expect(picked.get(entries[5_000]!.path)).toStrictEqual(entries[5_000]);
    await idx.close();
  });
});

describe('LocalIndex.commitBatch', () => {
  it('makes every sublevel write visible together, and it survives close and reopen', async () => {
    const root = await tempRoot();
    const before = entry('keep-then-delete.txt', 9);
    let idx = await LocalIndex.open(root);
    await idx.applyManifest({ put: [before], del: [] });
    const put = [entry('a.txt', 1), entry('b/c.txt', 2)];
    const cursors = new Map<ClientId, Cursor>([[clientA, { seq: 2, hash: hashOf(22) }]]);
    await idx.commitBatch({
      manifestPut: put,
      manifestDel: [before.path],
      meta: { lastSyncAt: '2026-02-02T00:00:00.000Z', frontier: { [clientA]: 2 } },
      segments: [segment(clientA, 1), segment(clientA, 2)],
      cursors,
    });
    const check = async (i: LocalIndex): Promise<void> => {
      expect(await i.getManifest()).toEqual(new Map(put.map((e) => [e.path, e])));
      expect(await i.getMeta('lastSyncAt')).toBe('2026-02-02T00:00:00.000Z');
      expect(await i.getMeta('frontier')).toEqual({ [clientA]: 2 });
      expect((await collect(i.iterateSegments(clientA))).map((s) => s.seq)).toEqual([1, 2]);
      expect(await i.getCursors()).toEqual(cursors);
    };
    await check(idx);
    await idx.close();
    idx = await LocalIndex.open(root);
    await check(idx);
    await idx.close();
  });

  it('writes nothing when any part of the commit is invalid', async () => {
    const root = await tempRoot();
    const idx = await LocalIndex.open(root);
    const bad = idx.commitBatch({
      manifestPut: [entry('x.txt', 1)],
      meta: { lastSyncAt: 'never' },
      segments: [segment(clientA, 1), { ...segment(clientA, 2), seq: -1 }],
    });
    await expect(bad).rejects.toMatchObject({ code: ErrorCode.internal });
    const both = idx.commitBatch({ manifestPut: [entry('y.txt', 2)], manifestDel: [sp('y.txt')] });
    await expect(both).rejects.toMatchObject({ code: ErrorCode.internal });
    const badCursor = idx.commitBatch({ meta: { lastSyncAt: 'never' }, cursors: new Map([[clientA, { seq: 1, hash: 'nothex' }]]) });
    await expect(badCursor).rejects.toMatchObject({ code: ErrorCode.internal });
    await expect(idx.putMeta('index-format', 99)).rejects.toMatchObject({ code: ErrorCode.internal });
    expect(await idx.getManifest()).toEqual(new Map());
    expect(await idx.getMeta('lastSyncAt')).toBeUndefined();
    expect(await idx.getCursors()).toEqual(new Map());
    expect(await collect(idx.iterateSegments())).toEqual([]);
    await idx.close();
  });
});

/** Runs an ESM snippet in a child node that resolves `level` from this repo. */
function childNode(script: string, args: string[]): { done: Promise<string>; child: ReturnType<typeof spawn> } {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, ...args], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => (out += d));
  const done = new Promise<string>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', () => resolve(out));
  });
  return { done, child };
}

describe('LocalIndex lock', () => {
  it('refuses a second open in the same process with already-running, until the first closes', async () => {
    const root = await tempRoot();
    const first = await LocalIndex.open(root);
    const e = await caught(LocalIndex.open(root));
    expect(e.code).toBe(ErrorCode.alreadyRunning);
    expect(e.message).toBe('another bm-log process is using this folder');
    expect(e.hint).toBe('wait for it to finish (or stop it), then retry');
    expect((e.cause as { code?: string }).code).toBe('LEVEL_DATABASE_NOT_OPEN');
    expect((e.cause as { cause?: { code?: string } }).cause?.code).toBe('LEVEL_LOCKED');
    await first.close();
    const again = await LocalIndex.open(root);
    await again.close();
  });

  it('makes another process fail with LEVEL_DATABASE_NOT_OPEN caused by LEVEL_LOCKED', async () => {
    const root = await tempRoot();
    const idx = await LocalIndex.open(root);
    const script = `
      import { Level } from 'level';
      const db = new Level(process.argv[1], { keyEncoding: 'utf8', valueEncoding: 'view' });
      try { await db.open(); console.log(JSON.stringify({ opened: true })); await db.close(); }
      catch (e) { console.log(JSON.stringify({ code: e.code, cause: e.cause?.code })); }`;
    const out = await childNode(script, [LocalIndex.location(root)]).done;
    expect(JSON.parse(out)).toEqual({ code: 'LEVEL_DATABASE_NOT_OPEN', cause: 'LEVEL_LOCKED' });
    await idx.close();
  });

  it('releaseMappedTables unmaps the table files reads mapped, keeps every row, and leaves no marker', async () => {
    const root = await tempRoot();
    const idx = await LocalIndex.open(root);
    // Enough rows for LevelDB to write table files (it maps those it reads).
    for (let b = 0; b < 8; b++)
      await idx.commitBatch({
        manifestPut: Array.from({ length: 2000 }, (_, i) => entry(`f${b}/${String(i).padStart(5, '0')}.md`, i, { hash: 'ab'.repeat(32) })),
      });
    await idx.close();
    const again = await LocalIndex.open(root); // the reopen wrote the log out as tables
    const mapped = async () =>
      (await fs.readFile('/proc/self/maps', 'utf8')).split('\n').filter((l) => l.includes(LocalIndex.location(root)) && l.endsWith('.ldb'))
        .length;
    const paths = Array.from({ length: 300 }, (_, i) => `f${i % 8}/${String((i * 37) % 2000).padStart(5, '0')}.md` as SyncPath);
    expect((await again.getManifestEntries(paths)).size).toBe(300);
    expect(await mapped()).toBeGreaterThan(0);
    await again.releaseMappedTables();
    expect(await mapped()).toBe(0);
    expect(await fs.readdir(path.join(root, STATE_DIR))).not.toContain('index.reopening');
    // Every sublevel reads and writes as before.
    expect((await again.getManifestEntries(paths)).size).toBe(300);
    await again.commitBatch({ manifestPut: [entry('after.md', 1)] });
    expect((await again.getManifest()).size).toBe(16_001);
    await again.close();
  });

  it('refuses the folder while another live process is reopening its index; a dead or old marker is removed', async () => {
    const root = await tempRoot();
    await (await LocalIndex.open(root)).close();
    const marker = path.join(root, STATE_DIR, 'index.reopening');
    const sleeper = spawn('sleep', ['30']);
    try {
      await fs.writeFile(marker, `${sleeper.pid}\n`);
      expect((await caught(LocalIndex.open(root))).code).toBe(ErrorCode.alreadyRunning);
      // A minute old: a crashed process's, whatever its pid names now.
      const old = new Date(Date.now() - 120_000);
      await fs.utimes(marker, old, old);
      await (await LocalIndex.open(root)).close();
      expect(await fs.readdir(path.join(root, STATE_DIR))).not.toContain('index.reopening');
    } finally {
      sleeper.kill();
    }
    // A dead process's.
    const dead = spawn('true');
    await new Promise((r) => dead.once('exit', r));
    await fs.writeFile(marker, `${dead.pid}\n`);
    await (await LocalIndex.open(root)).close();
    expect(await fs.readdir(path.join(root, STATE_DIR))).not.toContain('index.reopening');
  });

  it('fails with already-running while another process holds the index', async () => {
    const root = await tempRoot();
    // Create the index, then let a child hold it until we close its stdin.
    await (await LocalIndex.open(root)).close();
    const script = `
      import { Level } from 'level';
      const db = new Level(process.argv[1], { keyEncoding: 'utf8', valueEncoding: 'view' });
      await db.open();
      console.log('locked');
      process.stdin.resume();
      process.stdin.on('end', async () => { await db.close(); });`;
    const { child, done } = childNode(script, [LocalIndex.location(root)]);
    await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
    try {
      const e = await caught(LocalIndex.open(root));
      expect(e.code).toBe(ErrorCode.alreadyRunning);
    } finally {
      child.stdin?.end();
      await done;
    }
    await (await LocalIndex.open(root)).close();
  });
});

describe('state dir', () => {
  const config: ClientConfig = {
    v: 1,
    clientId: clientA,
    name: 'laptop',
    vaultId: nextId() as VaultId,
    remote: { url: 's3://bucket/team', endpoint: 'http://127.0.0.1:9000', forcePathStyle: true },
    subscriptions: ['docs/', 'design/assets/'],
    unsubscribed: [],
    createdAt: '2026-01-01T00:00:00.000Z',
  };

  it('writes the config atomically with mode 600 and reads it back', async () => {
    const root = await tempRoot();
    await writeClientConfig(root, config);
    expect(await readClientConfig(root)).toStrictEqual(config);
    const updated: ClientConfig = { ...config, subscriptions: [] };
    await writeClientConfig(root, updated);
    expect(await readClientConfig(root)).toStrictEqual(updated);
    expect((await fs.stat(path.join(root, STATE_DIR, 'config.json'))).mode & 0o777).toBe(0o600);
    expect((await fs.readdir(path.join(root, STATE_DIR))).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('reports a missing config as not-a-client', async () => {
    const root = await tempRoot();
    const e = await caught(readClientConfig(root));
    expect(e.code).toBe(ErrorCode.notAClient);
    expect(e.message).toContain('not a bm-log folder; run `bm-log init --remote URL`');
  });

  it('reports a malformed config as config', async () => {
    const root = await tempRoot();
    await fs.mkdir(path.join(root, STATE_DIR));
    const file = path.join(root, STATE_DIR, 'config.json');
    await fs.writeFile(file, '{ not json');
    expect((await caught(readClientConfig(root))).code).toBe(ErrorCode.config);
    await fs.writeFile(file, JSON.stringify({ ...config, subscriptions: ['docs'] }));
    expect((await caught(readClientConfig(root))).code).toBe(ErrorCode.config);
    await fs.writeFile(file, JSON.stringify({ ...config, v: 2 }));
    expect((await caught(readClientConfig(root))).code).toBe(ErrorCode.config);
    expect((await caught(writeClientConfig(root, { ...config, subscriptions: ['../up/'] }))).code).toBe(ErrorCode.config);
  });

  it('writes the private key create-only, mode 600, in a 700 folder', async () => {
    const root = await tempRoot();
    const pem = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n';
    await writePrivateKey(root, pem);
    expect((await fs.stat(path.join(root, STATE_DIR))).mode & 0o777).toBe(0o700);
    expect((await fs.stat(path.join(root, STATE_DIR, 'identity.key'))).mode & 0o777).toBe(0o600);
    expect(await readPrivateKey(root)).toEqual({ pem });
    const e = await caught(writePrivateKey(root, 'other'));
    expect(e.code).toBe(ErrorCode.config);
    expect((await readPrivateKey(root)).pem).toBe(pem);
  });

  it('fixes a key file that others can read back to 600 and says so', async () => {
    const root = await tempRoot();
    await writePrivateKey(root, 'pem');
    const file = path.join(root, STATE_DIR, 'identity.key');
    await fs.chmod(file, 0o644);
    const r = await readPrivateKey(root);
    expect(r.pem).toBe('pem');
    expect(r.notice).toContain('changed it to 600');
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect(await readPrivateKey(root)).toEqual({ pem: 'pem' });
  });

  it('reports a missing key file as config', async () => {
    const root = await tempRoot();
    expect((await caught(readPrivateKey(root))).code).toBe(ErrorCode.config);
  });

  it('finds the client root from a nested folder, and nothing outside one', async () => {
    const root = await tempRoot();
    await writeClientConfig(root, config);
    const nested = path.join(root, 'a', 'b', 'c');
    await fs.mkdir(nested, { recursive: true });
    expect(await findClientRoot(nested)).toBe(root);
    expect(await findClientRoot(root)).toBe(root);
    // A .bm-log folder without config.json (e.g. only an index) is not a client root.
    const other = await tempRoot();
    await fs.mkdir(path.join(other, STATE_DIR));
    expect(await findClientRoot(path.join(other))).toBeUndefined();
  });
});
