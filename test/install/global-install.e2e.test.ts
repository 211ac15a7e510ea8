/**
 * `npm pack` makes a tarball that installs globally and runs, as the README says (issue 24,
 * ADR-0018): packed from a copy of the sources (so its `prepack` build does not rewrite the
 * dist/ other tests run), installed into a temp prefix with npm, then `bm-log --help` and a
 * real first sync and join through the installed bin. npm fetches the dependencies (from its
 * cache when it can): this test needs the registry or a warm cache.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempDirs } from '../support/temp-dirs.js';
import { REPO_ROOT } from '../cli/support/cli.js';

const tempDir = useTempDirs('bm-log-pack-');

function run(
  file: string,
  args: readonly string[],
  cwd: string,
  timeoutMs = 300_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // npm_config_*: what an `npm test` parent sets must not change the install under test.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
    execFile(
      file,
      args,
      { cwd, env: { ...env, NO_COLOR: '1' }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const c = (error as { code?: unknown } | null)?.code;
        resolve({ code: typeof c === 'number' ? c : error ? -1 : 0, stdout, stderr });
      },
    );
  });
}

describe('npm pack, then a global install of the tarball', () => {
  it('installs with no warning, runs `bm-log --help`, and syncs two folders through a shared folder', async () => {
    const src = await tempDir();
    for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'README.md', 'bin', 'src'])
      await fs.cp(path.join(REPO_ROOT, f), path.join(src, f), { recursive: true });
    await fs.symlink(path.join(REPO_ROOT, 'node_modules'), path.join(src, 'node_modules'));
    const packed = await run('npm', ['pack', '--json'], src);
    expect(packed.code, packed.stderr).toBe(0);
    const [{ filename, files }] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
    const shipped = files.map((f) => f.path);
    expect(shipped).toEqual(expect.arrayContaining(['bin/bm-log', 'bin/bm-log.js', 'dist/cli/main.js', 'README.md', 'package.json']));
    expect(shipped.filter((p) => /^(src|test)\/|^dist\/testing\//.test(p))).toEqual([]);

    // The README's command (--allow-scripts: npm 11.16+ asks to review install scripts; older npm ignores it).
    const prefix = await tempDir();
    const installed = await run(
      'npm',
      [
        'install',
        '-g',
        '--prefix',
        prefix,
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--allow-scripts=classic-level,msgpackr-extract',
        path.join(src, filename),
      ],
      src,
      600_000,
    );
    expect(installed.code, installed.stderr).toBe(0);
    expect(installed.stderr).not.toMatch(/^npm warn/im);

    const bin = path.join(prefix, process.platform === 'win32' ? 'bm-log.cmd' : path.join('bin', 'bm-log'));
    const help = await run(bin, ['--help'], prefix);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toMatch(/^Usage: bm-log/);

    const work = await tempDir();
    await fs.mkdir(path.join(work, 'alice'));
    await fs.writeFile(path.join(work, 'alice', 'note.md'), 'from the installed bm-log\n');
    const first = await run(
      bin,
      ['init', '--create', '--remote', path.join(work, 'team'), '--name', 'alice', '--dir', path.join(work, 'alice')],
      work,
    );
    expect(first, first.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toMatch(/synced: 1 uploaded/);
    const join = await run(bin, ['init', '--remote', path.join(work, 'team'), '--name', 'bob', '--dir', path.join(work, 'bob')], work);
    expect(join, join.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(await fs.readFile(path.join(work, 'bob', 'note.md'), 'utf8')).toBe('from the installed bm-log\n');
  }, 900_000);
});
