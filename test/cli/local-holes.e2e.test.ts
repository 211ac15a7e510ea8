/**
 * The local holes of issue 20 run again from outside, as a new user would meet them: the
 * built CLI in child processes on a local-directory remote. Each test states what the
 * adversarial probe saw on main and what must hold instead.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tryTmpfsMount } from '../reliability/support.js';
import { EXIT, expectExit, hashTree, runCli, useWorlds } from './support/cli.js';

const { world } = useWorlds();

/** Every object of a directory remote as key -> bytes. */
async function remoteObjects(remoteDir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const key of (await hashTree(remoteDir)).keys()) out.set(key, await fs.readFile(path.join(remoteDir, ...key.split('/'))));
  return out;
}

describe.concurrent('a bm-log folder nested in another (failure 2)', () => {
  it("the outer folder syncs the nested folder's files, never its .bm-log: no key, config or index reaches the outer remote or another client", async () => {
    const w = await world();
    const outer = w.client('outer');
    await outer.write('notes.md', 'outer notes\n');
    await outer.write('sub/inner.md', 'inner notes\n');
    // Probe: a nested client with its own remote, then the outer one syncs everything.
    expectExit(
      await runCli(['init', '--create', '--remote', path.join(w.base, 'inner-remote'), '--name', 'inner', '--dir', outer.abs('sub')]),
      EXIT.ok,
    );
    expectExit(await runCli(['init', '--create', '--remote', w.remoteUrl, '--name', 'outer', '--dir', outer.dir]), EXIT.ok);
    await outer.syncOk();
    const key = await fs.readFile(outer.abs('sub/.bm-log/identity.key'));
    const config = await fs.readFile(outer.abs('sub/.bm-log/config.json'));
    for (const [object, bytes] of await remoteObjects(w.remoteDir)) {
      expect(bytes.includes(key), `${object} holds the nested private key`).toBe(false);
      expect(bytes.includes(config), `${object} holds the nested config`).toBe(false);
    }
    expect((await outer.log()).map((e) => e.path).sort()).toEqual(['notes.md', 'sub/inner.md']);
    const bob = await w.init('bob', { create: false });
    expect(await bob.files()).toEqual(['notes.md', 'sub/inner.md']);
    expect(bob.exists('sub/.bm-log')).toBe(false);
    // The nested folder still works as a client of its own remote.
    await outer.write('sub/inner.md', 'inner notes, edited\n');
    const inner = expectExit(await runCli(['sync', '--json', '--dir', outer.abs('sub')]), EXIT.ok);
    expect(inner.json.applied.map((o: { path: string }) => o.path)).toEqual(['inner.md']);
  });
});

describe.concurrent('conflict copies of long names, and skipped files (failure 5)', () => {
  it('a conflict on a 245-character note name shows both versions on both clients, exit 0, never a skip', async () => {
    const w = await world();
    const name = `${'long-note-'.repeat(24)}xx.md`; // 245 characters
    const a = await w.init('alice', { files: { [name]: 'v1\n' } });
    const b = await w.init('bob');
    await a.write(name, 'alice\n');
    await b.write(name, 'bob\n');
    for (const c of [a, b, a]) expect((await c.syncOk()).skipped).toEqual([]);
    const files = await a.files();
    expect(await b.files()).toEqual(files);
    expect(files).toHaveLength(2);
    const [conflict] = await a.conflicts();
    expect(conflict!.copies).toEqual(files.filter((f) => f !== name));
    expect(Buffer.byteLength(conflict!.copies[0]!)).toBeLessThanOrEqual(255);
    expect([await a.read(name), await a.read(conflict!.copies[0]!)].sort()).toEqual(['alice\n', 'bob\n']);
  });

  it('a sync that skips a file exits 3 and says so, every time, until the cause is fixed', async () => {
    const w = await world();
    const a = await w.init('alice', { files: { 'a.md': 'a\n', 'dir/x.md': 'x\n' } });
    const b = w.client('bob');
    const outside = `${w.base}/outside`;
    await fs.mkdir(outside);
    await fs.mkdir(b.dir);
    await fs.symlink(outside, b.abs('dir'));
    expectExit(await runCli(['init', '--remote', w.remoteUrl, '--name', 'bob', '--dir', b.dir]), EXIT.retry);
    const human = expectExit(await b.run('sync'), EXIT.retry);
    expect(human.stdout).toMatch(/skipped dir\/x\.md: .*not a folder/);
    expect(human.stdout).toMatch(/1 operation\(s\) skipped: those files are not in sync/);
    const json = expectExit(await b.sync(), EXIT.retry).json;
    expect(json.skipped).toEqual([expect.objectContaining({ path: 'dir/x.md', op: 'download' })]);
    await fs.rm(b.abs('dir'));
    await b.syncOk();
    expect(await b.read('dir/x.md')).toBe('x\n');
    expect(await a.files()).toEqual(['a.md', 'dir/x.md']);
  });
});

describe('a client never conflicts with itself after a full disk (failure 6)', () => {
  const mountProblem = tryTmpfsMount();
  it.skipIf(mountProblem !== undefined)(
    `init's first sync stops on a full disk (1 MiB tmpfs) after publishing; the user edits; the next sync conflicts with nothing${mountProblem ? ` [skipped: ${mountProblem}]` : ''}`,
    async () => {
      const w = await world();
      const disk = path.join(w.base, 'disk');
      await fs.mkdir(disk);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', disk]);
      try {
        const a = w.client('disk/alice');
        for (let i = 0; i < 60; i++) await a.write(`n${i}.md`, `note ${i}\n`);
        // init in two steps, to fill the disk between them: the folder's state, then its first sync.
        expectExit(await runCli(['init', '--create', '--no-sync', '--remote', w.remoteUrl, '--name', 'alice', '--dir', a.dir]), EXIT.ok);
        const avail = Number(execFileSync('df', ['-k', '--output=avail', disk], { encoding: 'utf8' }).trim().split('\n').at(-1));
        await fs.writeFile(path.join(disk, 'filler'), Buffer.alloc((avail - 24) * 1024));
        const stopped = expectExit(await a.run('sync'), EXIT.retry);
        expect(stopped.stderr).toMatch(/local index|disk/);
        await fs.rm(path.join(disk, 'filler'));
        await a.write('n1.md', 'note 1, edited after the full disk\n');
        const next = await a.syncOk();
        expect(next.conflicts).toEqual([]);
        expect(await a.conflicts()).toEqual([]);
        const puts = (await a.log('n1.md')).filter((e) => e.type === 'put');
        expect(puts).toHaveLength(2);
        expect((puts[0] as unknown as { replaces: string[] }).replaces).toContain(puts[1]!.version);
        const b = await w.init('bob', { create: false });
        expect(await b.read('n1.md')).toBe('note 1, edited after the full disk\n');
        expect((await b.files()).filter((f) => f.includes('.conflict-'))).toEqual([]);
      } finally {
        execFileSync('umount', [disk]);
      }
    },
  );
});

describe.concurrent('a file that became a folder while edited elsewhere (failure 4)', () => {
  it('both sides end on both clients, the folder at the name and the file beside it, listed by `conflicts` until `resolve` keeps the folder', async () => {
    const w = await world();
    const a = await w.init('alice', { files: { thing: 'the file\n', 'other.md': 'other\n' } });
    const b = await w.init('bob');
    await a.rm('thing');
    await a.write('thing/x.md', 'now a folder\n');
    await b.write('thing', 'the file, edited by bob\n');
    for (let i = 0; i < 2; i++) for (const c of [a, b]) await c.syncOk();
    const files = await a.files();
    expect(await b.files()).toEqual(files);
    const copy = files.find((f) => f.startsWith('thing.conflict-bob-'))!;
    expect(files).toEqual(['other.md', copy, 'thing/x.md'].sort());
    expect(await a.read(copy)).toBe('the file, edited by bob\n');
    for (const c of [a, b]) {
      const [conflict, ...rest] = await c.conflicts();
      expect(rest).toEqual([]);
      expect(conflict).toMatchObject({ path: 'thing', kind: 'file-versus-folder', copies: [copy] });
      const human = expectExit(await c.run('conflicts'), EXIT.ok).stdout;
      expect(human).toMatch(/thing \(file-versus-folder\)/);
      expect(human).toMatch(/the folder keeps the name/);
    }
    // `resolve thing` keeps what is at the path: the folder.
    expectExit(await a.run('resolve', 'thing', '--json'), EXIT.ok);
    await b.syncOk();
    for (const c of [a, b]) {
      expect(await c.files()).toEqual(['other.md', 'thing/x.md']);
      expect(await c.conflicts()).toEqual([]);
    }
  });

  it('the mirror case: a folder that became a file while a file in it was edited', async () => {
    const w = await world();
    const a = await w.init('alice', { files: { 'thing/x.md': 'in the folder\n' } });
    const b = await w.init('bob');
    await a.rm('thing');
    await a.write('thing', 'now a file\n');
    await b.write('thing/x.md', 'in the folder, edited by bob\n');
    for (let i = 0; i < 2; i++) for (const c of [a, b]) await c.syncOk();
    const files = await a.files();
    expect(await b.files()).toEqual(files);
    const copy = files.find((f) => f.startsWith('thing.conflict-alice-'))!;
    expect(files).toEqual([copy, 'thing/x.md'].sort());
    expect(await b.read(copy)).toBe('now a file\n');
    expect(await b.read('thing/x.md')).toBe('in the folder, edited by bob\n');
    expect((await b.conflicts()).map((c) => `${c.kind} ${c.path}`)).toEqual(['file-versus-folder thing', 'edit-versus-delete thing/x.md']);
  });
});
