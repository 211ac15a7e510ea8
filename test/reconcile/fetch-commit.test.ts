import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/events/store/memory-store.js';
import type { SyncIndex } from '../../src/reconcile/ports.js';
import { runSync } from '../../src/reconcile/run-sync.js';
import { createClock, createSimClient, syncContextOf } from '../support/test-world.js';

// A new client commits what it fetched in groups of about 8,000 events (ADR-0010), each with
// the cursors of its own last segments, so a crash between groups leaves a prefix of the log
// that the next fetch continues from.

const enc = (s: string) => new TextEncoder().encode(s);
const FILES = 8100; // alice's first sync, in stages of 4,000 paths (ADR-0011): segments of 4,000, 4,000 and 100 events

async function world() {
  const store = new MemoryStore();
  const clock = createClock();
  const alice = await createSimClient(store, 'alice', '01FCA', clock);
  const bob = await createSimClient(store, 'bob', '01FCB', clock);
  for (let i = 0; i < FILES; i++) alice.tree.userWrite(`d${i % 30}/n${i}.md`, enc(`note ${i}`));
  const first = await runSync(syncContextOf(alice, { store, now: clock.now, chunkOps: 4000, stagePaths: 4000 }));
  expect(first.segmentsPublished).toBe(3);
  return { store, clock, alice, bob };
}

/** bob's index, recording each commit of `from`'s (fetched) segments; `failAt` (a commit's number) throws instead. */
function recording(index: SyncIndex, from: string, failAt?: number) {
  const commits: { seqs: number[]; cursor: number | undefined }[] = [];
  const wrapped: SyncIndex = Object.create(index);
  wrapped.commitBatch = async (ops) => {
    if (ops.segments?.some((seg) => seg.client === from)) {
      const seqs = ops.segments.map((s) => s.seq);
      const cursor = [...(ops.cursors?.values() ?? [])].at(-1)?.seq;
      if (commits.length + 1 === failAt) throw new Error('disk full (injected)');
      commits.push({ seqs, cursor });
    }
    return index.commitBatch.call(index, ops);
  };
  return { wrapped, commits };
}

describe('fetched segments are committed in groups', () => {
  it('groups of at most ~8,000 events, each with its own cursor; the whole log arrives', async () => {
    const { store, clock, alice, bob } = await world();
    const { wrapped, commits } = recording(bob.index, alice.id);
    const report = await runSync(syncContextOf(bob, { store, now: clock.now, index: wrapped, chunkOps: 4000, stagePaths: 4000 }));
    expect(commits).toEqual([
      { seqs: [1, 2], cursor: 2 },
      { seqs: [3], cursor: 3 },
    ]);
    expect(report.applied.filter((o) => o.kind === 'download')).toHaveLength(FILES);
    expect((await bob.index.getCursors()).get(alice.id)?.seq).toBe(3);
  });

  it('a failure between groups keeps the first group; the next sync fetches the rest and converges', async () => {
    const { store, clock, alice, bob } = await world();
    const { wrapped } = recording(bob.index, alice.id, 2);
    await expect(runSync(syncContextOf(bob, { store, now: clock.now, index: wrapped, chunkOps: 4000, stagePaths: 4000 }))).rejects.toThrow(
      'disk full',
    );
    expect((await bob.index.getCursors()).get(alice.id)?.seq).toBe(2); // the first group, with its cursor
    expect(bob.tree.files.size).toBe(0); // nothing was written locally
    const again = await runSync(syncContextOf(bob, { store, now: clock.now, chunkOps: 4000, stagePaths: 4000 }));
    expect(again.applied.filter((o) => o.kind === 'download')).toHaveLength(FILES);
    expect((await bob.index.getCursors()).get(alice.id)?.seq).toBe(3);
    const last = await runSync(syncContextOf(bob, { store, now: clock.now, chunkOps: 4000, stagePaths: 4000 }));
    expect(last.plan.ops).toEqual([]);
  });
});
