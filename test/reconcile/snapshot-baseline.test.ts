import { describe, expect, it } from 'vitest';
import { decodeTrustedSegment } from '../../src/events/codec.js';
import type { ContentHash } from '../../src/events/ids.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { keyOfBlob, parseSegmentKey } from '../../src/events/layout.js';
import { sha256Hex } from '../../src/events/signing.js';
import { MemoryStore } from '../../src/events/store/memory-store.js';
import { MemorySnapshots } from '../support/memory-snapshots.js';
import { bytesEqual } from '../../src/events/store/object-store.js';
import { executeRetire } from '../../src/gc/retire-client.js';
import { runSync } from '../../src/reconcile/run-sync.js';
import { planBaseline, readHeldBaseline } from '../../src/reconcile/snapshot-baseline.js';
import { createClock, createSimClient, syncContextOf, type SimClient } from '../support/test-world.js';

// ADR-0034 on the real engine with in-memory parts, the snapshots included: MemorySnapshots is
// the snapshot port over the memory store (each snapshot copies its map), NOT an emulation of
// Tigris. That the S3 store speaks Tigris's headers right is not shown here (no Tigris to test
// against: see the skipped case in test/events/store/s3-store.test.ts).

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

async function world(names: readonly string[], withSnapshots = true) {
  const store = new MemoryStore();
  const snaps = new MemorySnapshots(store);
  const clock = createClock();
  const clients: SimClient[] = [];
  for (const [i, n] of names.entries()) clients.push(await createSimClient(store, n, `01SB${'ABCDEFGH'[i]}`, clock));
  const ctxOf = (c: SimClient) => ({ ...syncContextOf(c, { store, now: clock.now }), ...(withSnapshots ? { snapshots: snaps } : {}) });
  const sync = (c: SimClient, options = {}) => runSync(ctxOf(c), options);
  /** The snapshot each segment of `c`'s log records, by seq. */
  const recorded = (c: SimClient) =>
    [...store.objects]
      .filter(([k]) => k.startsWith(`log/${c.id}/`))
      .map(([k, v]) => [parseSegmentKey(c.id, k)!, decodeTrustedSegment(v).snapshot] as const)
      .sort((a, b) => a[0] - b[0]);
  return { store, snaps, clients, sync, ctxOf, recorded };
}

describe('the snapshot a segment records is the baseline of its fetch (ADR-0034)', () => {
  it('taken after the fetch: it holds what the writer fetched, never what it uploaded after', async () => {
    const { store, snaps, clients, sync, recorded } = await world(['alice', 'bob']);
    const [alice, bob] = clients as [SimClient, SimClient];
    alice.tree.userWrite('a.md', enc('from alice'));
    await sync(alice);
    const [aliceSeg] = recorded(alice).filter(([, s]) => s !== null);
    expect(aliceSeg).toBeDefined();
    const aBlob = keyOfBlob(sha256Hex(enc('from alice')));
    expect(store.objects.has(aBlob)).toBe(true);
    // On main the snapshot was taken at publish time, after the upload: it held the blob.
    expect(await snaps.get(aliceSeg![1]!, aBlob)).toBeUndefined();
    bob.tree.userWrite('b.md', enc('from bob'));
    await sync(bob);
    const bobSnapshots = recorded(bob).map(([, s]) => s);
    expect(new Set(bobSnapshots).size).toBe(1);
    const v = bobSnapshots[0]!;
    // Bob synced against alice's segment and blob: his baseline holds them, but not his own blob.
    expect(dec(await snaps.get(v, aBlob))).toBe('from alice');
    for (const [seq] of recorded(alice)) expect(await snaps.get(v, `log/${alice.id}/${String(seq).padStart(12, '0')}`)).toBeDefined();
    expect(await snaps.get(v, keyOfBlob(sha256Hex(enc('from bob'))))).toBeUndefined();
  });

  it('a sync with nothing new from the others takes no snapshot and records the one it holds', async () => {
    const { snaps, clients, sync, recorded } = await world(['alice', 'bob']);
    const [alice, bob] = clients as [SimClient, SimClient];
    await sync(alice);
    await sync(bob);
    await sync(alice);
    const taken = snaps.taken;
    await sync(alice); // a no-op
    expect(snaps.taken).toBe(taken);
    alice.tree.userWrite('x.md', enc('x'));
    await sync(alice);
    expect(snaps.taken).toBe(taken);
    const held = await readHeldBaseline(alice.index);
    expect(held).toBeDefined();
    expect(recorded(alice).at(-1)![1]).toBe(held);
  });

  it('retire records the baseline too, not null', async () => {
    const { clients, sync, ctxOf, recorded } = await world(['alice', 'bob']);
    const [alice, bob] = clients as [SimClient, SimClient];
    await sync(alice);
    await sync(bob);
    const r = await executeRetire(ctxOf(alice), bob.id);
    const seg = recorded(alice).find(([seq]) => seq === r.seq);
    expect(seg?.[1]).not.toBeNull();
  });

  it('without snapshots (a directory remote, S3 off Tigris) every segment records null', async () => {
    const { clients, sync, recorded } = await world(['alice', 'bob'], false);
    const [alice, bob] = clients as [SimClient, SimClient];
    alice.tree.userWrite('a.md', enc('a'));
    await sync(alice);
    await sync(bob);
    for (const c of [alice, bob]) for (const [, s] of recorded(c)) expect(s).toBeNull();
  });

  it('planBaseline: take when none is held or the fetch brought news; a dry run never takes one', () => {
    expect(planBaseline(undefined, { broughtNews: false, dryRun: false })).toBe('take');
    expect(planBaseline('7', { broughtNews: true, dryRun: false })).toBe('take');
    expect(planBaseline('7', { broughtNews: false, dryRun: false })).toBe('keep');
    expect(planBaseline(undefined, { broughtNews: true, dryRun: true })).toBe('keep');
  });
});

describe('what vanished from the live bucket is read back from a snapshot (ADR-0034)', () => {
  it("another client's vanished tail segment: put back from the reader's baseline, no fault; without snapshots a fault", async () => {
    for (const withSnapshots of [true, false]) {
      const { store, clients, sync } = await world(['alice', 'bob'], withSnapshots);
      const [alice, bob] = clients as [SimClient, SimClient];
      alice.tree.userWrite('a.md', enc('a'));
      await sync(alice);
      await sync(bob);
      await sync(bob); // bob's baseline now holds alice's tail
      const tail = [...store.objects.keys()]
        .filter((k) => k.startsWith(`log/${alice.id}/`))
        .sort()
        .at(-1)!;
      const bytes = store.objects.get(tail)!;
      store.objects.delete(tail);
      const r = await sync(bob);
      if (withSnapshots) {
        expect(r.faults).toEqual([]);
        expect(r.restored).toEqual([tail]);
        expect(bytesEqual(store.objects.get(tail)!, bytes)).toBe(true);
      } else {
        expect(r.faults.map((f) => f.key)).toEqual([tail]);
        expect(store.objects.has(tail)).toBe(false);
      }
    }
  });

  it('restore of content whose blob is gone from the live bucket: read from a snapshot that holds it; without one, refused', async () => {
    for (const withSnapshots of [true, false]) {
      const { store, clients, sync } = await world(['alice', 'bob'], withSnapshots);
      const [alice, bob] = clients as [SimClient, SimClient];
      alice.tree.userWrite('n.md', enc('v1'));
      await sync(alice);
      await sync(bob);
      bob.tree.userWrite('n.md', enc('v2'));
      await sync(bob);
      await sync(alice);
      const v1 = sha256Hex(enc('v1')) as ContentHash;
      store.objects.delete(keyOfBlob(v1));
      const restore = [{ path: 'n.md' as SyncPath, content: { hash: v1, size: 2, mode: 0o644 } }];
      if (withSnapshots) {
        await sync(alice, { restore });
        expect(dec(store.objects.get(keyOfBlob(v1)))).toBe('v1');
        await sync(bob);
        expect(dec(bob.tree.files.get('n.md')?.bytes)).toBe('v1');
      } else {
        await expect(sync(alice, { restore })).rejects.toThrow(/no longer on the remote/);
      }
    }
  });
});
