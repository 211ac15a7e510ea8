import { describe, expect, it } from 'vitest';
import { decodeTrustedSegment } from '../../src/events/codec.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { PACKS_PREFIX } from '../../src/events/layout.js';
import { computeEventContent, type ContentRef } from '../../src/events/schema.js';
import { computePackCollectHash } from '../../src/events/packs.js';
import type { ObjectStore } from '../../src/events/store/object-store.js';
import { MemoryStore } from '../../src/events/store/memory-store.js';
import { executeGc } from '../../src/gc/execute-gc.js';
import { runSync } from '../../src/reconcile/run-sync.js';
import { createClock, createSimClient, syncContextOf, type SimClient } from '../sim/sim-client.js';

// Pack GC (ADR-0035) on the real engine and GC, in process: the crash point between deleting a
// pack and recording the deletion, and a client joining from the checkpoint afterwards.

const enc = (s: string) => new TextEncoder().encode(s);
const GRACE = 60_000;

const packKeys = (store: MemoryStore) => [...store.objects.keys()].filter((k) => k.startsWith(PACKS_PREFIX)).sort();

/** `store`, except that once a pack was deleted every segment write dies (a GC killed before publishing). */
function dyingAfterPackDelete(store: MemoryStore): ObjectStore {
  let deleted = false;
  const dying = Object.create(store) as MemoryStore;
  dying.delete = async (key: string) => {
    if (key.startsWith(PACKS_PREFIX)) deleted = true;
    return store.delete(key);
  };
  dying.putIfAbsent = async (key, body) => {
    if (deleted && key.startsWith('log/')) throw new Error('killed before the gc event was published');
    return store.putIfAbsent(key, body);
  };
  return dying;
}

describe('pack gc on the real engine', () => {
  it('a run killed after deleting a pack and before recording it: the next run records it; a joiner from the checkpoint reads the rest', async () => {
    const store = new MemoryStore();
    const clock = createClock();
    const alice = await createSimClient(store, 'alice', '01PGA', clock);
    const bob = await createSimClient(store, 'bob', '01PGB', clock);
    const ctx = (c: SimClient, s: ObjectStore = store) => ({ ...syncContextOf(c, { store: s, now: clock.now }), packs: true });
    alice.tree.userWrite('doomed1.md', enc('doomed one'));
    alice.tree.userWrite('doomed2.md', enc('doomed two'));
    await runSync(ctx(alice));
    const [doomedPack] = packKeys(store);
    alice.tree.userWrite('kept.md', enc('kept'));
    await runSync(ctx(alice));
    await runSync(ctx(bob));
    alice.tree.userDelete('doomed1.md');
    alice.tree.userDelete('doomed2.md');
    await runSync(ctx(alice));
    await runSync(ctx(bob));
    expect(packKeys(store)).toHaveLength(2);

    // First run: condemns the dead pack only.
    const first = await executeGc(ctx(alice), { retentionMs: 0, graceMs: GRACE });
    expect(first.passes[0]!.plan.condemnPacks).toEqual([doomedPack]);
    const [, doomedId] = doomedPack!.slice(PACKS_PREFIX.length).split('/');
    expect(first.passes[0]!.plan.condemn).toContain(computePackCollectHash(alice.id, doomedId!));

    // Second run, after the grace: deletes the pack, then dies before its gc event lands.
    clock.advance(GRACE + 1);
    await expect(executeGc(ctx(alice, dyingAfterPackDelete(store)), { retentionMs: 0, graceMs: GRACE })).rejects.toThrow(/killed/);
    expect(packKeys(store)).not.toContain(doomedPack);

    // Third run: the condemnation is still open and due; the pack is found gone and recorded.
    const third = await executeGc(ctx(alice), { retentionMs: 0, graceMs: GRACE });
    const due = third.passes[0]!.plan.delete.find((d) => d.key === doomedPack);
    expect(due).toMatchObject({ listed: false });
    expect(third.passes[0]!.deletedPacks).toEqual([doomedPack]);
    expect(third.passes[0]!.publishedSeq).not.toBeNull();
    const fourth = await executeGc(ctx(alice), { retentionMs: 0, graceMs: GRACE, checkpoint: true });
    expect(fourth.passes[0]!.plan.delete).toEqual([]);
    expect(fourth.passes[0]!.plan.condemnPacks).toEqual([]);

    // Nothing changed for bob, and a new client joins from the checkpoints and reads kept.md from its pack.
    expect((await runSync(ctx(bob))).applied).toEqual([]);
    const carol = await createSimClient(store, 'carol', '01PGC', clock);
    const joined = await runSync(ctx(carol));
    expect(joined.joinedFromCheckpoint).toBe(true);
    expect([...carol.tree.files.keys()]).toEqual(['kept.md']);
    expect(new TextDecoder().decode(carol.tree.files.get('kept.md')!.bytes)).toBe('kept');
  });

  // Writer rule (ii) for a pack: a restore naming an old packed content whose pack was condemned
  // more than grace/2 ago is refused (the pack is still there: its HEAD alone would allow it);
  // younger than that it is published, and it voids the condemnation.
  it.each([
    ['more than grace/2 ago: refused, nothing names the pack', GRACE / 2 + 1, false],
    ['less than grace/2 ago: published, and the pack is kept', GRACE / 2 - 1, true],
  ])('a restore of a packed version whose pack was condemned %s', async (_, wait, allowed) => {
    const store = new MemoryStore();
    let t = 1_800_000_000_000;
    const clock = { now: () => new Date(t), advance: (ms: number) => void (t += ms) }; // still, unlike the sim clock
    const alice = await createSimClient(store, 'alice', '01PRA', createClock(t));
    const gcClient = await createSimClient(store, 'gc', '01PRG', createClock(t));
    const ctx = (c: SimClient) => ({ ...syncContextOf(c, { store, now: clock.now }), packs: true, publishDeadlineMs: GRACE / 2 });
    const gc = () => executeGc(ctx(gcClient), { retentionMs: 0, graceMs: GRACE, checkpoint: false });
    alice.tree.userWrite('old.md', enc('old bytes'));
    alice.tree.userWrite('other.md', enc('other'));
    await runSync(ctx(alice));
    alice.tree.userWrite('old.md', enc('new bytes')); // the old version is replaced, the pack holds other.md too
    alice.tree.userDelete('other.md');
    await runSync(ctx(alice));
    await runSync(ctx(gcClient));
    await runSync(ctx(alice));
    const old = namedRefs(store).find((r) => r.size === 'old bytes'.length && r.pack !== undefined)!;
    const oldPack = `${PACKS_PREFIX}${old.pack!.client}/${old.pack!.id}`;
    expect((await gc()).passes[0]!.plan.condemnPacks).toEqual([oldPack]);
    clock.advance(wait);
    const restore = runSync(ctx(alice), { restore: [{ path: 'old.md' as SyncPath, content: old }] });
    if (!allowed) {
      await expect(restore).rejects.toMatchObject({ code: 'blob-missing' });
      expect(namedRefs(store).filter((r) => r.hash === old.hash)).toHaveLength(1);
      return;
    }
    await restore;
    expect(namedRefs(store).filter((r) => r.hash === old.hash)).toHaveLength(2);
    clock.advance(GRACE);
    const after = await gc();
    expect(after.passes[0]!.plan.delete).toEqual([]);
    expect(store.objects.has(oldPack)).toBe(true);
  });
});

/** Every content ref the segments in `store` name, in no particular order. */
function namedRefs(store: MemoryStore): ContentRef[] {
  const out: ContentRef[] = [];
  for (const [key, bytes] of store.objects) {
    if (!key.startsWith('log/')) continue;
    for (const e of decodeTrustedSegment(bytes).events) {
      const c = computeEventContent(e);
      if (c !== null) out.push(c);
    }
  }
  return out;
}
