import { describe, expect, it } from 'vitest';
import type { VersionId } from '../../src/events/ids.js';
import { DirectoryStore } from '../../src/events/store/directory-store.js';
import { runSync } from '../../src/reconcile/run-sync.js';
import { useTempDirs } from '../support/temp-dirs.js';
import { createClock, createSimClient, syncContextOf, type SimClient } from '../support/test-world.js';
import { ErrorCode } from '../../src/errors.js';
import { keyOfWriterCheckpoint } from '../../src/events/layout.js';
import { executeOwnCheckpoint } from '../../src/reconcile/own-checkpoint.js';
import { FORMAT1_META_KEY } from '../../src/reconcile/join-checkpoints.js';
import { executeFetchLog, readLogState } from '../../src/reconcile/sync-log.js';
import {
  forgeFormat1Checkpoint,
  forgeWriterCheckpoint,
  readRealSegment,
  signCheckpointObject,
  storeBlob,
} from './support/forge-checkpoint.js';

// Issue 20, failure 1: a client with write access signs, with its own key, a checkpoint that
// names another client's real segments but lists made-up bytes for that client's file and
// leaves another file out. A new client must neither get the forged bytes nor miss the live
// file, and every client must end with the same tree. Engine-level, on a directory remote.

const tempDir = useTempDirs('bm-log-forged-cp-');
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));
const treeOf = (c: SimClient) => Object.fromEntries([...c.tree.files].map(([p, f]) => [p, dec(f.bytes)]).sort());

async function world() {
  const store = new DirectoryStore(await tempDir());
  const clock = createClock();
  const alice = await createSimClient(store, 'alice', '01FCA', clock);
  const mallory = await createSimClient(store, 'mallory', '01FCM', clock);
  const sync = (c: SimClient) => runSync(syncContextOf(c, { store, now: clock.now }));
  alice.tree.userWrite('plan.md', enc("alice's plan\n"));
  alice.tree.userWrite('notes/keep.md', enc('keep me\n'));
  await sync(alice);
  const r = await sync(mallory);
  expect(r.ackPublished).toBe(true);
  return { store, clock, alice, mallory, sync };
}

describe('a forged checkpoint signed by another writer', () => {
  it('format 1: a new client gets neither the forged bytes nor a missing file, and the clients converge', async () => {
    const { store, clock, alice, mallory, sync } = await world();
    const aliceSeq = (await alice.index.getCursors()).get(alice.id)!.seq;
    const malloryCursor = (await mallory.index.getCursors()).get(mallory.id)!;
    const planVersion = (await alice.index.getManifest()).get('plan.md' as never)!.version as VersionId;
    const content = await storeBlob(store, 'forged by mallory\n');
    await forgeFormat1Checkpoint(
      store,
      {
        vault: alice.vault,
        forger: { client: mallory.id, seq: malloryCursor.seq },
        victim: { client: alice.id, seq: aliceSeq },
        path: 'plan.md',
        version: planVersion,
        content,
      },
      mallory.keys.privateKey,
    );

    const carol = await createSimClient(store, 'carol', '01FCC', clock);
    await sync(carol);
    expect(treeOf(carol)).toEqual({ 'notes/keep.md': 'keep me\n', 'plan.md': "alice's plan\n" });
    // And they stay together as the others keep writing.
    alice.tree.userWrite('notes/keep.md', enc('kept and edited\n'));
    await sync(alice);
    await sync(carol);
    await sync(mallory);
    expect(treeOf(carol)).toEqual(treeOf(alice));
    expect(treeOf(mallory)).toEqual(treeOf(alice));
  });

  it("format 2: a writer checkpoint claiming another writer's files replaced and collected is checked against its log; the claims are left out and reported", async () => {
    const { store, clock, alice, mallory, sync } = await world();
    const malloryCursor = (await mallory.index.getCursors()).get(mallory.id)!;
    const manifest = await alice.index.getManifest();
    const content = await storeBlob(store, 'forged by mallory\n');
    await forgeWriterCheckpoint(
      store,
      {
        vault: alice.vault,
        forger: { client: mallory.id, seq: malloryCursor.seq },
        takeOver: { path: 'plan.md', replaces: manifest.get('plan.md' as never)!.version!, id: mallory.newId(), content },
        hide: { path: 'notes/keep.md', version: manifest.get('notes/keep.md' as never)!.version! },
      },
      mallory.keys.privateKey,
    );

    const carol = await createSimClient(store, 'carol', '01FCC', clock);
    const joined = await sync(carol);
    expect(joined.joinedFromCheckpoint).toBe(true);
    expect(treeOf(carol)).toEqual({ 'notes/keep.md': 'keep me\n', 'plan.md': "alice's plan\n" });
    expect(joined.faults.map((f) => [f.client, f.error.code])).toEqual([[mallory.id, ErrorCode.unsupportedCheckpoint]]);
    // A client with the whole history that folds it reports the checkpoint too.
    alice.tree.userWrite('notes/keep.md', enc('kept and edited\n'));
    const r = await sync(alice);
    expect(r.faults.map((f) => [f.client, f.error.code])).toEqual([[mallory.id, ErrorCode.unsupportedCheckpoint]]);
    await sync(carol);
    await sync(mallory);
    expect(treeOf(carol)).toEqual(treeOf(alice));
    expect(treeOf(mallory)).toEqual(treeOf(alice));
  });

  it('a latest checkpoint that fails its checks: reported, and the joiner uses none (every log replayed)', async () => {
    const { store, clock, alice, mallory, sync } = await world();
    const ctx = (c: SimClient) => syncContextOf(c, { store, now: clock.now });
    await executeOwnCheckpoint(ctx(alice), await executeFetchLog(ctx(alice), { dryRun: false }));
    // mallory's checkpoint describes another segment than the one it stands on.
    const seq = (await mallory.index.getCursors()).get(mallory.id)!.seq;
    const real = await readRealSegment(store, mallory.id, seq);
    const place = { v: 2, vault: alice.vault, client: mallory.id, seq, hash: real.hash, time: real.body.time };
    const empty = {
      lastEventful: 0,
      contexts: [],
      paths: [],
      collected: [],
      retired: [],
      condemnations: [],
      deletions: [],
      namers: [],
      relies: [],
    };
    const body = { ...place, segment: { time: real.body.time, seen: {}, events: 7 }, ...empty };
    await store.putIfAbsent(
      keyOfWriterCheckpoint(mallory.id, seq),
      signCheckpointObject(body, { ...place, v: 2 }, mallory.keys.privateKey),
    );
    const carol = await createSimClient(store, 'carol', '01FCC', clock);
    const r = await sync(carol);
    expect(r.joinedFromCheckpoint).toBe(false);
    // The join's check, and then (carol now holds the whole history) the full check of it.
    expect(r.faults.map((f) => [f.key, f.error.code])).toEqual([
      [keyOfWriterCheckpoint(mallory.id, seq), ErrorCode.brokenChain],
      [keyOfWriterCheckpoint(mallory.id, seq), ErrorCode.unsupportedCheckpoint],
    ]);
    expect(treeOf(carol)).toEqual(treeOf(alice));
  });

  it('a client an older bm-log joined from a format-1 checkpoint fetches every log on its next sync and drops it', async () => {
    const { store, clock, alice, mallory, sync } = await world();
    const aliceCursor = (await alice.index.getCursors()).get(alice.id)!;
    const malloryCursor = (await mallory.index.getCursors()).get(mallory.id)!;
    const planVersion = (await alice.index.getManifest()).get('plan.md' as never)!.version as VersionId;
    const content = await storeBlob(store, 'forged by mallory\n');
    const f = {
      vault: alice.vault,
      forger: { client: mallory.id, seq: malloryCursor.seq },
      victim: { client: alice.id, seq: aliceCursor.seq },
    };
    const forged = await forgeFormat1Checkpoint(store, { ...f, path: 'plan.md', version: planVersion, content }, mallory.keys.privateKey);
    // What an older bm-log left of its join: the checkpoint, and the cursors of its frontier.
    const carol = await createSimClient(store, 'carol', '01FCC', clock);
    await carol.index.commitBatch({
      meta: { [FORMAT1_META_KEY]: forged.bytes },
      cursors: new Map([
        [alice.id, aliceCursor],
        [mallory.id, malloryCursor],
      ]),
    });
    expect([...(await readLogState(carol.index)).state.paths.keys()]).toEqual(['plan.md']);
    await sync(carol);
    expect(treeOf(carol)).toEqual({ 'notes/keep.md': 'keep me\n', 'plan.md': "alice's plan\n" });
    expect(await carol.index.getMeta(FORMAT1_META_KEY)).toBeUndefined();
    expect((await readLogState(carol.index)).checkpoint).toBeUndefined();
  });
});
