import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTrustedSegment } from '../../src/events/codec.js';
import { BLOBS_PREFIX, keyOfBlob, PACKS_PREFIX } from '../../src/events/layout.js';
import type { ContentRef } from '../../src/events/schema.js';
import { readContent } from '../../src/events/packs.js';
import { collectChunks } from '../../src/events/store/lent-chunks.js';
import { listAll } from '../../src/events/store/object-store.js';
import { S3Store } from '../../src/events/store/s3-store.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { runSync, type SyncReport } from '../../src/reconcile/run-sync.js';
import { readSessionFallback } from '../../src/reconcile/snapshot-reads.js';
import { createClock, createSimClient, syncContextOf, type SimClient } from '../sim/sim-client.js';
import { localCredentials, startLocalS3, type LocalS3Server } from '../support/s3-server.js';
import { startTigrisEmulation, type TigrisEmulation } from '../support/tigris-emulation.js';

/*
 * Contents read back from bucket snapshots (ADR-0034 §4, issue 25) on the real engine over a
 * real S3 server (fauxqs in process) behind the Tigris header emulation
 * (test/support/tigris-emulation.ts: snapshots taken by CreateBucket with X-Tigris-Snapshot,
 * read by GetObject with X-Tigris-Snapshot-Version). A pack or blob a sync had seen is deleted
 * from the live bucket; the sync, a restore and a session read still get its bytes from the
 * snapshot, checked against the hash. Packs are on, as the CLI runs.
 */
const bucket = 'bm-log-snapreads';
let server: LocalS3Server;
let em: TigrisEmulation;
let n = 0;

beforeAll(async () => {
  server = await startLocalS3();
  em = await startTigrisEmulation(server.endpoint);
});
afterAll(async () => {
  await em?.stop();
  await server?.stop();
});

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));
const big = (tag: string) => enc(`${tag}\n${'large file line\n'.repeat(20_000)}`); // 320 KB: a blob of its own

/** A vault under its own prefix, with clients, syncing through the emulation (snapshots on). */
async function world(names: readonly string[]) {
  const options = (endpoint: string) =>
    ({ bucket, prefix: `v${++n}/`, endpoint, region: 'us-east-1', forcePathStyle: true, credentials: localCredentials }) as const;
  const prefix = `v${n + 1}/`;
  const store = new S3Store({ ...options(em.endpoint), tigris: true });
  // The live bucket as the server holds it, to delete from behind bm-log's back.
  const live = new S3Store({ ...options(server.endpoint), prefix });
  const snapshots = store.snapshotPort()!;
  const clock = createClock();
  const clients: SimClient[] = [];
  for (const [i, name] of names.entries()) clients.push(await createSimClient(store, name, `01SR${'ABCDEFGH'[i]}`, clock));
  const ctxOf = (c: SimClient) => ({ ...syncContextOf(c, { store, now: clock.now }), snapshots, packs: true });
  const sync = (c: SimClient, options = {}) => runSync(ctxOf(c), options) as Promise<SyncReport>;
  const deleteAll = async (prefixes: readonly string[]) => {
    for (const p of prefixes) for (const o of await listAll(live, p)) await live.delete(o.key);
  };
  return { store, live, snapshots, clients, sync, ctxOf, deleteAll };
}

beforeAll(async () => {
  // The bucket is created snapshot-enabled, as `X-Tigris-Enable-Snapshot: true` does on Tigris.
  const res = await fetch(`${em.endpoint}/${bucket}`, { method: 'PUT', headers: { 'x-tigris-enable-snapshot': 'true' } });
  expect(res.ok).toBe(true);
});

describe('contents gone from the live bucket are read back from the snapshot synced against (ADR-0034)', () => {
  it('a download whose pack and blob vanished after the fetch took its snapshot gets the bytes from it', { timeout: 60_000 }, async () => {
    const w = await world(['alice', 'bob']);
    const [alice, bob] = w.clients as [SimClient, SimClient];
    alice.tree.userWrite('a.md', enc('note a'));
    alice.tree.userWrite('d/b.md', enc('note b'));
    alice.tree.userWrite('big.bin', big('alice'));
    expect((await w.sync(alice)).skipped).toEqual([]);
    const packs = (await listAll(w.live, PACKS_PREFIX)).length; // the sim's tiny chunks: one pack per chunk
    expect(packs).toBeGreaterThan(0);
    // Bob's fetch reads alice's segment, then takes its baseline; right then the objects vanish.
    let deleted = false;
    em.onSnapshot = async () => {
      if (deleted) return;
      deleted = true;
      await w.deleteAll([PACKS_PREFIX, BLOBS_PREFIX]);
    };
    const reads = em.counts.snapshotReads;
    try {
      const r = await w.sync(bob);
      expect(deleted).toBe(true);
      expect(r.skipped).toEqual([]);
    } finally {
      em.onSnapshot = undefined;
    }
    expect(await listAll(w.live, PACKS_PREFIX)).toEqual([]);
    expect(em.counts.snapshotReads - reads).toBe(packs + 1); // each pack once for its entries, the blob once
    expect(dec(bob.tree.files.get('a.md')?.bytes)).toBe('note a');
    expect(dec(bob.tree.files.get('d/b.md')?.bytes)).toBe('note b');
    expect(bob.tree.files.get('big.bin')?.hash).toBe(alice.tree.files.get('big.bin')?.hash);
  });

  it('no snapshot holds it: the download is skipped as blob-missing, saying the bytes are lost and what to do', {
    timeout: 60_000,
  }, async () => {
    const w = await world(['alice', 'bob']);
    const [alice, bob] = w.clients as [SimClient, SimClient];
    alice.tree.userWrite('a.md', enc('lost note'));
    await w.sync(alice);
    await w.deleteAll([PACKS_PREFIX]); // before bob ever synced: his baseline never held it
    const r = await w.sync(bob);
    expect(r.skipped).toHaveLength(1);
    expect(r.skipped[0]).toMatchObject({ path: 'a.md', code: 'blob-missing' });
    expect(r.skipped[0]!.detail).toMatch(/nor in bucket snapshots \d+: the bytes of this version .* are lost/);
    expect(r.skipped[0]!.detail).toMatch(/If a machine still has the file, sync there/);
    expect(bob.tree.files.has('a.md')).toBe(false);
  });

  it('a session read (show, restore --to) uses the held baseline; a restore writes the content back as a blob', {
    timeout: 60_000,
  }, async () => {
    const w = await world(['alice', 'bob', 'carol']);
    const [alice, bob, carol] = w.clients as [SimClient, SimClient, SimClient];
    alice.tree.userWrite('n.md', enc('first words'));
    await w.sync(alice);
    await w.sync(bob); // bob's baseline holds alice's pack; his edit records it
    bob.tree.userWrite('n.md', enc('second words'));
    await w.sync(bob);
    await w.sync(alice);
    const first = (await putsOf(w, alice)).find((e) => e.path === 'n.md')!;
    expect(first.content.pack).toBeDefined();
    // Alice's pack (and so the first version's bytes) vanishes from the live bucket.
    await w.live.delete(`${PACKS_PREFIX}${first.content.pack!.client}/${first.content.pack!.id}`);
    await expect(readContent(w.store, first.content)).rejects.toMatchObject({ code: 'blob-missing' });
    // show: bob's held baseline (taken by the fetch that brought alice's note) still has it.
    const shown = await readContent(w.store, first.content, undefined, await readSessionFallback({ index: bob.index, ctx: w.ctxOf(bob) }));
    expect(dec(await collectChunks(shown))).toBe('first words');
    // restore by carol, who never synced before: her baseline lacks it, bob's recorded snapshot holds it.
    const r = await w.sync(carol, { restore: [{ path: 'n.md' as SyncPath, content: first.content }] });
    expect(r.skipped).toEqual([]);
    expect(dec(carol.tree.files.get('n.md')?.bytes)).toBe('first words');
    await w.sync(alice);
    expect(dec(alice.tree.files.get('n.md')?.bytes)).toBe('first words');
    const restored = (await putsOf(w, carol)).filter((e) => e.path === 'n.md');
    expect(restored).toHaveLength(1);
    expect(restored[0]!.content).toEqual({ hash: first.content.hash, size: first.content.size, mode: first.content.mode }); // a blob of its own
    expect(await w.live.head(keyOfBlob(first.content.hash))).toBeDefined();
  });
});

/** The puts `c` published, from its segments in the live bucket. */
async function putsOf(w: Awaited<ReturnType<typeof world>>, c: SimClient) {
  const out: { path: string; content: ContentRef }[] = [];
  for (const { key } of await listAll(w.live, `log/${c.id}/`)) {
    for (const e of decodeTrustedSegment((await w.live.get(key))!).events)
      if (e.type === 'put') out.push({ path: e.path, content: e.content });
  }
  return out;
}
