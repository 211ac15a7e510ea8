/**
 * A remote that disappears under a client (an unmounted share leaving an empty mount point, a
 * bucket emptied, the wrong folder mounted there) is not "objects that vanished" (ADR-0015):
 * putting back this client's log, key and vault marker there would re-create the vault in the
 * wrong place, and upload the folder into it. A client refuses to sync (exit 3, retryable,
 * with what to check) and writes nothing, remote or local; once the remote is back, syncs go
 * on as before. End to end with the built CLI in child processes on a directory remote.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, describeRun, sortedObject, useWorlds, type Client, type World } from './support/cli.js';

const { world, pair } = useWorlds();
const SLOW = 300_000;

/** Every entry (files and folders) under `dir`, relative, sorted. */
async function entries(dir: string): Promise<string[]> {
  return ((await fs.readdir(dir, { recursive: true })) as string[]).sort();
}

/** Empties the remote folder, keeping the folder itself (the mount point of a share that is not mounted). */
async function unmount(w: World): Promise<string> {
  const away = `${w.remoteDir}.mounted`;
  await fs.rename(w.remoteDir, away);
  await fs.mkdir(w.remoteDir);
  return away;
}

async function remount(w: World, away: string): Promise<void> {
  await fs.rm(w.remoteDir, { recursive: true });
  await fs.rename(away, w.remoteDir);
}

/** Syncs `c`, expecting the not-mounted refusal; the folder and the remote as they were. */
async function expectRefused(c: Client, w: World): Promise<void> {
  const remoteBefore = await entries(w.remoteDir);
  const treeBefore = sortedObject(await c.tree());
  const r = await c.sync();
  expect(r.code, describeRun(r)).toBe(EXIT.retry);
  expect(r.stdout + r.stderr).toMatch(/looks empty: is it mounted\?/);
  expect(r.stdout + r.stderr).toMatch(/refuses to sync rather than re-create the vault there/);
  expect(await entries(w.remoteDir), 'nothing written into the remote').toEqual(remoteBefore);
  expect(sortedObject(await c.tree()), 'the folder untouched').toEqual(treeBefore);
}

describe.concurrent('a remote that looks empty (not mounted, emptied, another one in its place)', { timeout: SLOW }, () => {
  it('an empty mount point: every client refuses and writes nothing, even with local changes; after the remount all converge', async () => {
    const { w, a, b } = await pair({ 'note.md': 'v1\n', 'other.md': 'o1\n' });
    const away = await unmount(w);
    await expectRefused(a, w);
    await a.write('new.md', 'made while unmounted\n');
    await a.rm('other.md');
    await expectRefused(a, w);
    await expectRefused(b, w);
    expect(await entries(w.remoteDir)).toEqual([]);
    expect(await a.read('new.md')).toBe('made while unmounted\n');
    await remount(w, away);
    const ra = await a.syncOk();
    expect(ra.faults).toEqual([]);
    const rb = await b.syncOk();
    expect(rb.faults).toEqual([]);
    expect(await b.read('new.md')).toBe('made while unmounted\n');
    expect(b.exists('other.md')).toBe(false);
    expect(sortedObject(await b.tree())).toEqual(sortedObject(await a.tree()));
  });

  it('the only client of a vault whose whole remote is gone refuses too', async () => {
    const w = await world();
    const a = await w.init('alice', { files: { 'note.md': 'v1\n' } });
    await unmount(w);
    await expectRefused(a, w);
  });

  it("another vault's remote in its place: refused, nothing written into it", async () => {
    const { w, a } = await pair({ 'note.md': 'v1\n' });
    const other = await world();
    await other.init('zoe', { files: { 'z.md': 'z\n' } });
    const away = `${w.remoteDir}.mounted`;
    await fs.rename(w.remoteDir, away);
    await fs.cp(other.remoteDir, w.remoteDir, { recursive: true });
    const before = sortedObject(await w.remoteTree());
    await expectRefused(a, w);
    expect(sortedObject(await w.remoteTree())).toEqual(before);
  });

  it('status (a dry run) says the same and exits 3', async () => {
    const { w, a } = await pair({ 'note.md': 'v1\n' });
    await unmount(w);
    const r = await a.run('status');
    expect(r.code, describeRun(r)).toBe(EXIT.retry);
    expect(r.stdout + r.stderr).toMatch(/looks empty: is it mounted\?/);
    expect(await entries(w.remoteDir)).toEqual([]);
  });

  it('the vault marker alone gone (objects of every client still there) is still put back, as ADR-0015 says', async () => {
    const { w, a } = await pair({ 'note.md': 'v1\n' });
    await fs.rm(path.join(w.remoteDir, 'vault'));
    expect((await a.syncOk())['restored']).toEqual(['vault']);
  });
});
