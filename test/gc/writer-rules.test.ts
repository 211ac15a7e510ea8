import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { decodeTrustedSegment } from '../../src/events/codec.js';
import { keyOfBlob } from '../../src/events/layout.js';
import { computeEventContent } from '../../src/events/schema.js';
import { sha256Hex } from '../../src/events/signing.js';
import { MemoryStore } from '../../src/events/store/memory-store.js';
import type { ObjectStore } from '../../src/events/store/object-store.js';
import { executeGc } from '../../src/gc/execute-gc.js';
import { runSync } from '../../src/reconcile/run-sync.js';
import { BEING_COLLECTED } from '../../src/reconcile/sync-log.js';
import { createClock, createSimClient, syncContextOf, type SimClient } from '../support/test-world.js';
import { createLatch, HookStore } from './support/hook-store.js';

// The writer and deleter rules of ADR-0007, each in the race it exists for, on the real
// engine and GC. Grace 1000 ms: writers publish within 500 ms of their fetch.

const GRACE = 1000;
const enc = (s: string) => new TextEncoder().encode(s);
const B = 'collected bytes';
const hashB = sha256Hex(B);

async function world() {
  const store = new MemoryStore();
  let now = 1_800_000_000_000;
  const clock = { now: () => new Date(now), advance: (ms: number) => void (now += ms) };
  const setup = createClock(now);
  const alice = await createSimClient(store, 'alice', '01WRA', setup);
  const runner = await createSimClient(store, 'gc', '01WRG', setup);
  const runner2 = await createSimClient(store, 'gc2', '01WRH', setup);
  const ctx = (c: SimClient, s: ObjectStore = store) => ({
    ...syncContextOf(c, { store: s, now: clock.now }),
    publishDeadlineMs: GRACE / 2,
  });
  const sync = (c: SimClient, s: ObjectStore = store) => runSync(ctx(c, s));
  const gc = (c: SimClient, s: ObjectStore = store) => executeGc(ctx(c, s), { retentionMs: 0, graceMs: GRACE, checkpoint: false });
  // Content B is on the remote and no version needs it (left by a sync that died before publishing).
  await store.putIfAbsent(keyOfBlob(hashB), enc(B));
  for (const c of [alice, runner, runner2]) await sync(c);
  /** Every event in the store names a blob that is there. */
  const dangling = () => {
    const out: string[] = [];
    for (const [key, bytes] of store.objects) {
      if (!key.startsWith('log/')) continue;
      for (const e of decodeTrustedSegment(bytes).events) {
        const c = computeEventContent(e);
        if (c && !store.objects.has(keyOfBlob(c.hash))) out.push(`${key} names missing ${c.hash}`);
      }
    }
    return out;
  };
  const namesB = () =>
    [...store.objects].some(
      ([k, bytes]) => k.startsWith('log/') && decodeTrustedSegment(bytes).events.some((e) => computeEventContent(e)?.hash === hashB),
    );
  return { store, clock, alice, runner, runner2, sync, gc, dangling, namesB };
}

describe('writer rules against a GC collecting the same bytes', () => {
  it('(i) a writer that found the blob (HEAD or create-only write) but is held up past its deadline does not publish', async () => {
    const w = await world();
    w.alice.tree.userWrite('x.md', enc(B));
    let raced = false;
    const held = new HookStore(
      w.store,
      () => undefined,
      async (op, key) => {
        // A small blob is found by the create-only write (it answers 'identical'), a large one by HEAD.
        if ((op !== 'head' && op !== 'put') || key !== keyOfBlob(hashB) || raced) return;
        raced = true;
        // Found it. Meanwhile a GC condemns it, the grace passes, another run deletes it.
        await w.gc(w.runner);
        w.clock.advance(GRACE);
        const r = await w.gc(w.runner2);
        expect(r.passes[0]!.deleted).toEqual([hashB]);
      },
    );
    await expect(w.sync(w.alice, held)).rejects.toMatchObject({ code: ErrorCode.staleFetch });
    expect(raced).toBe(true);
    expect(w.dangling()).toEqual([]);
    // Next sync: the deletion is recorded but young: still banned, not uploaded.
    const r1 = await w.sync(w.alice);
    expect(r1.skipped).toEqual([expect.objectContaining({ path: 'x.md', detail: BEING_COLLECTED })]);
    expect(w.namesB()).toBe(false);
    // Once the record is older than the grace, the bytes go up again and are named.
    w.clock.advance(GRACE + 1);
    const r2 = await w.sync(w.alice);
    expect(r2.eventsPublished).toBe(1);
    expect(w.store.objects.has(keyOfBlob(hashB))).toBe(true);
    expect(w.dangling()).toEqual([]);
  });

  it('(ii) content condemned more than grace/2 ago is not named; younger than that it is, and that saves it', async () => {
    const w = await world();
    await w.gc(w.runner); // condemns B
    w.clock.advance(GRACE / 2 + 1);
    w.alice.tree.userWrite('x.md', enc(B));
    const r = await w.sync(w.alice);
    expect(r.skipped.map((s) => s.detail)).toEqual([BEING_COLLECTED]);
    expect(r.notices).toContainEqual(expect.objectContaining({ path: 'x.md', reason: 'being-collected' }));
    expect(w.namesB()).toBe(false);

    const v = await world();
    await v.gc(v.runner);
    v.clock.advance(GRACE / 2);
    v.alice.tree.userWrite('x.md', enc(B));
    expect((await v.sync(v.alice)).eventsPublished).toBe(1);
    // The event voids the condemnation: the run after the grace keeps the blob.
    v.clock.advance(GRACE);
    const after = await v.gc(v.runner2);
    expect(after.passes[0]!.plan.delete).toEqual([]);
    expect(v.store.objects.has(keyOfBlob(hashB))).toBe(true);
  });

  it('a deleter past its deadline leaves the blob; a writer waits a whole grace after the deletion record', async () => {
    for (const writerWaits of [GRACE + 1, 10]) {
      const w = await world();
      await w.gc(w.runner); // condemns B at t0
      w.clock.advance(GRACE);
      // A second runner fetches (B due), then stalls before it lists the blobs and deletes ...
      const stall = createLatch();
      const reached = createLatch();
      const slow = new HookStore(w.store, async (op, key) => {
        if (op !== 'list' || key !== 'blobs/') return;
        reached.open();
        await stall.promise;
      });
      const late = w.gc(w.runner2, slow);
      await reached.promise;
      // ... while the first deletes B and records it.
      expect((await w.gc(w.runner)).passes[0]!.deleted).toEqual([hashB]);
      w.clock.advance(writerWaits);
      w.alice.tree.userWrite('x.md', enc(B));
      const r = await w.sync(w.alice);
      if (writerWaits > GRACE)
        expect(r.eventsPublished).toBe(1); // uploaded again and named
      else expect(r.skipped.map((s) => s.detail)).toEqual([BEING_COLLECTED]);
      stall.open();
      const lateReport = await late;
      if (writerWaits > GRACE) {
        // The stalled run is past its deadline (grace/2 after its fetch): it deletes nothing.
        expect(lateReport.passes[0]!.deleted).toEqual([]);
        expect(lateReport.passes[0]!.lateDeletes).toEqual([hashB]);
      } else {
        // Still inside its deadline, it deletes (B is gone already): that is why the writer had to wait.
        expect(lateReport.passes[0]!.deleted).toEqual([hashB]);
      }
      expect(w.dangling()).toEqual([]);
    }
  });
});
