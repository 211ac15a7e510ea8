/**
 * A new user's first hour (issue 24, ADR-0018), through the built CLI as a child process:
 * creating a vault is explicit; every command bm-log prints for the user works when pasted
 * into bash (run as a child process, from where the user ran bm-log); status without the
 * remote still shows the local side; names print escaped and distinguishable.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IS_ROOT, UNPRIVILEGED, chownForCli } from '../reliability/support.js';
import {
  BIN,
  EXIT,
  REPO_ROOT,
  commandsIn,
  copiesOf,
  describeRun,
  expectExit,
  findPackedContent,
  pasteInBash,
  runCli,
  sortedObject,
  useWorlds,
  type Client,
} from './support/cli.js';

const { world, pair } = useWorlds();

/** `bm-log ARGS --json` as a user the permission bits apply to (the unprivileged user when the tests are root). */
function runUnprivileged(args: readonly string[]): Promise<{ code: number; json: any; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args, '--json'],
      { env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000, ...(IS_ROOT ? UNPRIVILEGED : {}) },
      (error, stdout, stderr) => {
        const c = (error as { code?: unknown } | null)?.code;
        resolve({
          code: typeof c === 'number' ? c : error ? -1 : 0,
          json: stdout.trim().startsWith('{') ? JSON.parse(stdout) : undefined,
          stderr,
        });
      },
    );
  });
}

/** The one command quoted in `text` that starts with `prefix`. */
function commandStarting(text: string, prefix: string): string {
  const found = commandsIn(text).filter((c) => c.startsWith(prefix));
  expect(found, `one \`${prefix}...\` command in:\n${text}`).toHaveLength(1);
  return found[0]!;
}

describe.concurrent('init: a vault is created only when asked', () => {
  it('a remote folder that does not exist is refused (nothing created); the command the hint gives creates it', async () => {
    const w = await world();
    const remote = path.join(w.base, 'nonexistent', 'deep', 'remote');
    const alice = w.client('alice');
    await alice.write('note.md', 'hello\n');
    const r = expectExit(await runCli(['init', '--remote', remote, '--name', 'alice', '--dir', alice.dir]), EXIT.usage);
    expect(r.stderr).toMatch(/does not exist; init joins an existing vault unless told to create one/);
    expect(existsSync(path.join(w.base, 'nonexistent'))).toBe(false);
    expect(alice.exists('.bm-log')).toBe(false);
    const create = commandStarting(r.stderr, 'bm-log init --create');
    const pasted = expectExit(await pasteInBash(create, { cwd: REPO_ROOT }), EXIT.ok);
    expect(pasted.stdout).toMatch(/\(a new vault\)/);
    expect(existsSync(path.join(remote, 'vault'))).toBe(true);
    // Bob joins it without --create.
    const bob = expectExit(await runCli(['init', '--remote', remote, '--name', 'bob', '--dir', w.client('bob').dir]), EXIT.ok);
    expect(bob.stdout).not.toMatch(/new vault/);
    expect(await w.client('bob').read('note.md')).toBe('hello\n');
  }, 240_000);

  it('an empty remote folder is refused without --create, and created with it', async () => {
    const w = await world();
    await fs.mkdir(w.remoteDir);
    const a = w.client('alice');
    const r = expectExit(await runCli(['init', '--remote', w.remoteDir, '--dir', a.dir, '--json']), EXIT.usage);
    expect(r.json.error).toMatchObject({ code: 'usage', message: expect.stringMatching(/holds no bm-log vault \(it is empty\)/) });
    expect(await fs.readdir(w.remoteDir)).toEqual([]);
    expect(
      expectExit(await runCli(['init', '--create', '--remote', w.remoteDir, '--dir', a.dir, '--json']), EXIT.ok).json.init.newRemote,
    ).toBe(true);
  }, 240_000);

  it('--create is refused over a remote that holds a vault, or other files; nothing is written there', async () => {
    const w = await world();
    await w.init('alice', { files: { 'a.md': 'a\n' } });
    const before = await w.remoteTree();
    const again = expectExit(await runCli(['init', '--create', '--remote', w.remoteDir, '--dir', w.client('bob').dir]), EXIT.usage);
    expect(again.stderr).toMatch(/already holds a bm-log vault \(\w+\); --create makes a new one/);
    expect(sortedObject(await w.remoteTree())).toEqual(sortedObject(before));
    const photos = path.join(w.base, 'photos');
    await fs.mkdir(photos);
    await fs.writeFile(path.join(photos, 'cat.jpg'), 'meow');
    const other = expectExit(await runCli(['init', '--create', '--remote', photos, '--dir', w.client('carol').dir]), EXIT.usage);
    expect(other.stderr).toMatch(/holds other files \(cat\.jpg\) and no bm-log vault/);
    expect(await fs.readdir(photos)).toEqual(['cat.jpg']);
  }, 240_000);

  it('--remote s3:/x suggests s3://x and creates no local folder', async () => {
    const w = await world();
    const a = w.client('alice');
    await fs.mkdir(a.dir);
    for (const typo of ['s3:/team-notes/vault', 's3:team-notes/vault', 'S3://team-notes/vault']) {
      const r = expectExit(await runCli(['init', '--create', '--remote', typo, '--dir', a.dir], { cwd: w.base }), EXIT.usage);
      expect(r.stderr).toContain('did you mean s3://team-notes/vault?');
    }
    expect((await fs.readdir(w.base)).sort()).toEqual(['alice']);
  }, 240_000);

  it('init inside a bm-log folder, or below one, is refused', async () => {
    const w = await world();
    const a = await w.init('alice', { files: { 'sub/deeper/x.md': 'x\n' } });
    for (const inner of ['sub', 'sub/deeper', 'new/folder']) {
      const r = expectExit(
        await runCli(['init', '--create', '--remote', path.join(w.base, `r-${inner.replace(/\//g, '-')}`), '--dir', a.abs(inner)]),
        EXIT.usage,
      );
      expect(r.stderr).toContain(`is inside the bm-log folder ${a.dir}, which syncs it already`);
      expect(existsSync(a.abs(`${inner}/.bm-log`))).toBe(false);
    }
    expect(expectExit(await runCli(['init', '--remote', w.remoteDir, '--dir', a.dir]), EXIT.usage).stderr).toMatch(
      /already a bm-log folder/,
    );
  }, 240_000);

  it('a remote the user may not write to: a clear error (exit 2), never a stack trace', async () => {
    const w = await world();
    await w.init('alice', { files: { 'a.md': 'a\n' } });
    const readOnlyParent = path.join(w.base, 'locked');
    await fs.mkdir(readOnlyParent);
    const carol = w.client('carol');
    await fs.mkdir(carol.dir);
    // The CLI runs as an unprivileged user when the tests are root, so permission bits apply.
    await chownForCli(w.base);
    await fs.chmod(readOnlyParent, 0o555);
    for (const d of [w.remoteDir, ...(await fs.readdir(w.remoteDir, { recursive: true })).map((n) => path.join(w.remoteDir, n))])
      if ((await fs.stat(d)).isDirectory()) await fs.chmod(d, 0o555);
    const create = await runUnprivileged(['init', '--create', '--remote', path.join(readOnlyParent, 'team'), '--dir', carol.dir]);
    expect(create.code).toBe(EXIT.usage);
    expect(create.json.error.message).toMatch(/cannot create the remote folder .*\(EACCES: permission denied\)/);
    const join = await runUnprivileged(['init', '--remote', w.remoteDir, '--dir', carol.dir]);
    expect(join.code).toBe(EXIT.usage);
    expect(join.json.error.message).toMatch(/is not writable for this user \(EACCES: permission denied\)/);
    for (const r of [create, join]) expect(r.stderr).not.toMatch(/unexpected failure|\n\s+at /);
  }, 240_000);
});

/** Deletes `files` on `a`, syncs, and returns `b`'s human sync output (run with `cwd`, or --dir when undefined). */
async function deleteAndSync(a: Client, b: Client, files: readonly string[], cwd: string | undefined): Promise<string> {
  for (const f of files) await a.rm(f);
  expectExit(await a.sync('--max-delete', '100'), EXIT.ok);
  const r = cwd === undefined ? await b.run('sync') : await runCli(['sync'], { cwd });
  return expectExit(r, EXIT.ok).stdout;
}

const ODD_NAMES: Readonly<Record<string, string>> = {
  'readme.md': 'plain\n',
  'my notes/read me.md': 'spaces\n',
  "it's $HOME `x`.md": 'quotes and dollars\n',
  '-starts-with-dash.md': 'dash\n',
  'cafe\u0301.md': 'nfd\n',
};

describe.concurrent('hints work when pasted', () => {
  it('a local delete prints `bm-log restore PATH --at VERSION`: pasted from the folder or from elsewhere, it brings the file back', async () => {
    const { a, b } = await pair({ ...ODD_NAMES, 'keep.md': 'the folder is not emptied\n' });
    for (const [cwd, label] of [
      [b.dir, 'inside'],
      [REPO_ROOT, 'elsewhere'],
    ] as const) {
      const out = await deleteAndSync(a, b, Object.keys(ODD_NAMES), label === 'inside' ? cwd : undefined);
      const restores = commandsIn(out).filter((c) => c.startsWith('bm-log restore '));
      expect(restores, out).toHaveLength(Object.keys(ODD_NAMES).length);
      for (const cmd of restores) {
        expect(cmd).toMatch(/ --at [0-9A-HJKMNP-TV-Z]{26}( |$)/); // a version id, never a hash prefix
        expect(cmd.includes('--dir'), cmd).toBe(label === 'elsewhere');
        const pasted = await pasteInBash(cmd, { cwd });
        expect(pasted.code, describeRun(pasted)).toBe(EXIT.ok);
      }
      for (const [f, content] of Object.entries(ODD_NAMES)) expect(await b.read(f)).toBe(content);
      expectExit(await a.sync(), EXIT.ok);
      expect(sortedObject(await a.tree())).toEqual(sortedObject(await b.tree()));
    }
  }, 240_000);

  it('a delete whose bytes gc collected offers no restore; the history command it prints works', async () => {
    const { a, b } = await pair({ 'gone.md': 'old bytes\n', 'kept.md': 'k\n' });
    await a.rm('gone.md');
    expectExit(await a.sync(), EXIT.ok);
    // Bob is away long enough to be retired; gc collects the delete and its bytes.
    expectExit(await a.run('retire', 'bob'), EXIT.ok);
    for (let i = 0; i < 2; i++) expectExit(await a.run('gc', '--retention', '0s', '--grace', '0s'), EXIT.ok);
    const out = expectExit(await b.run('sync'), EXIT.ok).stdout;
    const line = out.split('\n').find((l) => l.includes('gone.md'));
    expect(line, out).toMatch(/delete locally +gone\.md +\(deleted for everyone and collected by gc; history: `bm-log log gone\.md --dir /);
    expect(out).not.toMatch(/bm-log restore/);
    const history = expectExit(await pasteInBash(commandStarting(out, 'bm-log log'), { cwd: REPO_ROOT }), EXIT.ok);
    expect(history.stdout).toMatch(/deleted +[0-9A-Z]{8} +alice .* gone\.md\n/);
  }, 240_000);

  it('conflicts prints the commands that resolve each conflict, and they do when pasted', async () => {
    const { a, b } = await pair({ 'plan.md': 'base\n', 'other plan.md': 'base\n' });
    for (const f of ['plan.md', 'other plan.md']) {
      await a.write(f, `alice ${f}\n`);
      await b.write(f, `bob ${f}\n`);
    }
    expectExit(await a.sync(), EXIT.ok);
    const synced = expectExit(await b.run('sync'), EXIT.ok).stdout;
    expectExit(await pasteInBash(commandStarting(synced, 'bm-log conflicts'), { cwd: REPO_ROOT }), EXIT.ok);
    const listed = expectExit(await b.run('conflicts'), EXIT.ok).stdout;
    // Keep the file as it is for one, the winning version (by id) for the other.
    expectExit(await pasteInBash(commandStarting(listed, 'bm-log resolve plan.md --dir'), { cwd: REPO_ROOT }), EXIT.ok);
    const keep = commandStarting(listed, "bm-log resolve 'other plan.md' --keep");
    const winner = (await b.conflicts()).find((c) => c.path === 'other plan.md')!.heads[0]!;
    expect(keep).toContain(`--keep ${winner.version}`);
    expectExit(await pasteInBash(keep, { cwd: REPO_ROOT }), EXIT.ok);
    expect(await b.conflicts()).toEqual([]);
    expect(copiesOf(await b.files(), 'plan.md')).toEqual([]);
    expectExit(await a.sync(), EXIT.ok);
    expect(await a.conflicts()).toEqual([]);
    expect(sortedObject(await a.tree())).toEqual(sortedObject(await b.tree()));
  }, 240_000);

  it('error hints name commands that run from where bm-log ran (with --dir, they carry it)', async () => {
    const { w, a } = await pair({ 'docs/x.md': 'x\n', 'y.md': 'y\n', 'z.md': 'z\n' });
    const cases: { args: string[]; exit: number; hint: string; pasteExit: number }[] = [];
    await a.write('docs/x.md', 'changed\n');
    cases.push({ args: ['unsubscribe', 'docs'], exit: EXIT.safety, hint: 'bm-log sync --dir', pasteExit: EXIT.ok });
    const c = await w.init('carol');
    await c.rm('y.md');
    await c.rm('z.md');
    cases.push({ args: ['sync', '--max-delete', '1'], exit: EXIT.safety, hint: 'bm-log sync --dry-run --dir', pasteExit: EXIT.ok });
    cases.push({ args: ['log', '--client', 'nobody'], exit: EXIT.usage, hint: 'bm-log status --dir', pasteExit: EXIT.ok });
    cases.push({ args: ['retire', 'nobody'], exit: EXIT.usage, hint: 'bm-log clients --dir', pasteExit: EXIT.ok });
    for (const k of cases) {
      const client = k.args[0] === 'sync' ? c : a;
      const r = expectExit(await client.run(...k.args), k.exit);
      const pasted = await pasteInBash(commandStarting(r.stderr, k.hint), { cwd: REPO_ROOT });
      expect(pasted.code, describeRun(pasted)).toBe(k.pasteExit);
    }
    // `show` of a delete points at that file's history.
    await a.rm('y.md');
    expectExit(await a.sync(), EXIT.ok);
    const tombstone = (await a.log('y.md')).find((e) => e.type === 'tombstone')!;
    const show = expectExit(await a.run('show', tombstone.version), EXIT.usage);
    // The log line shows the version's last 8 characters, which `show` and `restore --at` take.
    expect(expectExit(await pasteInBash(commandStarting(show.stderr, 'bm-log log y.md'), { cwd: REPO_ROOT }), EXIT.ok).stdout).toMatch(
      new RegExp(`deleted +${tombstone.version.slice(-8)} `),
    );
    // Content gone from the remote (z.md's pack, ADR-0022): `show` says to run verify, which then reports it (exit 5, its answer).
    const put = (await a.log('z.md')).find((e) => e.type === 'put')!;
    await fs.rm(path.join(w.remoteDir, ...(await findPackedContent(w.remoteDir, 'z\n')).key.split('/')));
    const missing = expectExit(await a.run('show', put.version), EXIT.integrity);
    const verify = expectExit(await pasteInBash(commandStarting(missing.stderr, 'bm-log verify'), { cwd: REPO_ROOT }), EXIT.integrity);
    expect(verify.stdout).toMatch(/blob-missing/);
  }, 240_000);
});

describe.concurrent('status (and conflicts, log, ls) without the remote', () => {
  it('shows the local side (pending changes, conflicts known here), says the remote part is unavailable, exits 3', async () => {
    const { w, a, b } = await pair({ 'shared.md': 'base\n', 'edit.md': 'e\n', 'gone.md': 'g\n' });
    await a.write('shared.md', 'alice\n');
    await b.write('shared.md', 'bob\n');
    expectExit(await a.sync(), EXIT.ok);
    expectExit(await b.sync(), EXIT.ok); // the conflict is now known to bob
    await b.write('new.md', 'n\n');
    await b.write('edit.md', 'edited\n');
    await b.rm('gone.md');
    const online = expectExit(await b.run('status', '--json'), EXIT.ok).json;
    await fs.rename(w.remoteDir, `${w.remoteDir}-unmounted`);
    const offline = expectExit(await b.run('status', '--json'), EXIT.retry);
    expect(offline.json).toMatchObject({ remoteAvailable: false, remoteError: { code: 'remote-unavailable' } });
    expect(offline.json.pendingLocal).toEqual(online.pendingLocal);
    expect(offline.json.pendingLocal.map((p: { kind: string; path: string }) => `${p.kind} ${p.path}`).sort()).toEqual([
      'tombstone gone.md',
      'upload edit.md',
      'upload new.md',
    ]);
    expect(offline.json.conflicts.map((c: { path: string }) => c.path)).toEqual(['shared.md']);
    const human = expectExit(await b.run('status'), EXIT.retry);
    expect(human.stdout).toMatch(/remote .* UNAVAILABLE \(remote-unavailable\)/);
    expect(human.stdout).toMatch(/pending {2}3 local change\(s\) to publish, remote changes unknown/);
    expect(human.stdout).toMatch(/conflicts 1 \(known here\)\n {2}shared\.md/);
    expect(human.stderr).toMatch(/error \[remote-unavailable\]/);
    // Its siblings that read only this client's records answer as usual.
    expect((await b.conflicts()).map((c) => c.path)).toEqual(['shared.md']);
    expect((await b.log('shared.md')).length).toBeGreaterThan(1);
    expect(expectExit(await b.run('ls', '--json'), EXIT.ok).json.files.map((f: { path: string }) => f.path)).toContain('gone.md');
    await fs.rename(`${w.remoteDir}-unmounted`, w.remoteDir);
  }, 240_000);
});

describe.concurrent('names as humans see them', () => {
  it('control characters print escaped, NFC and NFD twins print differently, --json keeps the exact names', async () => {
    const w = await world();
    const names = ['evil\x1b[2J.md', 'new\nline.md', 'caf\u00e9.md', 'cafe\u0301.md'];
    const a = w.client('alice');
    for (const n of names) await a.write(n, `${JSON.stringify(n)}\n`);
    const human = expectExit(await runCli(['init', '--create', '--remote', w.remoteDir, '--dir', a.dir]), EXIT.ok).stdout;
    expect(human).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    for (const shown of ['evil\\x1b[2J.md', 'new\\nline.md', 'café.md', 'cafe\\u{301}.md']) expect(human).toContain(shown);
    const ls = expectExit(await a.run('ls'), EXIT.ok).stdout;
    expect(ls).toContain(' café.md\n');
    expect(ls).toContain(' cafe\\u{301}.md\n');
    const json = expectExit(await a.run('ls', '--json'), EXIT.ok).json;
    expect(json.files.map((f: { path: string }) => f.path).sort()).toEqual(['caf\u00e9.md', 'cafe\u0301.md'].sort());
    const notices = (await a.syncOk()).notices.map((n) => n.path);
    expect(notices).toEqual(expect.arrayContaining(['evil\x1b[2J.md', 'new\nline.md']));
  }, 240_000);
});
