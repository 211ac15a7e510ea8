import { describe, expect, it } from 'vitest';
import { keyOfBlob } from '../../src/events/layout.js';
import { sha256Hex } from '../../src/events/signing.js';
import { MemoryStore } from '../../src/events/store/memory-store.js';
import { executeGc } from '../../src/gc/execute-gc.js';
import { runSync } from '../../src/reconcile/run-sync.js';
import { createClock, createSimClient, syncContextOf, type SimClient } from '../support/test-world.js';

const enc = (s: string) => new TextEncoder().encode(s);

describe('gc on the real engine', () => {
  it('collects an acknowledged delete, deletes its blob after the grace, and a new client joins from the checkpoint', async () => {
    const store = new MemoryStore();
    const clock = createClock();
    const alice = await createSimClient(store, 'alice', '01GCA', clock);
    const bob = await createSimClient(store, 'bob', '01GCB', clock);
    const sync = (c: SimClient) => runSync(syncContextOf(c, { store, now: clock.now }));
    alice.tree.userWrite('a.md', enc('doomed'));
    alice.tree.userWrite('b.md', enc('kept'));
    await sync(alice);
    const r1 = await sync(bob);
    expect(r1.ackPublished).toBe(true);
    alice.tree.userDelete('a.md');
    await sync(alice);
    const r2 = await sync(bob);
    expect(bob.tree.files.has('a.md')).toBe(false);
    expect(r2.ackPublished).toBe(true);
    const quiet = await sync(bob);
    expect(quiet.segmentsPublished).toBe(0);
    const gc = await executeGc({ ...syncContextOf(alice, { store, now: clock.now }) }, { retentionMs: 0, graceMs: 0 });
    expect(gc.passes[0]!.plan.collect.map((c) => c.path)).toEqual(['a.md']);
    expect(gc.passes.flatMap((p) => p.deleted)).toEqual([sha256Hex('doomed')]);
    expect(store.objects.has(keyOfBlob(sha256Hex('doomed')))).toBe(false);
    expect(gc.checkpoint).not.toBeNull();
    const carol = await createSimClient(store, 'carol', '01GCC', clock);
    const r3 = await sync(carol);
    expect(r3.joinedFromCheckpoint).toBe(true);
    expect([...carol.tree.files.keys()]).toEqual(['b.md']);
    await sync(bob);
    expect([...bob.tree.files.keys()]).toEqual(['b.md']);
  });
});
