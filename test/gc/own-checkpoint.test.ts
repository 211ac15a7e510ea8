import { describe, expect, it } from 'vitest';
import { decodeTrustedWriterCheckpoint } from '../../src/events/codec.js';
import { listCheckpoints } from '../../src/events/checkpoints.js';
import { keyOfWriterCheckpoint } from '../../src/events/layout.js';
import { DirectoryStore } from '../../src/events/store/directory-store.js';
import type { ObjectStore } from '../../src/events/store/object-store.js';
import { executeOwnCheckpoint } from '../../src/reconcile/own-checkpoint.js';
import { runSync } from '../../src/reconcile/run-sync.js';
import { executeFetchLog } from '../../src/reconcile/sync-log.js';
import { useTempDirs } from '../support/temp-dirs.js';
import { createClock, createSimClient, syncContextOf, type SimClient } from '../support/test-world.js';

// Writers checkpoint their own logs as they grow (ADR-0014), and a new client starts from
// those checkpoints: engine-level, on a directory remote.

const tempDir = useTempDirs('bm-log-own-cp-');
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));
const treeOf = (c: SimClient) => Object.fromEntries([...c.tree.files].map(([p, f]) => [p, dec(f.bytes)]).sort());
const EVERY = { events: 20, segments: 1000 };

/** A store whose listings leave out one key (a listing that missed it); every other call goes through. */
class HidingStore implements ObjectStore {
  readonly reads: string[] = [];
  readonly description = 'hiding';
  constructor(
    private readonly inner: ObjectStore,
    private readonly hidden: string,
  ) {}
  async list(prefix: string, options?: { startAfter?: string; limit?: number }) {
    const page = await this.inner.list(prefix, options);
    return { ...page, objects: page.objects.filter((o) => o.key !== this.hidden) };
  }
  get(key: string) {
    this.reads.push(key);
    return this.inner.get(key);
  }
  getChunks(key: string, size?: number) {
    return this.inner.getChunks(key, size);
  }
  head(key: string) {
    return this.inner.head(key);
  }
  putIfAbsent(key: string, body: Parameters<ObjectStore['putIfAbsent']>[1]) {
    return this.inner.putIfAbsent(key, body);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
  close() {
    return this.inner.close();
  }
}

async function latestBody(store: ObjectStore, c: SimClient) {
  const seq = (await listCheckpoints(store)).latest.get(c.id);
  if (seq === undefined) return undefined;
  return decodeTrustedWriterCheckpoint((await store.get(keyOfWriterCheckpoint(c.id, seq)))!);
}

describe('writers checkpoint their own logs', () => {
  it('a sync checkpoints its log once it has grown enough; a new client starts from it and ends with the same tree', async () => {
    const store = new DirectoryStore(await tempDir());
    const clock = createClock();
    const ctx = (c: SimClient) => ({
      ...syncContextOf(c, { store, now: clock.now, chunkOps: 4000, stagePaths: 2000 }),
      checkpointEvery: EVERY,
    });
    const sync = (c: SimClient) => runSync(ctx(c));
    const alice = await createSimClient(store, 'alice', '01QCA', clock);
    for (let i = 0; i < 30; i++) alice.tree.userWrite(`n/${i}.md`, enc(`note ${i}`));
    const first = await sync(alice);
    // A first sync in stages leaves its checkpoint to a later sync (it holds one stage at a time).
    expect(first.staged).toBe(true);
    expect(first.checkpoint).toBeNull();
    alice.tree.userWrite('n/0.md', enc('note 0, edited'));
    const second = await sync(alice);
    expect(second.checkpoint).toMatchObject({ client: alice.id, versions: 30 });
    expect((await sync(alice)).checkpoint).toBeNull();

    // bob joins from it, edits some of alice's notes, and checkpoints when asked (bm-log checkpoint).
    const bob = await createSimClient(store, 'bob', '01QCB', clock);
    const joined = await sync(bob);
    expect(joined.joinedFromCheckpoint).toBe(true);
    expect(treeOf(bob)).toEqual(treeOf(alice));
    for (const i of [1, 2, 3]) bob.tree.userWrite(`n/${i}.md`, enc(`note ${i}, by bob`));
    await sync(bob);
    // bob edits note 1 again: his first edit is no longer live, so his checkpoint keeps that it replaced alice's.
    bob.tree.userWrite('n/1.md', enc('note 1, by bob again'));
    await sync(bob);
    await executeOwnCheckpoint(ctx(bob), await executeFetchLog(ctx(bob), { dryRun: false }));
    const claims = (await latestBody(store, bob))!.paths.flatMap((p) => p.replaced.map((r) => `${p.path} ${r.id}`));
    expect(claims).toHaveLength(1);
    expect(claims[0]).toMatch(/^n\/1\.md /);

    // carol joins from both checkpoints and bob's and alice's logs after them: the same tree.
    const carol = await createSimClient(store, 'carol', '01QCC', clock);
    const r = await sync(carol);
    expect(r.joinedFromCheckpoint).toBe(true);
    expect(r.faults).toEqual([]);
    await sync(alice);
    expect(treeOf(carol)).toEqual(treeOf(alice));
    expect(treeOf(bob)).toEqual(treeOf(alice));

    // Once alice's own checkpoint has read bob's edit, bob's next checkpoint drops that claim.
    await executeOwnCheckpoint(ctx(alice), await executeFetchLog(ctx(alice), { dryRun: false }));
    await executeOwnCheckpoint(ctx(bob), await executeFetchLog(ctx(bob), { dryRun: false }));
    expect((await latestBody(store, bob))!.paths.flatMap((p) => p.replaced)).toEqual([]);
    const dave = await createSimClient(store, 'dave', '01QCD', clock);
    expect((await sync(dave)).joinedFromCheckpoint).toBe(true);
    expect(treeOf(dave)).toEqual(treeOf(alice));

    // A listing that misses alice's newest checkpoint cannot make a joiner use an older one:
    // bob's relies on it (it dropped the claim by it), so the joiner reads it anyway.
    const newest = (await listCheckpoints(store)).latest.get(alice.id)!;
    const hiding = new HidingStore(store, keyOfWriterCheckpoint(alice.id, newest));
    const erin = await createSimClient(store, 'erin', '01QCE', clock);
    const r2 = await runSync({ ...ctx(erin), store: hiding });
    expect(r2.joinedFromCheckpoint).toBe(true);
    expect(r2.faults).toEqual([]);
    expect(treeOf(erin)).toEqual(treeOf(alice));
    expect(hiding.reads).toContain(keyOfWriterCheckpoint(alice.id, newest));
  });

  it('a sync rewrites a checkpoint full of claims once the writers they are about have checkpointed since', async () => {
    const store = new DirectoryStore(await tempDir());
    const clock = createClock();
    const ctx = (c: SimClient) => ({
      ...syncContextOf(c, { store, now: clock.now, chunkOps: 4000, stagePaths: 2000 }),
      checkpointEvery: EVERY,
    });
    const sync = (c: SimClient) => runSync(ctx(c));
    const force = async (c: SimClient) => executeOwnCheckpoint(ctx(c), await executeFetchLog(ctx(c), { dryRun: false }));
    const alice = await createSimClient(store, 'alice', '01QDA', clock);
    for (let i = 0; i < 30; i++) alice.tree.userWrite(`n/${i}.md`, enc(`note ${i}`));
    await sync(alice);
    await force(alice);
    const bob = await createSimClient(store, 'bob', '01QDB', clock);
    await sync(bob);
    // bob edits 25 of alice's notes twice: his first edits are no longer live, so his
    // checkpoint keeps, for each, that it replaced alice's version.
    for (const round of [1, 2]) {
      for (let i = 0; i < 25; i++) bob.tree.userWrite(`n/${i}.md`, enc(`note ${i}, bob ${round}`));
      await sync(bob);
    }
    await force(bob);
    expect((await latestBody(store, bob))!.paths.flatMap((p) => p.replaced)).toHaveLength(25);
    // alice reads bob's edits and checkpoints: bob's claims are not needed any more.
    await sync(alice);
    await force(alice);
    const r = await sync(bob);
    expect(r.checkpoint).toMatchObject({ claims: 0 });
    expect((await latestBody(store, bob))!.paths.flatMap((p) => p.replaced)).toEqual([]);
    const carol = await createSimClient(store, 'carol', '01QDC', clock);
    expect((await sync(carol)).joinedFromCheckpoint).toBe(true);
    expect(treeOf(carol)).toEqual(treeOf(bob));
  });
});
