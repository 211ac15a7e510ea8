/**
 * Every row of the reconcile decision table (ADR-0001), end to end: the built CLI in child
 * processes, two or three client folders on one local-directory remote. A row is named
 * "local/remote" from the point of view of the client whose sync decides it.
 */
import * as fs from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { EXIT, copiesOf, expectExit, opsOn, sortedObject, useWorlds, type Client } from './support/cli.js';

const worlds = useWorlds();
/** Vaults from before members (format 1): lazy syncs and checkpoint joins are off in a vault with members (ADR-0032). */
const openWorlds = useWorlds(() => ({ openVault: true }));

/** Alice starts the remote with `files`, Bob joins and downloads them. */
const pair = (files: Record<string, string> = { 'note.md': 'base\n', 'other.md': 'other\n' }) => worlds.pair(files);

/** The texts at `rel` and beside it as conflict copies. */
async function versionsOn(c: Client, rel: string): Promise<string[]> {
  const files = await c.files();
  return Promise.all([rel, ...copiesOf(files, rel)].filter((p) => c.exists(p)).map((p) => c.read(p))).then((t) => t.sort());
}

/** Concurrent edits of note.md: Alice publishes first, Bob second, Alice syncs again. */
async function conflictedPair() {
  const p = await pair();
  await p.a.write('note.md', 'alice edit\n');
  await p.b.write('note.md', 'bob edit\n');
  await p.a.syncOk();
  const rb = await p.b.syncOk();
  await p.a.syncOk();
  return { ...p, rb };
}

describe.concurrent('decision table (local directory remote)', () => {
  it('changed/unchanged → upload, and on the other side unchanged/changed → download', async () => {
    const { a, b } = await openWorlds.pair({ 'note.md': 'base\n', 'other.md': 'other\n' });
    await a.write('note.md', 'edited by alice\n');
    const ra = await a.syncOk();
    expect(opsOn(ra, 'note.md')).toEqual(['upload']);
    expect(ra.eventsPublished).toBe(1);
    // Both syncs start from a clean-state record: they read only the paths that changed (ADR-0009).
    expect(ra.lazy).toBe(true);
    const rb = await b.syncOk();
    expect(opsOn(rb, 'note.md')).toEqual(['download']);
    expect(rb.eventsPublished).toBe(0);
    expect(rb.lazy).toBe(true);
    expect(await b.read('note.md')).toBe('edited by alice\n');
    // Nothing left to do on either side.
    expect((await a.syncOk()).plan).toEqual([]);
    expect((await b.syncOk()).plan).toEqual([]);
  });

  it('deleted/unchanged → tombstone, and on the other side unchanged/deleted → delete locally', async () => {
    const { a, b } = await pair({ 'note.md': 'base\n', 'keep.md': 'keep\n' });
    await a.rm('note.md');
    const ra = await a.syncOk();
    expect(opsOn(ra, 'note.md')).toEqual(['tombstone']);
    expect((await a.log('note.md')).map((e) => e.type)).toEqual(['tombstone', 'put']);
    const rb = await b.syncOk();
    expect(opsOn(rb, 'note.md')).toEqual(['deleteLocal']);
    expect(b.exists('note.md')).toBe(false);
    expect(await b.files()).toEqual(['keep.md']);
    expect(rb.conflicts).toEqual([]);
  });

  it('changed/changed to the same bytes → nothing to transfer, no conflict', async () => {
    const { a, b } = await pair();
    await a.write('note.md', 'same edit\n');
    await b.write('note.md', 'same edit\n');
    expect(opsOn(await a.syncOk(), 'note.md')).toEqual(['upload']);
    const rb = await b.syncOk();
    expect(opsOn(rb, 'note.md')).toEqual(['record']);
    expect(rb.eventsPublished).toBe(0);
    expect(rb.conflicts).toEqual([]);
    expect(opsOn(await a.syncOk(), 'note.md')).toEqual([]);
    for (const c of [a, b]) {
      expect(await c.files()).toEqual(['note.md', 'other.md']);
      expect(await c.conflicts()).toEqual([]);
    }
  });

  it('changed/changed to different bytes → conflict; both versions kept on both clients', async () => {
    const { a, b, rb } = await conflictedPair();
    // Bob's sync never overwrote his unsynced edit: it was published, and Alice's version written beside it.
    expect(opsOn(rb, 'note.md')).toContain('upload');
    expect(rb.conflicts.map((c) => [c.path, c.kind])).toEqual([['note.md', 'concurrent-edits']]);
    for (const c of [a, b]) {
      const files = await c.files();
      const copies = copiesOf(files, 'note.md');
      expect(copies, `${c.name}: ${files.join(', ')}`).toHaveLength(1);
      expect(copies[0]).toMatch(/^note\.conflict-[A-Za-z0-9_-]+-[0-9A-Z]{8}\.md$/);
      expect(await versionsOn(c, 'note.md')).toEqual(['alice edit\n', 'bob edit\n']);
      const listed = await c.conflicts();
      expect(listed.map((x) => [x.path, x.kind, x.heads.length, x.copies])).toEqual([['note.md', 'concurrent-edits', 2, copies]]);
    }
    // Both clients agree on which version is at the path.
    expect(await a.read('note.md')).toBe(await b.read('note.md'));
  });

  it('deleted/changed → the edit survives (the deleting client gets it back)', async () => {
    const { a, b } = await pair();
    await b.write('note.md', 'bob edit\n');
    await b.syncOk();
    await a.rm('note.md');
    const ra = await a.syncOk();
    expect(ra.plan.filter((o) => o.path === 'note.md').map((o) => o.kind)).not.toContain('deleteLocal');
    expect(await a.read('note.md')).toBe('bob edit\n');
    await b.syncOk();
    expect(await b.read('note.md')).toBe('bob edit\n');
    for (const c of [a, b]) {
      expect(await c.files()).toEqual(['note.md', 'other.md']);
      // The delete is recorded as the losing head of an edit-versus-delete conflict.
      expect((await c.conflicts()).map((x) => [x.path, x.kind, x.heads.map((h) => h.type)])).toEqual([
        ['note.md', 'edit-versus-delete', ['put', 'tombstone']],
      ]);
    }
  });

  it('changed/deleted → the edit survives (the editing client keeps and publishes it)', async () => {
    const { a, b } = await pair();
    await a.rm('note.md');
    expect(opsOn(await a.syncOk(), 'note.md')).toEqual(['tombstone']);
    await b.write('note.md', 'bob edit\n');
    const rb = await b.syncOk();
    expect(opsOn(rb, 'note.md')).toEqual(['upload']);
    expect(await b.read('note.md')).toBe('bob edit\n');
    const ra = await a.syncOk();
    expect(opsOn(ra, 'note.md')).toEqual(['download']);
    expect(await a.read('note.md')).toBe('bob edit\n');
    expect((await a.conflicts()).map((x) => [x.path, x.kind, x.heads.map((h) => h.type)])).toEqual([
      ['note.md', 'edit-versus-delete', ['put', 'tombstone']],
    ]);
  });

  it('deleted/deleted → nothing published, no conflict', async () => {
    const { a, b } = await pair({ 'note.md': 'base\n', 'keep.md': 'keep\n' });
    await a.rm('note.md');
    await b.rm('note.md');
    expect(opsOn(await a.syncOk(), 'note.md')).toEqual(['tombstone']);
    const rb = await b.syncOk();
    expect(rb.eventsPublished).toBe(0);
    expect(opsOn(rb, 'note.md')).toEqual(['forget']);
    expect(rb.conflicts).toEqual([]);
    expect((await b.log('note.md')).map((e) => e.type)).toEqual(['tombstone', 'put']);
    for (const c of [a, b]) {
      expect(await c.files()).toEqual(['keep.md']);
      expect(await c.conflicts()).toEqual([]);
    }
  });

  it('new/new with different bytes → conflict, both kept', async () => {
    const { a, b } = await pair();
    await a.write('docs/new.md', 'alice new\n');
    await b.write('docs/new.md', 'bob new\n');
    await a.syncOk();
    const rb = await b.syncOk();
    expect(rb.conflicts.map((c) => c.path)).toEqual(['docs/new.md']);
    await a.syncOk();
    for (const c of [a, b]) {
      expect(await versionsOn(c, 'docs/new.md')).toEqual(['alice new\n', 'bob new\n']);
      expect((await c.conflicts()).map((x) => x.path)).toEqual(['docs/new.md']);
    }
  });

  it('new/new with the same bytes → recorded, no conflict', async () => {
    const { a, b } = await pair();
    await a.write('twin.md', 'same\n');
    await b.write('twin.md', 'same\n');
    await a.syncOk();
    const rb = await b.syncOk();
    expect(opsOn(rb, 'twin.md')).toEqual(['record']);
    expect(rb.conflicts).toEqual([]);
    expect(await b.conflicts()).toEqual([]);
  });

  it('absent (never had it)/exists → download', async () => {
    const { a, b } = await pair();
    await a.write('deep/er/fresh.md', 'fresh\n');
    await a.syncOk();
    const rb = await b.syncOk();
    expect(opsOn(rb, 'deep/er/fresh.md')).toEqual(['download']);
    expect(await b.read('deep/er/fresh.md')).toBe('fresh\n');
  });

  it('joining a remote with content downloads all of it (bytes and modes)', async () => {
    const bin = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) & 0xff));
    const { w, a } = await pair({ 'note.md': 'base\n', 'a/b/c/deep.md': 'deep\n', 'empty.txt': '', 'Ünïcödé name.md': 'unicode\n' });
    await a.write('data.bin', bin);
    await a.write('run.sh', '#!/bin/sh\necho hi\n');
    await fs.chmod(a.abs('run.sh'), 0o755);
    await a.syncOk();
    const c = await w.init('carol');
    expect(sortedObject(await c.tree())).toEqual(sortedObject(await a.tree()));
    expect((await fs.stat(c.abs('run.sh'))).mode & 0o777).toBe(0o755);
    expect(await c.files()).toHaveLength(6);
  });
});

describe.concurrent('conflict resolution (local directory remote)', () => {
  it('deleting the conflict copy and syncing resolves it everywhere', async () => {
    const { a, b } = await conflictedPair();
    const atPath = await b.read('note.md');
    const [copy] = copiesOf(await b.files(), 'note.md');
    await b.rm(copy!);
    const rb = await b.syncOk();
    expect(opsOn(rb, 'note.md')).toEqual(['resolve']);
    expect(rb.conflicts).toEqual([]);
    const ra = await a.syncOk();
    expect(opsOn(ra, copy!)).toEqual(['removeCopy']);
    for (const c of [a, b]) {
      expect(await c.files()).toEqual(['note.md', 'other.md']);
      expect(await c.read('note.md')).toBe(atPath);
      expect(await c.conflicts()).toEqual([]);
    }
  });

  it('`resolve PATH --keep <version suffix>` puts the kept bytes everywhere', async () => {
    const { a, b } = await conflictedPair();
    const [conflict] = await a.conflicts();
    const loser = conflict!.heads.find((h) => h.version !== conflict!.winner)!;
    const loserText = loser.clientName === 'alice' ? 'alice edit\n' : 'bob edit\n';
    expect(await a.read('note.md')).not.toBe(loserText);
    const r = expectExit(await a.run('resolve', 'note.md', '--keep', loser.version.slice(-8), '--json'), EXIT.ok);
    expect(r.json.conflicts).toEqual([]);
    await b.syncOk();
    for (const c of [a, b]) {
      expect(await c.files()).toEqual(['note.md', 'other.md']);
      expect(await c.read('note.md')).toBe(loserText);
      expect(await c.conflicts()).toEqual([]);
    }
    const [latest] = await b.log('note.md', '--limit', '1');
    expect(latest).toMatchObject({ type: 'resolve', hash: loser.hash });
  });

  it('`resolve` of a path with no conflict is a usage error', async () => {
    const { a } = await pair();
    const r = expectExit(await a.run('resolve', 'note.md'), EXIT.usage);
    expect(r.stderr).toMatch(/no open conflict/);
    expect(r.stderr).toMatch(/next: /);
  });
});
