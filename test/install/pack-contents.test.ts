/**
 * The package ships no test code (issue 21, ADR-0024): `npm pack --dry-run --json` from a copy
 * of the sources (so its `prepack` build does not rewrite the dist/ other tests run) lists
 * bin/, dist/, README.md and package.json only, and every shipped module is one the CLI can
 * load: reachable by imports from dist/cli/main.js (test harnesses and in-memory doubles live
 * under test/ and are reachable from nothing in dist/).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../cli/support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tempDir = useTempDirs('bm-log-pack-contents-');

function runNpm(args: readonly string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // npm_config_*: what an `npm test` parent sets must not change the pack under test.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
    execFile('npm', args, { cwd, env, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const c = (error as { code?: unknown } | null)?.code;
      resolve({ code: typeof c === 'number' ? c : error ? -1 : 0, stdout, stderr });
    });
  });
}

/** The relative modules `file` imports (static `from '...'` and dynamic `import('...')`). */
function computeImports(file: string, text: string): string[] {
  const specs = [...text.matchAll(/\bfrom\s+'(\.[^']+)'|\bimport\(\s*'(\.[^']+)'\s*\)/g)].map((m) => (m[1] ?? m[2])!);
  return specs.map((s) => path.posix.normalize(path.posix.join(path.posix.dirname(file), s)));
}

function isTypesOnly(js: string): boolean {
  return js.replace(/\/\/.*$/gm, '').trim() === 'export {};';
}

describe('npm pack --dry-run', () => {
  it('lists no test code: only bin/, dist/ (every module reachable from the CLI), README.md and package.json', async () => {
    const src = await tempDir();
    const sources = ['package.json', 'package-lock.json', 'tsconfig.json', 'README.md', 'bin', 'src'];
    for (const f of sources) await fs.cp(path.join(REPO_ROOT, f), path.join(src, f), { recursive: true });
    await fs.symlink(path.join(REPO_ROOT, 'node_modules'), path.join(src, 'node_modules'));
    const packed = await runNpm(['pack', '--dry-run', '--json'], src);
    expect(packed.code, packed.stderr).toBe(0);
    const [{ files }] = JSON.parse(packed.stdout) as [{ files: { path: string }[] }];
    const shipped = files.map((f) => f.path).sort();
    expect(shipped.filter((p) => !/^(bin|dist)\//.test(p) && p !== 'README.md' && p !== 'package.json')).toEqual([]);
    expect(
      shipped.filter((p) => /(^|\/)(testing|test|support|fixtures)\/|\.test\.|memory-(index|tree)|sync-world|fault-proxy/.test(p)),
    ).toEqual([]);

    // Every shipped module is loaded by the CLI (or is a library below); test code would be reachable from nothing.
    // (dist/ui/assets/ holds the web view's page, loaded by a browser, not by Node: ADR-0030.)
    const modules = new Set(shipped.filter((p) => p.endsWith('.js') && p.startsWith('dist/') && !p.startsWith('dist/ui/assets/')));
    const reached = new Set<string>();
    // Libraries built ahead of their engine integration (issues 22 and 23: merges and moves,
    // members and encryption; ADR-0020, ADR-0021) are roots of their own until the CLI loads them.
    const libraries = ['dist/merge/', 'dist/members/', 'dist/crypto/'];
    // The package's main export (the library API, issue 26) is a root too.
    const queue = ['dist/cli/main.js', 'dist/api/index.js', ...[...modules].filter((m) => libraries.some((l) => m.startsWith(l)))];
    for (let f = queue.pop(); f !== undefined; f = queue.pop()) {
      if (reached.has(f) || !modules.has(f)) continue;
      reached.add(f);
      queue.push(...computeImports(f, await fs.readFile(path.join(src, f), 'utf8')));
    }
    expect(reached.size, 'the CLI entry is shipped').toBeGreaterThan(1);
    // (A module of types only compiles to `export {};`: nothing to load.)
    const unreached: string[] = [];
    for (const m of modules) if (!reached.has(m) && !isTypesOnly(await fs.readFile(path.join(src, m), 'utf8'))) unreached.push(m);
    expect(unreached, 'shipped modules the CLI never loads').toEqual([]);
  }, 600_000);
});
