/**
 * Everyday use (issue 24, ADR-0026), through the built CLI as a child process: `show --json`,
 * `sync --interval` without `--watch`, and `restore --to` a file inside the synced folder.
 */
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, expectExit, sha256, useWorlds } from './support/cli.js';

const { pair } = useWorlds();
const BINARY = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x41, 0x0a]);

describe('everyday answers', () => {
  it('show --json: the version and its bytes, as UTF-8 text or base64; without --json the raw bytes', async () => {
    const { a } = await pair({ 'notes/plan.md': 'plan v1\n', 'bin.dat': '' });
    await a.write('bin.dat', BINARY);
    await a.syncOk();
    const events = await a.log();
    const plan = events.find((e) => e.path === 'notes/plan.md')!;
    const bin = events.find((e) => e.path === 'bin.dat' && e.hash === sha256(BINARY))!;
    const text = expectExit(await a.run('show', plan.version.slice(-8), '--json'), EXIT.ok).json;
    expect(text).toMatchObject({
      version: plan.version,
      path: 'notes/plan.md',
      hash: sha256('plan v1\n'),
      size: 8,
      encoding: 'utf8',
      content: 'plan v1\n',
    });
    const raw = expectExit(await a.run('show', bin.version, '--json'), EXIT.ok).json;
    expect(raw).toMatchObject({ version: bin.version, path: 'bin.dat', encoding: 'base64', size: BINARY.length });
    expect(Buffer.from(raw.content, 'base64').equals(BINARY)).toBe(true);
    expect(expectExit(await a.run('show', plan.version), EXIT.ok).stdout).toBe('plan v1\n');
  }, 120_000);

  it('sync --interval without --watch is refused (exit 2) and syncs nothing; a plain sync (default interval) is not', async () => {
    const { w, a } = await pair({ 'a.md': 'a\n' });
    await a.write('b.md', 'b\n');
    const before = await w.remoteTree();
    for (const args of [
      ['--interval', '5'],
      ['--interval=5', '--dry-run'],
    ]) {
      const r = expectExit(await a.run('sync', ...args), EXIT.usage);
      expect(r.stderr).toMatch(/--interval is how often `sync --watch` syncs/);
      expect(r.stderr).toMatch(/next: add --watch/);
    }
    expect(expectExit(await a.run('sync', '--interval', '5', '--json'), EXIT.usage).json.error.code).toBe('usage');
    expect(await w.remoteTree()).toEqual(before);
    // The default interval is no reason to refuse a plain sync.
    await a.syncOk();
  }, 120_000);

  it('restore --to FILE inside the folder: a new file the next sync uploads; never into .bm-log (even through a symlink), never over a file', async () => {
    const { a, b } = await pair({ 'notes/plan.md': 'plan v1\n' });
    await a.write('notes/plan.md', 'plan v2\n');
    await a.syncOk();
    const v1 = (await a.log('notes/plan.md')).at(-1)!;
    const r = expectExit(await a.run('restore', 'notes/plan.md', '--at', v1.version, '--to', a.abs('notes/plan-v1.md'), '--json'), EXIT.ok);
    expect(r.json).toMatchObject({
      restored: 'notes/plan.md',
      to: a.abs('notes/plan-v1.md'),
      syncsAs: 'notes/plan-v1.md',
      hash: sha256('plan v1\n'),
    });
    const human = expectExit(await a.run('restore', 'notes/plan.md', '--at', v1.version, '--to', a.abs('old.md')), EXIT.ok);
    expect(human.stdout).toMatch(/inside the synced folder: the next sync uploads it as old\.md/);
    expect((await fs.readdir(a.abs('notes'))).filter((n) => n.includes('.bm-tmp-'))).toEqual([]);
    await a.syncOk();
    await b.syncOk();
    expect(await b.read('notes/plan-v1.md')).toBe('plan v1\n');
    expect(await b.read('old.md')).toBe('plan v1\n');
    expect(await b.read('notes/plan.md')).toBe('plan v2\n');

    // Never into a .bm-log folder: this one, a nested one, or one a symlink leads to.
    await fs.symlink(path.join(a.dir, '.bm-log'), a.abs('sneaky'));
    await fs.mkdir(a.abs('sub/.BM-LOG'), { recursive: true });
    const stateBefore = await fs.readdir(path.join(a.dir, '.bm-log'));
    for (const to of [path.join(a.dir, '.bm-log', 'x.md'), a.abs('sneaky/x.md'), a.abs('sub/.BM-LOG/x.md'), a.abs('.bm-log')]) {
      const refused = expectExit(await a.run('restore', 'notes/plan.md', '--at', v1.version, '--to', to), EXIT.usage);
      expect(refused.stderr).toMatch(/inside a \.bm-log state folder/);
    }
    expect(await fs.readdir(path.join(a.dir, '.bm-log'))).toEqual(stateBefore);
    expect(await fs.readdir(a.abs('sub/.BM-LOG'))).toEqual([]);
    // Inside the folder, a name bm-log cannot sync is refused before anything is written.
    const bad = expectExit(await a.run('restore', 'notes/plan.md', '--at', v1.version, '--to', a.abs('notes/aux')), EXIT.usage);
    expect(bad.stderr).toMatch(/not a name bm-log can sync \(Windows reserved device name\)/);
    expect(existsSync(a.abs('notes/aux'))).toBe(false);
    // A folder that does not exist: a clear usage error, not a stack trace.
    expect(
      expectExit(await a.run('restore', 'notes/plan.md', '--at', v1.version, '--to', a.abs('no/such/x.md')), EXIT.usage).stderr,
    ).toMatch(/cannot be used \(ENOENT\)/);
    // Never over an existing file.
    expect(
      expectExit(await a.run('restore', 'notes/plan.md', '--at', v1.version, '--to', a.abs('notes/plan.md')), EXIT.usage).stderr,
    ).toMatch(/already exists/);
    expect(await a.read('notes/plan.md')).toBe('plan v2\n');
  }, 180_000);
});
