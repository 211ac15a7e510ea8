import { describe, expect, it } from 'vitest';
import { decodeTrustedSegment } from '../../src/events/codec.js';
import type { Event } from '../../src/events/schema.js';
import { MemoryStore } from '../../src/events/store/memory-store.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { runSync } from '../../src/reconcile/run-sync.js';
import { createClock, createSimClient, syncContextOf, type SimClient } from '../support/test-world.js';

/*
 * Moves through whole syncs (ADR-0020, issue 22): the real engine (`runSync`: plan, merge and
 * move stages, executor) with in-memory ports. A note renamed on one client; what every client
 * ends with, and what the log records.
 */

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const OLD = 'notes/plan.md' as SyncPath;
const NEW = 'notes/plan-2027.md' as SyncPath;
const BASE = '# Plan\n\nfirst paragraph\n\nmiddle\n\nlast paragraph\n';
/** A note long enough that one changed line keeps it similar (Dice of its lines >= 0.8). */
const LONG = `${Array.from({ length: 10 }, (_, i) => `paragraph ${i}`).join('\n\n')}\n`;

async function clients(...names: string[]) {
  const store = new MemoryStore();
  const clock = createClock();
  const out: SimClient[] = [];
  for (const [i, n] of names.entries()) out.push(await createSimClient(store, n, `01MV${String.fromCharCode(65 + i)}`, clock));
  const sync = (c: SimClient) => runSync(syncContextOf(c, { store, now: clock.now }));
  return { store, cs: out, sync };
}

/** Two clients that both synced `OLD` with `content`. */
async function bothSynced(content: string) {
  const { cs, sync } = await clients('alice', 'bob');
  const [a, b] = cs as [SimClient, SimClient];
  a.tree.userWrite(OLD, enc(content));
  await sync(a);
  await sync(b);
  return { a, b, sync };
}

function tree(c: SimClient): Record<string, string> {
  return Object.fromEntries([...c.tree.files].sort(([a], [b]) => (a < b ? -1 : 1)).map(([p, f]) => [p, dec(f.bytes)]));
}

async function ownEvents(c: SimClient): Promise<Event[]> {
  const out: Event[] = [];
  for await (const s of c.index.iterateSegments(c.id)) out.push(...decodeTrustedSegment(s.bytes).events);
  return out;
}

async function ownSegments(c: SimClient) {
  const out = [];
  for await (const s of c.index.iterateSegments(c.id)) out.push(decodeTrustedSegment(s.bytes));
  return out;
}

describe('moves through whole syncs', () => {
  it('a rename is published as one move (put from + tombstone to, one format-2 segment) and the other client renames', async () => {
    const { a, b, sync } = await bothSynced(BASE);
    a.tree.userRename(OLD, NEW);
    const ra = await sync(a);
    expect(ra.conflicts).toEqual([]);
    const last = (await ownSegments(a)).at(-1)!;
    expect(last.v).toBe(2);
    const put = last.events.find((e) => e.type === 'put');
    const tomb = last.events.find((e) => e.type === 'tombstone');
    expect(put).toMatchObject({ path: NEW, from: { path: OLD } });
    expect(tomb).toMatchObject({ path: OLD, to: NEW });
    await sync(b);
    expect(tree(b)).toEqual({ [NEW]: BASE });
  });

  it('a rename with edits (similar text) is a move; a new note from the same template next to a deleted one is not', async () => {
    const { cs, sync } = await clients('alice');
    const [a] = cs as [SimClient];
    const long = Array.from({ length: 12 }, (_, i) => `line ${i} of the note`).join('\n');
    a.tree.userWrite(OLD, enc(`${long}\n`));
    const template = '# Meeting\n\n## Attendees\n\n## Agenda\n\n## Notes\n\n## Actions\n';
    a.tree.userWrite('m/2026-01.md', enc(`${template}- alice\n- bob\n- carol\n- dave\n- ship it\n`));
    await sync(a);
    a.tree.userDelete(OLD);
    a.tree.userWrite(NEW, enc(`${long}\nline 12 added while renaming\n`));
    a.tree.userDelete('m/2026-01.md');
    a.tree.userWrite('m/2026-02.md', enc(`${template}- erin\n- frank\n- grace\n- budget\n- hire\n`));
    await sync(a);
    const events = (await ownEvents(a)).slice(-4);
    expect(events.flatMap((e) => (e.type === 'put' && e.from !== undefined ? [e.path] : []))).toEqual([NEW]);
    expect(events.flatMap((e) => (e.type === 'tombstone' && e.to !== undefined ? [e.path] : []))).toEqual([OLD]);
  });

  it('a folder rename is one move per file, each move whole in one segment (the decoder rejects a half alone)', async () => {
    const { cs, sync } = await clients('alice', 'bob');
    const [a, b] = cs as [SimClient, SimClient];
    for (const n of ['a', 'b', 'c']) a.tree.userWrite(`old/${n}.md`, enc(`note ${n}\n`));
    await sync(a);
    await sync(b);
    const before = (await ownEvents(a)).length;
    for (const n of ['a', 'b', 'c']) a.tree.userRename(`old/${n}.md`, `new/${n}.md`);
    await sync(a);
    // (The simulation's client commits 2 ops a chunk: a move's halves share one, and one segment.)
    const events = (await ownEvents(a)).slice(before);
    expect(events.filter((e) => e.type === 'put' && e.from !== undefined)).toHaveLength(3);
    expect(events.filter((e) => e.type === 'tombstone' && e.to !== undefined)).toHaveLength(3);
    await sync(b);
    expect(Object.keys(tree(b))).toEqual(['new/a.md', 'new/b.md', 'new/c.md']);
  });

  it('move versus edit: an edit of the old name made without seeing the move ends at the new name, no copy, no conflict', async () => {
    const { a, b, sync } = await bothSynced(BASE);
    a.tree.userRename(OLD, NEW);
    b.tree.userWrite(OLD, enc(BASE.replace('middle', 'middle, edited by bob')));
    await sync(a);
    const rb = await sync(b);
    expect(rb.conflicts).toEqual([]);
    const ra = await sync(a);
    expect(ra.conflicts).toEqual([]);
    const want = { [NEW]: BASE.replace('middle', 'middle, edited by bob') };
    expect(tree(a)).toEqual(want);
    expect(tree(b)).toEqual(want);
  });

  it('move versus edit, the edit synced first: the mover sends it on to the new name', async () => {
    const { a, b, sync } = await bothSynced(BASE);
    b.tree.userWrite(OLD, enc(BASE.replace('middle', 'middle, edited by bob')));
    await sync(b);
    a.tree.userRename(OLD, NEW);
    // Alice's sync fetches bob's edit before it plans: her move's tombstone meets it in her next round.
    const ra = await sync(a);
    expect(ra.conflicts).toEqual([]);
    await sync(b);
    const want = { [NEW]: BASE.replace('middle', 'middle, edited by bob') };
    expect(tree(a)).toEqual(want);
    expect(tree(b)).toEqual(want);
  });

  it('move versus edit when the mover edited too: both edits merged at the new name', async () => {
    const { a, b, sync } = await bothSynced(LONG);
    a.tree.userRename(OLD, NEW);
    a.tree.userWrite(NEW, enc(LONG.replace('paragraph 1\n', 'paragraph 1, by alice\n')));
    b.tree.userWrite(OLD, enc(LONG.replace('paragraph 8', 'paragraph 8, by bob')));
    await sync(a);
    const rb = await sync(b);
    expect(rb.conflicts).toEqual([]);
    await sync(a);
    const both = LONG.replace('paragraph 1\n', 'paragraph 1, by alice\n').replace('paragraph 8', 'paragraph 8, by bob');
    expect(tree(a)).toEqual({ [NEW]: both });
    expect(tree(b)).toEqual({ [NEW]: both });
  });

  it('move versus delete: the note stays at its new name, the old name stays deleted', async () => {
    const { cs, sync } = await clients('alice', 'bob');
    const [a, b] = cs as [SimClient, SimClient];
    a.tree.userWrite('other.md', enc('another note\n'));
    a.tree.userWrite(OLD, enc(BASE));
    await sync(a);
    await sync(b);
    a.tree.userRename(OLD, NEW);
    b.tree.userDelete(OLD);
    await sync(a);
    const rb = await sync(b);
    await sync(a);
    expect(rb.conflicts).toEqual([]);
    expect(tree(a)).toEqual({ [NEW]: BASE, 'other.md': 'another note\n' });
    expect(tree(b)).toEqual({ [NEW]: BASE, 'other.md': 'another note\n' });
  });
});
