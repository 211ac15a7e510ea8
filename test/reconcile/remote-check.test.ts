import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMsgpack } from '../../src/events/codec.js';
import type { ContentHash } from '../../src/events/ids.js';
import { keyOfBlob, keyOfIdentity, keyOfSegment, VAULT_KEY } from '../../src/events/layout.js';
import { sha256Hex } from '../../src/events/signing.js';
import { MemoryStore } from '../../src/events/store/memory-store.js';
import { bytesEqual } from '../../src/events/store/object-store.js';
import { executeGc } from '../../src/gc/execute-gc.js';
import { runSync, type SyncReport } from '../../src/reconcile/run-sync.js';
import { EMPTY_PINS, MAX_OWN_ABSENT, planRemoteCheck, type RemoteCheckInput } from '../../src/reconcile/remote-check.js';
import { executeBlobRepair, planBlobRepair } from '../../src/reconcile/repair-blobs.js';
import { readLogState, publishOwnSegment, executeFetchLog } from '../../src/reconcile/sync-log.js';
import { createClock, createSimClient, syncContextOf, type SimClient } from '../support/test-world.js';

// ADR-0015 on the real engine with in-memory parts: what a fetch checks, what it puts back,
// what it reports, and what it costs. The end-to-end cases are test/cli/vanished-objects.e2e.test.ts.

const enc = (s: string) => new TextEncoder().encode(s);

async function world(names: readonly string[] = ['alice', 'bob']) {
  const store = new MemoryStore();
  const clock = createClock();
  const clients: SimClient[] = [];
  for (const [i, n] of names.entries()) clients.push(await createSimClient(store, n, `01RC${'ABCDEFGH'[i]}`, clock));
  const sync = (c: SimClient) => runSync(syncContextOf(c, { store, now: clock.now }));
  return { store, clock, clients, sync };
}

/** The public key an identity object publishes. */
function publishedKey(bytes: Uint8Array): string {
  const env = decodeMsgpack(bytes, 'identity') as { body: Uint8Array };
  return (decodeMsgpack(env.body, 'identity') as { publicKey: string }).publicKey;
}

describe('planRemoteCheck (pure)', () => {
  const listed = (key: string, tag: string, size = 10) => ({ key, size, tag });
  const base = (over: Partial<RemoteCheckInput>): RemoteCheckInput => ({
    self: 'S',
    pinned: new Set(['S', 'B']),
    newKeys: new Set(),
    listedKeys: [listed('keys/S', 's1'), listed('keys/B', 'b1')],
    listedLogs: new Map([
      ['S', [listed(keyOfSegment('S', 3), 't3')]],
      ['B', [listed(keyOfSegment('B', 5), 'u5')]],
    ]),
    before: new Map([
      ['S', { seq: 3, hash: 'h' }],
      ['B', { seq: 5, hash: 'h' }],
    ]),
    after: new Map([
      ['S', { seq: 3, hash: 'h' }],
      ['B', { seq: 5, hash: 'h' }],
    ]),
    audited: { after: 2, through: 3, complete: true },
    pins: { ...EMPTY_PINS, tags: { 'keys/S': 's1', 'keys/B': 'b1', [keyOfSegment('S', 3)]: 't3', [keyOfSegment('B', 5)]: 'u5' } },
    ...over,
  });

  it('finds nothing to do when every listing shows the pinned tags: no request', () => {
    const plan = planRemoteCheck(base({}));
    expect(plan).toEqual({ absent: [], changed: [], unpinned: [], tags: base({}).pins.tags });
  });

  it('a key or a tail the listing misses is absent; a changed tag is read again; a new tail is pinned as fetched', () => {
    const plan = planRemoteCheck(
      base({
        listedKeys: [listed('keys/B', 'b2')],
        listedLogs: new Map([
          ['S', []],
          ['B', [listed(keyOfSegment('B', 5), 'u5'), listed(keyOfSegment('B', 6), 'u6')]],
        ]),
        after: new Map([
          ['S', { seq: 3, hash: 'h' }],
          ['B', { seq: 6, hash: 'h' }],
        ]),
      }),
    );
    expect(plan.absent).toEqual([
      { kind: 'key', client: 'S' },
      { kind: 'segment', client: 'S', seq: 3 },
    ]);
    expect(plan.changed).toEqual([{ kind: 'key', client: 'B', tag: 'b2' }]);
    expect(plan.tags[keyOfSegment('B', 6)]).toBe('u6');
    expect(plan.tags[keyOfSegment('B', 5)]).toBeUndefined(); // the old tail's pin goes
  });

  it('the own audit window: every seq in it the listing misses is absent', () => {
    const plan = planRemoteCheck(
      base({
        listedLogs: new Map([
          ['S', [listed(keyOfSegment('S', 1), 'x'), listed(keyOfSegment('S', 3), 't3')]],
          ['B', [listed(keyOfSegment('B', 5), 'u5')]],
        ]),
        audited: { after: 0, through: 3, complete: true },
      }),
    );
    expect(plan.absent).toEqual([{ kind: 'segment', client: 'S', seq: 2 }]);
  });

  it('a listing that shows little of a long own window: at most MAX_OWN_ABSENT seqs (and the tail) are confirmed, then the rest', () => {
    const plan = planRemoteCheck(
      base({
        listedLogs: new Map([
          ['S', []],
          ['B', [listed(keyOfSegment('B', 5), 'u5')]],
        ]),
        before: new Map([
          ['S', { seq: 300, hash: 'h' }],
          ['B', { seq: 5, hash: 'h' }],
        ]),
        audited: { after: 0, through: 300, complete: true },
      }),
    );
    const own = plan.absent.filter((a) => a.kind === 'segment' && a.client === 'S').map((a) => (a.kind === 'segment' ? a.seq : 0));
    expect(own).toEqual([...Array.from({ length: MAX_OWN_ABSENT }, (_, i) => i + 1), 300]);
    expect(plan.deferredFrom).toBe(MAX_OWN_ABSENT + 1);
  });

  it('a tail with no pin yet is compared by size; a key with no pin is read once', () => {
    const plan = planRemoteCheck(base({ pins: EMPTY_PINS }));
    expect(plan.unpinned.map((u) => u.seq)).toEqual([3, 5]);
    expect(plan.changed.map((c) => c.client).sort()).toEqual(['B', 'S']);
  });
});

describe('a fetch puts back its own vanished objects and reports others (in process)', () => {
  it('a no-op sync costs 1 + clients + 2 requests (keys listing, one listing per log, the own-log probe, the vault marker)', async () => {
    const { store, clients, sync } = await world();
    const [alice, bob] = clients as [SimClient, SimClient];
    alice.tree.userWrite('a.md', enc('a'));
    await sync(alice);
    await sync(bob);
    await sync(alice);
    await sync(alice); // pins settled
    const before = { ...store.stats };
    const r = await sync(alice);
    expect(r.clean).toBe(true);
    expect(store.stats.lists - before.lists).toBe(1 + 2);
    expect(store.stats.heads - before.heads).toBe(1);
    expect(store.stats.gets - before.gets).toBe(1);
    expect(store.stats.puts - before.puts).toBe(0);
    expect(r.fetchRequests).toBe(1 + 2 + 2);
  });

  it("another client's tail replaced by bytes of the same size: a fault at every sync until the right bytes are back", async () => {
    const { store, clients, sync } = await world();
    const [alice, bob] = clients as [SimClient, SimClient];
    alice.tree.userWrite('a.md', enc('a'));
    await sync(alice);
    await sync(bob);
    await sync(bob); // bob's pins settled (alice's tail pinned as fetched)
    const tail = [...store.objects.keys()]
      .filter((k) => k.startsWith(`log/${alice.id}/`))
      .sort()
      .at(-1)!;
    const good = store.objects.get(tail)!;
    const flipped = Uint8Array.from(good);
    flipped[flipped.length >> 1]! ^= 0x01;
    store.objects.set(tail, flipped);
    for (let i = 0; i < 2; i++) {
      const r = await sync(bob);
      expect(r.faults.map((f) => f.key)).toEqual([tail]);
      expect(r.faults[0]!.error.message).toMatch(/replaced/);
    }
    store.objects.set(tail, good);
    expect((await sync(bob)).faults).toEqual([]);
  });

  it('an own log of 2,500 segments: each no-op costs at most one more listing, and a vanished old segment is put back within 3 syncs', async () => {
    const { store, clock, clients, sync } = await world(['alice']);
    const [alice] = clients as [SimClient];
    await sync(alice);
    const ctx = syncContextOf(alice, { store, now: clock.now });
    const log = await executeFetchLog(ctx, { dryRun: false });
    for (let i = 0; i < 2500; i++) await publishOwnSegment(ctx, log, [], null);
    await sync(alice);
    const key = keyOfSegment(alice.id, 10);
    const bytes = store.objects.get(key)!;
    store.objects.delete(key);
    const restoredAt: number[] = [];
    for (let i = 1; i <= 4; i++) {
      const before = store.stats.lists;
      const r = await sync(alice);
      expect(store.stats.lists - before).toBeLessThanOrEqual(1 + 1 + 1);
      if (r.restored.includes(key)) restoredAt.push(i);
    }
    expect(restoredAt).toHaveLength(1);
    expect(restoredAt[0]).toBeLessThanOrEqual(3);
    expect(bytesEqual(store.objects.get(key)!, bytes)).toBe(true);
  });

  const subsetProperty =
    'property: for any subset of the vault marker, keys and segments deleted, the first sync refuses exactly when the remote looks empty ' +
    '(writing nothing); otherwise the first sync of each owner puts its own back exactly, ' +
    'every fault names a deleted object, and the next round is clean and converged';
  it(subsetProperty, async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.infiniteStream(fc.boolean()), fc.boolean(), async (rounds, picks, bobFirst) => {
        const { store, clients, sync } = await world(['alice', 'bob', 'carol']);
        for (let r = 0; r < rounds; r++) {
          for (const c of clients) {
            c.tree.userWrite(`${c.name}/${r}.md`, enc(`${c.name} ${r}`));
            await sync(c);
          }
        }
        for (const c of clients) await sync(c); // everyone has fetched and pinned everything
        const originals = new Map([...store.objects].filter(([k]) => !k.startsWith('blobs/')));
        const keys = [...originals.keys()].sort();
        const it = picks[Symbol.iterator]();
        const deleted = new Set(keys.filter(() => it.next().value === true));
        for (const k of deleted) store.objects.delete(k);
        const order = bobFirst ? [clients[1]!, clients[0]!, clients[2]!] : clients;
        const ownerOf = (k: string) => clients.find((c) => k === keyOfIdentity(c.id) || k.startsWith(`log/${c.id}/`));
        // ADR-0015 §5: the vault marker gone with every other client's key and log tail, the remote
        // looks empty (not mounted): the first client refuses, and writes nothing.
        const tailOf = (c: SimClient) => keys.filter((k) => k.startsWith(`log/${c.id}/`)).at(-1)!;
        const others = clients.filter((c) => c !== order[0]);
        const looksEmpty = deleted.has(VAULT_KEY) && others.every((c) => deleted.has(keyOfIdentity(c.id)) && deleted.has(tailOf(c)));
        if (looksEmpty) {
          const before = new Map(store.objects);
          await expect(sync(order[0]!)).rejects.toThrow(/looks empty: is it mounted\?/);
          expect(new Map(store.objects)).toEqual(before);
          return;
        }
        let vaultBack = !deleted.has(VAULT_KEY);
        for (const c of order) {
          const report = await sync(c);
          for (const f of report.faults) expect(deleted.has(f.key), `${c.name} reports ${f.key}: ${f.error.message}`).toBe(true);
          vaultBack ||= report.restored.includes(VAULT_KEY);
          for (const k of deleted) {
            if (ownerOf(k) !== c) continue;
            const now = store.objects.get(k);
            expect(now, `${c.name} puts back ${k}`).toBeDefined();
            if (k.startsWith('keys/')) expect(publishedKey(now!)).toBe(publishedKey(originals.get(k)!));
            else expect(bytesEqual(now!, originals.get(k)!), k).toBe(true);
          }
        }
        expect(vaultBack).toBe(true);
        expect(bytesEqual(store.objects.get(VAULT_KEY)!, originals.get(VAULT_KEY)!)).toBe(true);
        const second: SyncReport[] = [];
        for (const c of clients) second.push(await sync(c));
        for (const r of second) expect(r.faults).toEqual([]);
        const trees = clients.map((c) => JSON.stringify([...c.tree.files].map(([p, f]) => [p, f.hash]).sort()));
        expect(new Set(trees).size).toBe(1);
      }),
      { numRuns: 25 },
    );
  }, 120_000);
});

describe('blobs: verify --repair (planBlobRepair, executeBlobRepair)', () => {
  const blobProperty =
    'property: for any subset of own blobs deleted and any subset of files edited since, exactly those still held are put back byte for byte; ' +
    'the rest are reported lost';
  it(blobProperty, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.boolean(), fc.boolean()), { minLength: 1, maxLength: 8 }), async (choices) => {
        const { store, clients, sync } = await world(['alice']);
        const [alice] = clients as [SimClient];
        const texts = choices.map((_, i) => `content ${i}`);
        for (const [i, t] of texts.entries()) alice.tree.userWrite(`f${i}.md`, enc(t));
        await sync(alice);
        const before = new Map(store.objects);
        const missing: ContentHash[] = [];
        for (const [i, [del, edited]] of choices.entries()) {
          const h = sha256Hex(enc(texts[i]!)) as ContentHash;
          if (del) {
            store.objects.delete(keyOfBlob(h));
            missing.push(h);
          }
          if (edited) alice.tree.userWrite(`f${i}.md`, enc(`edited since ${i}`));
        }
        const { state } = await readLogState(alice.index);
        const plan = planBlobRepair(missing, state, await alice.index.getManifest());
        const done = await executeBlobRepair(store, alice.tree, plan);
        for (const [i, [del, edited]] of choices.entries()) {
          const key = keyOfBlob(sha256Hex(enc(texts[i]!)));
          if (!del) continue;
          if (edited) {
            expect(store.objects.has(key)).toBe(false);
            expect(done.failed).toContain(sha256Hex(enc(texts[i]!)));
          } else {
            expect(bytesEqual(store.objects.get(key)!, before.get(key)!)).toBe(true);
            expect(done.repaired).toContain(key);
          }
        }
        // Nothing else was written.
        expect([...store.objects.keys()].filter((k) => !before.has(k))).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });

  it('a blob a GC condemned is never put back, even when a returning client still has the file', async () => {
    const { store, clock, clients, sync } = await world(['alice', 'bob', 'dave']);
    const [alice, bob, dave] = clients as [SimClient, SimClient, SimClient];
    alice.tree.userWrite('doomed.md', enc('doomed bytes'));
    alice.tree.userWrite('keep.md', enc('keep'));
    await sync(alice);
    await sync(bob);
    await sync(dave);
    await sync(alice);
    alice.tree.userDelete('doomed.md');
    await sync(alice);
    await sync(bob);
    await sync(alice);
    const gcCtx = { ...syncContextOf(alice, { store, now: clock.now }), joinFromCheckpoint: false };
    await runSync(gcCtx, {}); // acknowledgements settled
    // Dave has not acknowledged the delete: retire him so that the path and its blob can go.
    const { executeRetire } = await import('../../src/gc/retire-client.js');
    await executeRetire(gcCtx, 'dave');
    await executeGc(gcCtx, { retentionMs: 0, graceMs: 3_600_000, checkpoint: false });
    const hash = sha256Hex(enc('doomed bytes')) as ContentHash;
    // A GC run that deleted it and died before recording the deletion.
    store.objects.delete(keyOfBlob(hash));
    const daveLog = await executeFetchLog(syncContextOf(dave, { store, now: clock.now }), { dryRun: true });
    expect(daveLog.state.vault.condemnations.has(hash)).toBe(true);
    expect(dave.tree.files.has('doomed.md')).toBe(true);
    const plan = planBlobRepair([hash], daveLog.state, await dave.index.getManifest());
    expect(plan).toEqual([{ hash, kind: 'condemned' }]);
    const done = await executeBlobRepair(store, dave.tree, plan);
    expect(done).toEqual({ repaired: [], failed: [] });
    expect(store.objects.has(keyOfBlob(hash))).toBe(false);
  });
});
