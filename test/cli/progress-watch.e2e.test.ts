import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BIN, EXIT, expectExit, runCli, useWorlds, type Client } from './support/cli.js';

// The progress display, --quiet/--verbose, `sync --watch`'s lines and last word, and the notice
// of a new conflict, through the built CLI as a child process (ADR-0025).

const { world } = useWorlds();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `script(1)` gives the child a terminal (stdout and stderr a pty); its output is what the terminal got. */
const SCRIPT = ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p));

function runOnTerminal(c: Client, ...args: string[]): Promise<{ code: number; text: string }> {
  const command = [process.execPath, BIN, ...args, '--dir', c.dir].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    execFile(SCRIPT!, ['-qec', command, '/dev/null'], { timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout) => {
      const code = error ? (error as { code?: unknown }).code : 0;
      if (typeof code !== 'number') return reject(error);
      resolve({ code, text: stdout });
    });
  });
}

const manyFiles = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`notes/n${i}.md`, `note ${i}\n`]));

describe('the progress display', () => {
  it.skipIf(SCRIPT === undefined)(
    'is drawn on a terminal (uploads: counts, bytes) and never with --json',
    async () => {
      const w = await world();
      const a = await w.init('alice', { files: { 'first.md': 'x\n' } });
      for (const [rel, content] of Object.entries(manyFiles(1000))) await a.write(rel, content);
      // Large enough that carrying out the plan outlasts the display's refresh (small notes go in one pack, ADR-0022).
      await a.write('big.bin', new Uint8Array(150_000_000).fill(7));
      const shown = await runOnTerminal(a, 'sync');
      expect(shown.code, shown.text).toBe(EXIT.ok);
      // (Hashing 30 MB may end before the display's first half second; the unit test shows it.)
      expect(shown.text).toMatch(/syncing files: up [\d,]+\/1,001 {2}[\d.]+ [kMG]?B\/[\d.]+ MB/);
      expect(shown.text).toMatch(/synced: 1001 uploaded/);
      // A second client's first sync with --json on a terminal: 1,002 downloads, and no progress text at all.
      const b = await w.init('bob', { noSync: true });
      const json = await runOnTerminal(b, 'sync', '--json');
      expect(json.code, json.text).toBe(EXIT.ok);
      expect(json.text).not.toMatch(/\d+\/\d+ files|hashing|syncing files|fetching new events|\x1b\[\?25l/);
      expect(JSON.parse(json.text.replace(/\r\n/g, '\n')).appliedCounts.download).toBe(1002);
    },
    120_000,
  );

  it('is not drawn when stderr is not a terminal', async () => {
    const w = await world();
    const a = await w.init('alice', { files: manyFiles(50) });
    for (const [rel] of Object.entries(manyFiles(50))) await a.write(rel, 'changed\n');
    const r = expectExit(await a.run('sync'), EXIT.ok);
    expect(r.stderr).toBe('');
    expect(r.stdout).not.toMatch(/hashing|syncing files|fetching/);
  });
});

describe('--quiet and --verbose', () => {
  it('--quiet prints nothing on success and a short line for open conflicts; --verbose one line per file', async () => {
    const w = await world();
    const a = await w.init('alice', { files: { 'plan.md': 'v0\n' } });
    const b = await w.init('bob');
    for (const [rel, content] of Object.entries(manyFiles(250))) await a.write(rel, content);
    const verbose = expectExit(await a.run('sync', '--verbose'), EXIT.ok);
    const uploads = verbose.stdout.split('\n').filter((l) => /^ {2}upload +notes\/n\d+\.md$/.test(l));
    // All 250, where the default lists 200 and a count.
    expect(uploads).toHaveLength(250);
    expect(verbose.stdout).not.toMatch(/and \d+ more/);
    const quiet = expectExit(await b.run('sync', '--quiet'), EXIT.ok);
    expect(quiet.stdout).toBe('');
    await a.write('plan.md', 'alice\n');
    await b.write('plan.md', 'bob\n');
    expectExit(await a.run('sync', '--quiet'), EXIT.ok);
    const conflicted = expectExit(await b.run('sync', '--quiet'), EXIT.ok);
    expect(conflicted.stdout).toMatch(/^1 open conflict\(s\): `bm-log conflicts/);
    expect(conflicted.stdout.trim().split('\n')).toHaveLength(1);
    expect(expectExit(await a.run('sync', '--quiet', '--verbose'), EXIT.usage).stderr).toMatch(/--quiet and --verbose do not go together/);
  }, 120_000);
});

describe('the notice of a new conflict', () => {
  it('is a line on stderr without a desktop, once per new conflict', async () => {
    const w = await world();
    const a = await w.init('alice', { files: { 'plan.md': 'v0\n' } });
    const b = await w.init('bob');
    await a.write('plan.md', 'alice\n');
    await b.write('plan.md', 'bob\n');
    expectExit(await a.run('sync'), EXIT.ok);
    // No desktop session: the notice is a line.
    const env = { DISPLAY: '', WAYLAND_DISPLAY: '', DBUS_SESSION_BUS_ADDRESS: '' };
    const first = expectExit(await runCli(['sync', '--dir', b.dir], { env }), EXIT.ok);
    expect(first.stderr).toMatch(/^bm-log: a new conflict: plan\.md in .*; both versions are kept/m);
    const again = expectExit(await b.run('sync'), EXIT.ok);
    expect(again.stdout).toMatch(/CONFLICT plan\.md/);
    expect(again.stderr).not.toMatch(/new conflict/);
    // Alice learns of it on her next sync: new to her folder.
    expect(expectExit(await a.run('sync'), EXIT.ok).stderr).toMatch(/a new conflict: plan\.md/);
  }, 120_000);
});

describe('sync --watch', () => {
  it('prints one stamped line per eventful round, nothing on idle rounds, and the folder state on Ctrl-C', async ({ onTestFinished }) => {
    const w = await world();
    const a = await w.init('alice', { files: { 'a.md': 'a\n' } });
    const watch = a.spawn('sync', '--watch', '--interval', '1');
    onTestFinished(() => {
      if (watch.exitCode === null && watch.signalCode === null) watch.kill('SIGKILL');
    });
    let out = '';
    watch.stdout!.on('data', (d: string) => (out += d));
    // Several idle rounds (the folder is in sync): nothing printed but the line saying it started.
    for (let i = 0; i < 300 && out === ''; i++) await sleep(100);
    await sleep(3500);
    expect(out).toMatch(/^watching .*: a sync on each change and every 1 s; Ctrl-C stops\n$/);
    out = '';
    await a.write('b.md', 'b\n');
    const deadline = Date.now() + 20_000;
    while (!/uploaded/.test(out) && Date.now() < deadline) await sleep(100);
    await sleep(2500);
    const lines = out.trim().split('\n');
    expect(lines, out).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d synced: 1 uploaded, 0 downloaded/);
    watch.kill('SIGINT');
    const r = await watch.done;
    expect(r.code, r.stderr).toBe(EXIT.ok);
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(/^stopped: the folder is in sync \(as of \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)$/);
  }, 60_000);

  it('says on SIGTERM how many local changes are not uploaded when a change came after the last round', async ({ onTestFinished }) => {
    const w = await world();
    const a = await w.init('alice', { files: { 'a.md': 'a\n' } });
    const watch = a.spawn('sync', '--watch', '--interval', '300');
    onTestFinished(() => {
      if (watch.exitCode === null && watch.signalCode === null) watch.kill('SIGKILL');
    });
    await sleep(2000);
    await a.write('new1.md', '1\n');
    await a.write('a.md', 'edited\n');
    // Before the debounce (1 s) lets a round start.
    await sleep(200);
    watch.kill('SIGTERM');
    const r = await watch.done;
    expect(r.code, r.stderr).toBe(EXIT.ok);
    expect(r.stdout).toMatch(/stopped: 2 local change\(s\) not uploaded/);
  }, 60_000);
});
