import { describe, expect, it } from 'vitest';
import { keyOfSegment, keyOfWriterCheckpoint } from '../../src/events/layout.js';
import { MemoryStore } from '../../src/events/store/memory-store.js';
import { ErrorCode } from '../../src/errors.js';
import { runSync } from '../../src/reconcile/run-sync.js';
import { createClock, createSimClient, syncContextOf, type SimClient } from '../support/test-world.js';

// ADR-0014 x ADR-0015: a client joins from a writer checkpoint while a segment that
// checkpoint's claims stand on has vanished from the remote. The claims are left out and
// reported while the segment is missing, and taken up again once its writer puts it back
// (simulation seeds 228 and 327 of the checkpoint suite: a missing segment was remembered
// as a false claim forever, so the joiner kept the fault and lacked the file).

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

async function world() {
  const store = new MemoryStore();
  const clock = createClock();
  const make = (name: string, prefix: string) => createSimClient(store, name, prefix, clock);
  const [alice, bob, carol] = await Promise.all([make('alice', '01VSA'), make('bob', '01VSB'), make('carol', '01VSC')]);
  const sync = (c: SimClient) =>
    runSync({ ...syncContextOf(c, { store, now: clock.now }), joinFromCheckpoint: true, checkpointEvery: { events: 1, segments: 1 } });
  return { store, alice, bob, carol, sync };
}

describe('a join from a checkpoint whose claimed segment vanished (in process)', () => {
  it('the claim is left out and reported while the segment is missing, and holds again once its writer puts it back', async () => {
    const { store, alice, bob, carol, sync } = await world();
    bob.tree.userWrite('a.md', enc('bob'));
    await sync(bob); // bob's segment 1 (and checkpoint): a.md
    await sync(alice);
    alice.tree.userWrite('a.md', enc('alice'));
    await sync(alice); // alice's segment n: her a.md replaces bob's (a claim a joiner must check)
    const n = Math.max(...[...store.objects.keys()].filter((k) => k.startsWith(`log/${alice.id}/`)).map((k) => Number(k.split('/')[2])));
    alice.tree.userWrite('b.md', enc('second'));
    await sync(alice); // segment n + 1: b.md, and a checkpoint that claims her a.md at seq n
    const key = keyOfSegment(alice.id, n);
    expect(store.objects.has(key)).toBe(true);
    expect(store.objects.has(keyOfWriterCheckpoint(alice.id, n + 1))).toBe(true);
    store.objects.delete(key);

    const joined = await sync(carol);
    expect(joined.joinedFromCheckpoint).toBe(true);
    expect(joined.faults.map((f) => f.error.code)).toContain(ErrorCode.unsupportedCheckpoint);
    expect(dec(carol.tree.files.get('a.md')?.bytes)).toBe('bob'); // alice's version is not taken on an unproven claim
    expect(dec(carol.tree.files.get('b.md')?.bytes)).toBe('second');

    const back = await sync(alice);
    expect(back.restored).toContain(key);
    const after = await sync(carol);
    expect(after.faults).toEqual([]);
    expect(dec(carol.tree.files.get('a.md')?.bytes)).toBe('alice');
    expect((await sync(carol)).faults).toEqual([]);
  });
});
