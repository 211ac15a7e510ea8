/**
 * The launcher (`bin/bm-log`, the package's bin; ADR-0012, ADR-0018): a Node script that,
 * where glibc is the C library, starts Node again with glibc's malloc settings (Node 22.15+
 * replaces its own process; Node 20 runs the CLI as a child and passes signals and the exit
 * on). Run as a child process, as a user (or npm's shims) runs it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { EXIT, REPO_ROOT, runCli, sleep, useWorlds, type Client } from './support/cli.js';

const LAUNCHER = path.join(REPO_ROOT, 'bin', 'bm-log');
const { world } = useWorlds();
const HAS_PROC = existsSync('/proc/self/environ');
const GLIBC =
  process.platform === 'linux' &&
  typeof (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime === 'string';

function runLauncher(
  file: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const c = (error as { code?: unknown } | null)?.code;
      resolve({ code: typeof c === 'number' ? c : 0, stdout, stderr });
    });
  });
}

/** The environment a running process started with, from /proc. */
async function environOf(pid: number): Promise<Map<string, string>> {
  const raw = await fs.readFile(`/proc/${pid}/environ`, 'utf8');
  return new Map(
    raw
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

/** The process that runs the CLI: the launcher's pid itself (exec), or its one child (Node 20). */
async function cliProcessOf(pid: number): Promise<number> {
  const children: number[] = [];
  for (const name of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const status = await fs.readFile(`/proc/${name}/status`, 'utf8').catch(() => '');
    if (new RegExp(`^PPid:\\s+${pid}$`, 'm').test(status)) children.push(Number(name));
  }
  expect(children.length).toBeLessThanOrEqual(1);
  return children[0] ?? pid;
}

/** Whether `pid` still runs (a zombie waiting for its parent does not). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** `sync --watch` through the launcher; resolves once its first round is printed (Node up, handlers in place). */
async function startWatch(a: Client, options: { env?: Record<string, string>; detached?: boolean } = {}) {
  const child: ChildProcess = spawn(LAUNCHER, ['sync', '--watch', '--interval', '300', '--dir', a.dir], {
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'ignore'],
    detached: options.detached === true,
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await new Promise<void>((r) => child.stdout!.once('data', () => r()));
  return { child, pid: child.pid!, exited };
}

describe('bin/bm-log (the launcher)', () => {
  it("passes every argument through, spaces included, and exits with the CLI's code", async () => {
    const w = await world();
    const odd = path.join(w.base, 'a folder with spaces');
    await fs.mkdir(odd);
    const viaLauncher = await runLauncher(LAUNCHER, ['status', '--json', '--dir', odd]);
    const direct = await runCli(['status', '--json', '--dir', odd]);
    expect(viaLauncher.code).toBe(direct.code);
    expect(viaLauncher.code).not.toBe(EXIT.ok); // not a bm-log folder
    expect(JSON.parse(viaLauncher.stdout)).toEqual(direct.json);
    expect(viaLauncher.stdout).toContain('a folder with spaces');
    const version = await runLauncher(LAUNCHER, ['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("is a Node script: `node bin/bm-log`, as npm's Windows shims start it, runs the CLI", async () => {
    expect((await fs.readFile(LAUNCHER, 'utf8')).split('\n')[0]).toBe('#!/usr/bin/env node');
    const r = await runLauncher(process.execPath, [LAUNCHER, '--version']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  // Reads processes from /proc, and glibc is what the settings are for: elsewhere skipped (the name says so).
  describe.skipIf(!HAS_PROC || !GLIBC)('on Linux with glibc (reads /proc)', () => {
    it("the process running the CLI started with the malloc settings (values already set kept) and the caller's stdin", async () => {
      const w = await world();
      const a = await w.init('alice', { files: { 'a.md': 'a\n' } });
      for (const [preset, arenas] of [
        [{}, '2'],
        [{ MALLOC_ARENA_MAX: '4' }, '4'],
      ] as const) {
        const { child, pid, exited } = await startWatch(a, { env: preset });
        const cli = await cliProcessOf(pid);
        const env = await environOf(cli);
        expect(env.get('MALLOC_ARENA_MAX')).toBe(arenas);
        expect(env.get('MALLOC_TRIM_THRESHOLD_')).toBe('131072');
        expect(env.get('MALLOC_MMAP_THRESHOLD_')).toBe('131072');
        for (const fd of [0, 1]) expect(await fs.readlink(`/proc/${cli}/fd/${fd}`)).toBe(await fs.readlink(`/proc/${pid}/fd/${fd}`));
        child.kill('SIGTERM');
        expect(await exited).toEqual({ code: 0, signal: null }); // the CLI got the signal and stopped cleanly
      }
    });

    it('starts Node once for --version, --help and read-only reports, twice (with the settings) for the rest', async () => {
      const w = await world();
      const a = await w.init('alice', { files: { 'a.md': 'a\n' } });
      // Every Node process started from here (exec'd or spawned) loads this and notes its pid.
      const starts = path.join(w.base, 'starts.txt');
      const preload = path.join(w.base, 'note-start.cjs');
      await fs.writeFile(preload, `require('node:fs').appendFileSync(${JSON.stringify(starts)}, process.pid + '\\n');\n`);
      const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: `--require ${preload}` };
      for (const k of ['MALLOC_ARENA_MAX', 'MALLOC_TRIM_THRESHOLD_', 'MALLOC_MMAP_THRESHOLD_']) delete env[k];
      const startsOf = async (args: readonly string[]) => {
        await fs.rm(starts, { force: true });
        const code = await new Promise<number>((r) => execFile(LAUNCHER, args, { env }, (e) => r(e === null ? 0 : Number(e.code))));
        return { code, starts: (await fs.readFile(starts, 'utf8')).trim().split('\n').length };
      };
      for (const light of [['--version'], ['--help'], ['sync', '--help'], ['status', '--dir', a.dir], []])
        expect(await startsOf(light), light.join(' ')).toMatchObject({ starts: 1 });
      expect(await startsOf(['sync', '--dir', a.dir])).toEqual({ code: EXIT.ok, starts: 2 });
    });

    it('Ctrl-C at a terminal (SIGINT to the whole process group) stops the watch cleanly, once', async () => {
      const w = await world();
      const a = await w.init('alice', { files: { 'a.md': 'a\n' } });
      const { pid, exited } = await startWatch(a, { detached: true }); // its own group, as a shell's job
      process.kill(-pid, 'SIGINT');
      expect(await exited).toEqual({ code: 0, signal: null });
    });

    it('ends as the CLI process ended: killed by a signal, the launcher ends by that signal', async () => {
      const w = await world();
      const a = await w.init('alice', { files: { 'a.md': 'a\n' } });
      const killed = await startWatch(a);
      process.kill(await cliProcessOf(killed.pid), 'SIGKILL');
      expect(await killed.exited).toEqual({ code: null, signal: 'SIGKILL' });
      // A signal the CLI does not handle, sent to the launcher: it ends the CLI, then the launcher, as without one.
      const hungUp = await startWatch(a);
      process.kill(hungUp.pid, 'SIGHUP');
      expect(await hungUp.exited).toEqual({ code: null, signal: 'SIGHUP' });
    });

    it('a launcher killed outright (SIGKILL) does not leave the CLI running', async () => {
      const w = await world();
      const a = await w.init('alice', { files: { 'a.md': 'a\n' } });
      const { pid, exited } = await startWatch(a);
      const cli = await cliProcessOf(pid);
      process.kill(pid, 'SIGKILL');
      await exited;
      for (let i = 0; i < 400 && alive(cli); i++) await sleep(25);
      expect(alive(cli)).toBe(false);
      // The folder is free again: the CLI closed it (a second bm-log would exit 3 otherwise).
      expect((await a.run('status', '--json')).code).toBe(EXIT.ok);
    });
  });
});
