import { describe, expect, it } from 'vitest';
import { decodeTrustedSegment } from '../../src/events/codec.js';
import { MemoryStore } from '../../src/events/store/memory-store.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { runSync } from '../../src/reconcile/run-sync.js';
import { createClock, createSimClient, syncContextOf, type SimClient } from '../support/test-world.js';

/*
 * Merges through whole syncs (ADR-0020, issue 22): the real engine (`runSync`: plan, merge
 * stage, executor) with in-memory ports. Two clients edit one note; what they end with.
 */

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const NOTE = 'notes/plan.md' as SyncPath;
const BASE = '# Plan\n\nfirst paragraph\n\nmiddle\n\nlast paragraph\n';

async function twoClients() {
  const store = new MemoryStore();
  const clock = createClock();
  const a = await createSimClient(store, 'alice', '01MGA', clock);
  const b = await createSimClient(store, 'bob', '01MGB', clock);
  const sync = (c: SimClient) => runSync(syncContextOf(c, { store, now: clock.now }));
  return { store, a, b, sync };
}

function read(c: SimClient, p: string): string | undefined {
  const f = c.tree.files.get(p);
  return f === undefined ? undefined : dec(f.bytes);
}

async function ownEvents(c: SimClient) {
  const out = [];
  for await (const s of c.index.iterateSegments(c.id)) out.push(...decodeTrustedSegment(s.bytes).events);
  return out;
}

describe('merging concurrent edits of one note (whole syncs)', () => {
  it('edits of different paragraphs end as one file with both, no copy, no conflict, the merge naming both parents', async () => {
    const { a, b, sync } = await twoClients();
    a.tree.userWrite(NOTE, enc(BASE));
    await sync(a);
    await sync(b);
    a.tree.userWrite(NOTE, enc(BASE.replace('first paragraph', 'first paragraph, edited by alice')));
    b.tree.userWrite(NOTE, enc(BASE.replace('last paragraph', 'last paragraph, edited by bob')));
    await sync(a);
    const rb = await sync(b);
    const both = BASE.replace('first paragraph', 'first paragraph, edited by alice').replace(
      'last paragraph',
      'last paragraph, edited by bob',
    );
    expect(read(b, NOTE)).toBe(both);
    expect(rb.conflicts).toEqual([]);
    const ra = await sync(a);
    expect(read(a, NOTE)).toBe(both);
    expect(ra.conflicts).toEqual([]);
    for (const c of [a, b]) expect([...c.tree.files.keys()]).toEqual([NOTE]);
    const merges = (await ownEvents(b)).filter((e) => e.type === 'put' && e.merge !== undefined);
    expect(merges).toHaveLength(1);
    const m = merges[0]!;
    expect(m.type === 'put' && m.merge!.parents.length).toBe(2);
    expect(m.type === 'put' && m.merge!.algo).toBe('markdown/1');
  });

  it('edits of the same line stay a conflict, as before, saying why they did not merge', async () => {
    const { a, b, sync } = await twoClients();
    a.tree.userWrite(NOTE, enc(BASE));
    await sync(a);
    await sync(b);
    a.tree.userWrite(NOTE, enc(BASE.replace('middle', 'middle by alice')));
    b.tree.userWrite(NOTE, enc(BASE.replace('middle', 'middle by bob')));
    await sync(a);
    const rb = await sync(b);
    expect(rb.conflicts).toEqual([expect.objectContaining({ path: NOTE, kind: 'concurrent-edits', notMerged: 'overlap' })]);
    expect([...b.tree.files.keys()].length).toBe(2);
  });

  it('a binary file edited on both sides stays a conflict', async () => {
    const { a, b, sync } = await twoClients();
    const bin = 'data.txt' as SyncPath;
    a.tree.userWrite(bin, Uint8Array.of(1, 0, 2, 10, 3, 10, 4, 10));
    await sync(a);
    await sync(b);
    a.tree.userWrite(bin, Uint8Array.of(9, 0, 2, 10, 3, 10, 4, 10));
    b.tree.userWrite(bin, Uint8Array.of(1, 0, 2, 10, 3, 10, 9, 10));
    await sync(a);
    const rb = await sync(b);
    expect(rb.conflicts).toEqual([expect.objectContaining({ path: bin, notMerged: 'has-nul' })]);
  });
});
