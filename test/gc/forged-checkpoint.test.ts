import { describe, expect, it } from 'vitest';
import type { VersionId } from '../../src/events/ids.js';
import { DirectoryStore } from '../../src/events/store/directory-store.js';
import { runSync } from '../../src/reconcile/run-sync.js';
import { useTempDirs } from '../support/temp-dirs.js';
import { createClock, createSimClient, syncContextOf, type SimClient } from '../sim/sim-client.js';
import { forgeFormat1Checkpoint, storeBlob } from './support/forge-checkpoint.js';

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
      { vault: alice.vault, forger: { client: mallory.id, seq: malloryCursor.seq }, victim: { client: alice.id, seq: aliceSeq }, path: 'plan.md', version: planVersion, content },
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
});
