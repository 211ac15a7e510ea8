/**
 * The launcher (`bin/bm-log`, the package's bin; ADR-0012): a shell script that sets glibc's
 * malloc settings and execs Node on bin/bm-log.js. Run as a child process, as a user runs it.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, REPO_ROOT, runCli, sleep, useWorlds } from './support/cli.js';

const LAUNCHER = path.join(REPO_ROOT, 'bin', 'bm-log');
const { world } = useWorlds();

function runLauncher(args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(LAUNCHER, args, { env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const c = (error as { code?: unknown } | null)?.code;
      resolve({ code: typeof c === 'number' ? c : 0, stdout, stderr });
    });
  });
}

/** The environment of a running process, from /proc. */
async function environOf(pid: number): Promise<Map<string, string>> {
  const raw = await fs.readFile(`/proc/${pid}/environ`, 'utf8');
  return new Map(raw.split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

describe('bin/bm-log (the launcher)', () => {
  it('passes every argument through, spaces included, and exits with the CLI\'s code', async () => {
    const w = await world();
    const odd = path.join(w.base, 'a folder with spaces');
    await fs.mkdir(odd);
    const viaLauncher = await runLauncher(['status', '--json', '--dir', odd]);
    const direct = await runCli(['status', '--json', '--dir', odd]);
    expect(viaLauncher.code).toBe(direct.code);
    expect(viaLauncher.code).not.toBe(EXIT.ok); // not a bm-log folder
    expect(JSON.parse(viaLauncher.stdout)).toEqual(direct.json);
    expect(viaLauncher.stdout).toContain('a folder with spaces');
    const version = await runLauncher(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  // Reads the child's environment from /proc: Linux only (elsewhere skipped, saying so in the name).
  it.skipIf(!existsSync('/proc/self/environ'))('runs Node in its own process with the malloc settings, keeping values already set', async ({ onTestFinished }) => {
    const w = await world();
    const a = await w.init('alice', { files: { 'a.md': 'a\n' } });
    for (const [preset, arenas] of [[{}, '2'], [{ MALLOC_ARENA_MAX: '4' }, '4']] as const) {
      const child = spawn(LAUNCHER, ['sync', '--watch', '--interval', '300', '--dir', a.dir], { env: { ...process.env, ...preset }, stdio: ['ignore', 'pipe', 'ignore'] });
      // The first round's summary: Node is up and its signal handlers are in place.
      const firstRound = new Promise<void>((r) => child.stdout.once('data', () => r()));
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      onTestFinished(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      });
      // exec: the launcher's pid becomes Node's (its command line names bm-log.js).
      let cmdline = '';
      for (let i = 0; i < 200 && !cmdline.includes('bm-log.js'); i++) {
        await sleep(25);
        cmdline = await fs.readFile(`/proc/${child.pid}/cmdline`, 'utf8').catch(() => '');
      }
      expect(cmdline).toContain('bm-log.js');
      const env = await environOf(child.pid!);
      expect(env.get('MALLOC_ARENA_MAX')).toBe(arenas);
      expect(env.get('MALLOC_TRIM_THRESHOLD_')).toBe('131072');
      expect(env.get('MALLOC_MMAP_THRESHOLD_')).toBe('131072');
      await firstRound;
      child.kill('SIGTERM');
      expect(await exited).toBe(0); // Node got the signal itself and stopped cleanly
    }
  });
});
