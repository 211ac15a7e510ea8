import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT, REPO_ROOT, World, expectExit, type Client } from './support/cli.js';

/**
 * Real CLI syncs on a real case-insensitive file system (ADR-0017): test/support/
 * case-insensitive-fs.py, a FUSE passthrough that looks names up as a default macOS volume
 * does (case- and normalisation-insensitive, preserving), next to a client on the ordinary
 * case-sensitive file system. Needs /dev/fuse, fusermount3 and Debian's python3-pyfuse3
 * (`apt-get install python3-pyfuse3 fuse3`); skipped, saying which is missing, without them.
 */
const PYTHON = '/usr/bin/python3';
const FS_SCRIPT = path.join(REPO_ROOT, 'test', 'support', 'case-insensitive-fs.py');

function missing(): string | undefined {
  if (!existsSync('/dev/fuse')) return 'no /dev/fuse';
  if (spawnSync('fusermount3', ['--version']).error) return 'no fusermount3 (apt-get install fuse3)';
  if (spawnSync(PYTHON, ['-c', 'import pyfuse3, trio']).status !== 0)
    return 'no pyfuse3 for /usr/bin/python3 (apt-get install python3-pyfuse3)';
  return undefined;
}
const why = missing();

const mounts: { dir: string; proc: ChildProcess }[] = [];
const worlds: World[] = [];
afterAll(async () => {
  for (const m of mounts) {
    spawnSync('fusermount3', ['-u', m.dir]);
    m.proc.kill();
  }
  await Promise.all(worlds.map((w) => w.cleanup()));
});

/** Mounts the case-insensitive file system at `dir` (over `dir`-backing) and waits for it. */
async function mountCaseInsensitive(dir: string): Promise<void> {
  const backing = `${dir}-backing`;
  await fs.mkdir(backing, { recursive: true });
  await fs.mkdir(dir, { recursive: true });
  const proc = spawn(PYTHON, [FS_SCRIPT, backing, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  mounts.push({ dir, proc });
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    proc.on('exit', (code) => reject(new Error(`the case-insensitive file system exited (${code})`)));
  });
}

/** A world with `linux` on the ordinary file system and `mac` on the case-insensitive one. */
async function mixedWorld(files: Record<string, string>): Promise<{ linux: Client; mac: Client; w: World }> {
  const w = await World.create();
  worlds.push(w);
  await mountCaseInsensitive(path.join(w.base, 'mac'));
  const linux = await w.init('linux', { files });
  const mac = await w.init('mac');
  return { linux, mac, w };
}

describe.skipIf(why !== undefined)(`CLI syncs on a case-insensitive file system (FUSE)${why ? ` — skipped: ${why}` : ''}`, () => {
  it('the mount is case-insensitive and preserving (the ground the other tests stand on)', async () => {
    const { mac } = await mixedWorld({});
    await mac.write('Probe.txt', 'p');
    expect(await mac.read('probe.TXT')).toBe('p');
    expect((await fs.readdir(mac.dir)).filter((n) => n !== '.bm-log')).toEqual(['Probe.txt']);
  });

  it('a case-only rename there (notes/a.txt -> notes/A.txt) is one move and reaches the case-sensitive peer; nothing lost, then nothing to do', async () => {
    const { linux, mac } = await mixedWorld({ 'notes/a.txt': 'one' });
    expect(await mac.files()).toEqual(['notes/a.txt']);
    await fs.rename(mac.abs('notes/a.txt'), mac.abs('notes/A.txt'));
    expect(await mac.files()).toEqual(['notes/A.txt']);
    // Published as one move (ADR-0020): the new name's upload `from` the old, the old's tombstone `to` the new.
    const moved = (await mac.syncOk()).applied;
    expect(moved.find((o) => o.kind === 'upload')).toMatchObject({ path: 'notes/A.txt', from: { path: 'notes/a.txt' } });
    expect(moved.find((o) => o.kind === 'tombstone')).toMatchObject({ path: 'notes/a.txt', to: 'notes/A.txt' });
    await linux.syncOk();
    await mac.syncOk();
    for (const c of [linux, mac]) {
      expect(await c.files(), c.name).toEqual(['notes/A.txt']);
      expect(await c.read('notes/A.txt')).toBe('one');
    }
    for (const c of [mac, linux]) expect((await c.syncOk()).plan, c.name).toEqual([]);
  });

  /** Linux makes `Notes.md` beside `notes.md`; the Mac syncs. */
  async function twins(): Promise<{ linux: Client; mac: Client; r: Awaited<ReturnType<Client['sync']>> }> {
    const { linux, mac } = await mixedWorld({ 'notes.md': 'lower' });
    await linux.write('Notes.md', 'UPPER');
    await linux.syncOk();
    return { linux, mac, r: await mac.sync() };
  }

  it('case twins from the case-sensitive peer never overwrite the file there: reported as a twins conflict and a skipped download', async () => {
    const { linux, mac, r } = await twins();
    expect(await mac.read('notes.md')).toBe('lower');
    expect(await mac.files()).toEqual(['notes.md']);
    const report = r.json as { skipped: { path: string }[]; conflicts: { kind: string }[] };
    expect(report.conflicts.map((k) => k.kind)).toContain('twins');
    expect(report.skipped.map((s) => s.path)).toContain('Notes.md');
    // The case-sensitive peer keeps both.
    expectExit(await linux.sync(), EXIT.ok);
    expect(await linux.files()).toEqual(['Notes.md', 'notes.md']);
  });

  // Issue 20: no sync exits 0 over a skipped file (ADR-0016: exit 3, the file named).
  it('that sync exits 3 (retry after the cause is fixed), not 0, with the twin skipped', async () => {
    const { r } = await twins();
    expect(r.code, r.stdout + r.stderr).toBe(EXIT.retry);
  });
});
