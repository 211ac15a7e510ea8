import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/events/store/memory-store.js';
import { CLEAN_STATE_KEY } from '../../src/reconcile/ports.js';
import { runSync } from '../../src/reconcile/run-sync.js';
import { createClock, createSimClient, syncContextOf, type SimClient } from '../support/test-world.js';

// The clean-state shortcut (ADR-0008) on the real engine with in-memory ports: when a sync
// takes it, and when it must not. (The simulation checks every shortcut it takes against a
// full plan; these pin the cases by name.)

const enc = (s: string) => new TextEncoder().encode(s);

async function world() {
  const store = new MemoryStore();
  const clock = createClock();
  const alice = await createSimClient(store, 'alice', '01CSA', clock);
  const bob = await createSimClient(store, 'bob', '01CSB', clock);
  const sync = (c: SimClient, extra: Partial<Parameters<typeof syncContextOf>[1]> = {}) =>
    runSync(syncContextOf(c, { store, now: clock.now, ...extra }));
  return { store, clock, alice, bob, sync };
}

describe('clean-state shortcut', () => {
  it('a second sync with nothing new takes it and reports the same conflicts; a local edit does not', async () => {
    const { alice, bob, sync } = await world();
    alice.tree.userWrite('a.md', enc('a1'));
    const told: string[] = [];
    await sync(alice, { onWorkingSet: (size) => told.push(size) });
    expect(told).toEqual(['small']); // a first sync runs in stages (ADR-0011), one range of paths at a time
    await sync(bob);
    // A conflict: both edit a.md.
    alice.tree.userWrite('a.md', enc('alice'));
    bob.tree.userWrite('a.md', enc('bob'));
    await sync(alice);
    const withConflict = await sync(bob);
    expect(withConflict.conflicts.map((c) => c.path)).toEqual(['a.md']);
    const again = await sync(bob);
    expect(again.clean).toBe(true);
    expect(again.conflicts).toEqual(withConflict.conflicts);
    bob.tree.userWrite('b.md', enc('new'));
    const toldLazy: string[] = [];
    const edited = await sync(bob, { onWorkingSet: (size) => toldLazy.push(size) });
    expect(edited.clean).toBe(false);
    expect(edited.lazy).toBe(true); // ADR-0009: only b.md (and what changed) was read and planned
    expect(toldLazy).toEqual(['small']); // the CLI holds V8's young generation then (ADR-0010)
    expect(edited.applied.map((o) => `${o.kind} ${o.path}`)).toContain('upload b.md');
    expect(edited.conflicts).toEqual(withConflict.conflicts); // carried over from the record
  });

  it("acknowledgements and new clients keep it; another client's event ends it", async () => {
    const { store, clock, alice, bob, sync } = await world();
    alice.tree.userWrite('a.md', enc('a1'));
    await sync(alice);
    await sync(bob); // folds alice's event: publishes an acknowledgement (no events)
    const afterAck = await sync(alice);
    expect(afterAck.fetchRequests).toBeGreaterThan(0);
    expect(afterAck.clean).toBe(true); // bob's ack changed nothing a plan reads
    expect(await alice.index.getMeta(CLEAN_STATE_KEY)).toBeDefined(); // written again after the ack's commit
    // A new client: its key and its acknowledgement, no event of its own.
    const carol = await createSimClient(store, 'carol', '01CSC', clock);
    await sync(carol);
    const afterNewClient = await sync(alice);
    expect(afterNewClient.clean).toBe(true);
    expect((await alice.index.getPinnedKeys()).get(carol.id)?.name).toBe('carol');
    bob.tree.userWrite('b.md', enc('from bob'));
    await sync(bob);
    const afterEvent = await sync(alice);
    expect(afterEvent.clean).toBe(false);
    expect(afterEvent.lazy).toBe(true);
    expect(afterEvent.applied.map((o) => `${o.kind} ${o.path}`)).toEqual(['download b.md']);
    expect(alice.tree.files.has('b.md')).toBe(true);
  });

  it('a lazy sync with more than 1,000 paths to read folds everything instead, with the same result', async () => {
    const { alice, bob, sync } = await world();
    for (let i = 0; i < 1100; i++) alice.tree.userWrite(`n/${i}.md`, enc(`v1 ${i}`));
    await sync(alice);
    await sync(bob);
    await sync(bob); // settles: writes the record a lazy sync starts from
    for (let i = 0; i < 1100; i++) alice.tree.userWrite(`n/${i}.md`, enc(`v2 ${i}`));
    await sync(alice);
    const told: string[] = [];
    const many = await sync(bob, { onWorkingSet: (size) => told.push(size) });
    expect(many.lazy).toBe(false);
    expect(told).toEqual(['small', 'large']); // started lazily, then folded
    expect(many.applied.filter((o) => o.kind === 'download')).toHaveLength(1100);
    expect(new TextDecoder().decode(bob.tree.files.get('n/7.md')!.bytes)).toBe('v2 7');
    for (let i = 0; i < 50; i++) alice.tree.userWrite(`n/${i}.md`, enc(`v3 ${i}`));
    await sync(alice);
    await sync(bob); // settles again after the fold
    for (let i = 50; i < 100; i++) alice.tree.userWrite(`n/${i}.md`, enc(`v3 ${i}`));
    await sync(alice);
    const few = await sync(bob);
    expect(few.lazy).toBe(true);
    expect(few.applied.filter((o) => o.kind === 'download')).toHaveLength(50);
  });

  it('is never taken without a scope key, under another scope, or for a restore', async () => {
    const { store, alice, sync } = await world();
    alice.tree.userWrite('a.md', enc('a1'));
    alice.tree.userWrite('b.md', enc('b1'));
    await sync(alice);
    expect((await sync(alice)).clean).toBe(true);
    const ctx = syncContextOf(alice, { store, now: () => new Date() });
    const { scopeKey: _scope, ...unscoped } = ctx;
    expect((await runSync(unscoped)).clean).toBe(false);
    expect((await runSync({ ...ctx, scopeKey: 'other rules' })).clean).toBe(false); // and writes its own record
    expect((await runSync({ ...ctx, scopeKey: 'other rules' })).clean).toBe(true);
    expect((await sync(alice)).clean).toBe(false); // back to the first scope: a full sync again
    const restored = await runSync(ctx, { restore: [{ path: 'b.md' as never, content: null }] });
    expect(restored.clean).toBe(false);
    expect(restored.eventsPublished).toBe(1);
  });
});
