import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/events/store/memory-store.js';
import { runSync, type SyncReport } from '../../src/reconcile/run-sync.js';
import { createClock, createSimClient, syncContextOf, type SimClient } from '../support/test-world.js';
import type { FsSemantics } from '../support/name-semantics.js';

/**
 * The sync engine on volumes that name files as macOS and Windows do (MemoryTree's `fs`,
 * name-semantics.ts; ADR-0017). Each case: what a user there does, what every client must end
 * with. Cases marked `it.fails` are known engine gaps (reported; see docs/reliability.md):
 * they assert the wanted behaviour and fail today.
 */
const enc = (s: string) => new TextEncoder().encode(s);
const text = (c: SimClient, p: string) => {
  const at = c.tree.resolve(p);
  const f = at === undefined ? undefined : c.tree.files.get(at);
  return f === undefined ? undefined : new TextDecoder().decode(f.bytes);
};

async function world(...kinds: FsSemantics[]) {
  const store = new MemoryStore();
  const clock = createClock();
  const clients: SimClient[] = [];
  for (const [i, fs] of kinds.entries()) clients.push(await createSimClient(store, `${fs}${i}`, `01FS${'ABCDEFGH'[i]}`, clock, fs));
  const sync = (c: SimClient): Promise<SyncReport> => runSync(syncContextOf(c, { store, now: clock.now }));
  /** Syncs every client in turn until a round changes nothing (at most `rounds`); the last round's reports. */
  const settle = async (rounds = 6): Promise<SyncReport[]> => {
    let last: SyncReport[] = [];
    for (let r = 0; r < rounds; r++) {
      last = [];
      for (const c of clients) last.push(await sync(c));
      if (last.every((x) => x.eventsPublished === 0 && x.applied.length === 0)) return last;
    }
    return last;
  };
  return { clients, sync, settle };
}

describe('file names on macOS and Windows volumes', () => {
  it('a case-only rename on a case-insensitive volume (a.txt -> A.txt) reaches every client, nothing lost', async () => {
    const { clients, settle } = await world('apfs', 'posix', 'ntfs');
    const [mac, linux, win] = clients as [SimClient, SimClient, SimClient];
    mac.tree.userWrite('notes/a.txt', enc('one'));
    await settle();
    expect(mac.tree.userRename('notes/a.txt', 'notes/A.txt')).toBe(true);
    expect([...mac.tree.files.keys()]).toEqual(['notes/A.txt']);
    const last = await settle();
    for (const c of [mac, linux, win]) expect([...c.tree.files.keys()], c.name).toEqual(['notes/A.txt']);
    for (const c of [mac, linux, win]) expect(text(c, 'notes/A.txt')).toBe('one');
    expect(last.every((r) => r.skipped.length === 0)).toBe(true);
  });

  it('case twins from a case-sensitive peer never overwrite on an insensitive volume; the twin is reported, not passed over in silence', async () => {
    const { clients, sync, settle } = await world('posix', 'apfs', 'ntfs');
    const [linux, mac, win] = clients as [SimClient, SimClient, SimClient];
    linux.tree.userWrite('notes.md', enc('lower'));
    await settle();
    linux.tree.userWrite('Notes.md', enc('UPPER'));
    await sync(linux);
    for (const c of [mac, win]) {
      const r = await sync(c);
      expect(text(c, 'notes.md'), c.name).toBe('lower'); // never overwritten by its twin
      expect(c.tree.files.size).toBe(1);
      expect(r.conflicts.some((k) => k.kind === 'twins')).toBe(true);
      expect(r.skipped.map((s) => s.path)).toContain('Notes.md'); // not plain success
    }
    // The case-sensitive peer keeps both; the twin's content stays in the cloud.
    expect(text(linux, 'Notes.md')).toBe('UPPER');
    expect(text(linux, 'notes.md')).toBe('lower');
  });

  it('names reserved or changed by Windows never come from the cloud: every sync path is stored as itself on ntfs and apfs', async () => {
    const { clients, settle } = await world('posix', 'ntfs', 'apfs');
    const [linux, win, mac] = clients as [SimClient, SimClient, SimClient];
    const names = ['a..b.txt', 'LPT10.md', 'x'.repeat(120) + '.txt', 'é'.repeat(100) + '.md', 'd/ ok.txt'];
    for (const n of names) expect(linux.tree.userWrite(n, enc(n))).toBe(true);
    // Rejected by the sync-path rules (so never in an event): reserved names, trailing dots or spaces.
    for (const n of ['CON', 'nul.txt', 'com1.md', 'con.d/x.txt', 'a.', 'b ']) linux.tree.userWrite(n, enc('no'));
    const last = await settle();
    for (const c of [win, mac]) expect([...c.tree.files.keys()].sort(), c.name).toEqual([...names].sort());
    expect(last.every((r) => r.skipped.length === 0)).toBe(true);
  });

  it.fails('KNOWN GAP (reported): CONIN$ and CONOUT$ pass the sync-path rules, but Windows cannot create them: the download is skipped at every sync', async () => {
    const { clients, settle } = await world('posix', 'ntfs');
    const [linux, win] = clients as [SimClient, SimClient];
    linux.tree.userWrite('CONIN$', enc('console'));
    const last = await settle();
    expect(last[1]!.skipped).toEqual([]);
    expect(win.tree.files.size).toBe(linux.tree.files.size);
  });

  it.fails('KNOWN GAP (reported): a file downloaded to an HFS+ volume (names stored in NFD) is not published back as a rename to the NFD spelling', async () => {
    const { clients, sync, settle } = await world('posix', 'hfs');
    const [linux, hfs] = clients as [SimClient, SimClient];
    linux.tree.userWrite('caf\u00e9.md', enc('NFC name'));
    await sync(linux);
    await sync(hfs);
    expect([...hfs.tree.files.keys()]).toEqual(['cafe\u0301.md']); // stored decomposed, as HFS+ does
    const again = await sync(hfs); // today: tombstones café (NFC) and puts café (NFD)
    expect(again.eventsPublished).toBe(0);
    await settle();
    expect([...linux.tree.files.keys()]).toEqual(['caf\u00e9.md']);
  });

  // Was a known gap (twins the Mac could never hold) until moves (ADR-0020): the edit follows the rename.
  it('a case-only rename on a Mac racing an edit on Linux: the edit ends at the new name on both, no twins, syncs settle', async () => {
    const { clients, sync, settle } = await world('apfs', 'posix');
    const [mac, linux] = clients as [SimClient, SimClient];
    mac.tree.userWrite('a.txt', enc('v1'));
    await settle();
    mac.tree.userRename('a.txt', 'A.txt');
    linux.tree.userWrite('a.txt', enc('v2 from linux'));
    await sync(mac);
    await sync(linux);
    const last = await settle();
    expect(last.every((r) => r.skipped.length === 0 && r.plan.ops.length === 0)).toBe(true);
    for (const c of [mac, linux]) {
      expect([...c.tree.files.keys()], c.name).toEqual(['A.txt']);
      expect(new TextDecoder().decode(c.tree.files.get('A.txt')!.bytes), c.name).toBe('v2 from linux');
    }
  });
});
