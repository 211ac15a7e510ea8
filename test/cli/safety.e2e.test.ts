/**
 * Safety end to end, with the built CLI in child processes on a local-directory remote:
 * scope (subscriptions, ignore rules), delete guards, dry runs, symlinks, one process per
 * folder, usage errors and integrity failures, each checked by exit code and by what is on
 * disk locally and remotely afterwards.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  EXIT,
  describeRun,
  expectExit,
  findPackedContent,
  flipByte,
  hashTree,
  opsOn,
  runCli,
  sha256,
  sleep,
  sortedObject,
  useWorlds,
  type Client,
  type World,
} from './support/cli.js';

const { world, pair } = useWorlds();

function numbered(n: number, prefix = 'f'): Record<string, string> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${String(i).padStart(3, '0')}.md`, `file ${i}\n`]));
}

/** A client (not synced yet) holding `n` small files: its first sync takes a while. */
/**
 * A client with `n` small notes (one pack, ADR-0022, written in a blink) and twelve 50 MB files
 * (blobs of their own, uploaded after the pack): a sync long enough for a second process to
 * meet it once its first content is on the remote.
 */
async function bulkClient(w: World, n: number): Promise<Client> {
  const a = w.client('alice');
  await fs.mkdir(a.abs('big'), { recursive: true });
  for (let k = 0; k < 12; k++) await fs.writeFile(a.abs(`big/b${k}.bin`), new Uint8Array(50_000_000).fill(k + 1));
  for (let d = 0; d < 30; d++) await fs.mkdir(a.abs(`bulk/d${d}`), { recursive: true });
  for (let i = 0; i < n; i += 250) {
    await Promise.all(
      Array.from({ length: Math.min(250, n - i) }, (_, j) =>
        fs.writeFile(a.abs(`bulk/d${(i + j) % 30}/f${i + j}.md`), `bulk file ${i + j}\n`),
      ),
    );
  }
  return w.init('alice', { noSync: true });
}

/** Waits until the first blob reaches the remote: `child` holds the folder and is mid-round. */
/** Waits until the first content (a pack or a blob) of `child`'s sync is on the remote. */
async function untilFirstBlob(w: World, child: { done: Promise<{ code: number | null; stdout: string; stderr: string }> }): Promise<void> {
  let ended: { code: number | null; stdout: string; stderr: string } | undefined;
  void child.done.then((r) => (ended = r));
  const any = async (dir: string) => (await fs.readdir(path.join(w.remoteDir, dir)).catch(() => [])).length > 0;
  while (ended === undefined && !(await any('blobs')) && !(await any('packs'))) await sleep(3);
  if (ended)
    throw new Error(
      `the sync ended (exit ${ended.code}) before a second process could start; make the tree larger\n${ended.stdout.slice(-2000)}\n${ended.stderr}`,
    );
}

const INTEGRITY_CODES = [
  'malformed',
  'unknown-version',
  'bad-signature',
  'unknown-key',
  'key-mismatch',
  'broken-chain',
  'equivocation',
  'blob-corrupt',
  'blob-missing',
  'wrong-vault',
  'bad-path',
];

describe.concurrent('subscriptions', () => {
  it('unsubscribe removes a folder here only; its changes are not downloaded; subscribe brings back the current state', async () => {
    const { a, b } = await pair({ 'top.md': 'top\n', 'docs/x.md': 'x1\n', 'docs/sub/y.md': 'y1\n' });
    const r = expectExit(await b.run('unsubscribe', 'docs', '--json'), EXIT.ok);
    expect(r.json.unsubscribed).toBe('docs/');
    expect([...r.json.removedLocally].sort()).toEqual(['docs/sub/y.md', 'docs/x.md']);
    expect(await b.files()).toEqual(['top.md']);
    // Syncing afterwards publishes nothing: the removal is local, not a delete for everyone.
    const rb = await b.syncOk();
    expect(rb.eventsPublished).toBe(0);
    await a.write('docs/x.md', 'x2\n');
    await a.write('docs/z.md', 'z1\n');
    await a.syncOk();
    expect(await a.files()).toEqual(['docs/sub/y.md', 'docs/x.md', 'docs/z.md', 'top.md']);
    const rb2 = await b.syncOk();
    expect(rb2.applied.filter((o) => o.path.startsWith('docs/'))).toEqual([]);
    expect(await b.files()).toEqual(['top.md']);
    expect((await b.log()).filter((e) => e.type === 'tombstone')).toEqual([]);
    expect((await a.log()).filter((e) => e.type === 'tombstone')).toEqual([]);
    const s = expectExit(await b.run('subscribe', 'docs', '--json'), EXIT.ok);
    expect(opsOn(s.json, 'docs/x.md')).toEqual(['download']);
    expect(sortedObject(await b.tree())).toEqual(sortedObject(await a.tree()));
    expect(await b.read('docs/x.md')).toBe('x2\n');
  });

  it('unsubscribe with changes not synced yet is refused with exit 4 and removes nothing', async () => {
    const { b } = await pair({ 'top.md': 'top\n', 'docs/x.md': 'x1\n' });
    await b.write('docs/x.md', 'unsynced edit\n');
    await b.write('docs/new.md', 'unsynced new file\n');
    const before = await b.tree();
    const r = expectExit(await b.run('unsubscribe', 'docs/'), EXIT.safety);
    expect(r.stderr).toMatch(/safety-guard/);
    expect(r.stderr).toMatch(/docs\/x\.md/);
    expect(r.stderr).toMatch(/next: .*sync/);
    expect(sortedObject(await b.tree())).toEqual(sortedObject(before));
    // Still subscribed: the edits sync normally.
    const rb = await b.syncOk();
    expect(rb.applied.map((o) => `${o.kind} ${o.path}`).sort()).toEqual(['upload docs/new.md', 'upload docs/x.md']);
  });
});

describe.concurrent('ignore rules', () => {
  it('.bmignore patterns and the built-ins (.git/, .DS_Store) keep files local', async () => {
    const w = await world();
    const a = await w.init('alice', {
      files: {
        '.bmignore': 'secret/\n*.log\n',
        'note.md': 'shared\n',
        'secret/key.md': 'private\n',
        'build/debug.log': 'log\n',
        '.git/config': '[core]\n',
        '.git/objects/ab/cdef': 'object\n',
        '.DS_Store': 'junk',
        'docs/.DS_Store': 'junk',
        'docs/readme.md': 'readme\n',
      },
    });
    await a.syncOk();
    const b = await w.init('bob');
    expect(await b.files()).toEqual(['.bmignore', 'docs/readme.md', 'note.md']);
    const logged = (await a.log()).map((e) => e.path).sort();
    expect(logged).toEqual(['.bmignore', 'docs/readme.md', 'note.md']);
    // Ignored files stay ignored when they change, and when they exist on the other side too.
    await a.write('secret/key.md', 'private 2\n');
    await b.write('.git/config', '[other]\n');
    expect((await a.syncOk()).eventsPublished).toBe(0);
    expect((await b.syncOk()).eventsPublished).toBe(0);
    expect(await b.read('.git/config')).toBe('[other]\n');
    expect(await a.read('.git/config')).toBe('[core]\n');
  });

  it('a pattern added for an already-synced file, then deleting it locally, publishes no tombstone', async () => {
    const { a, b } = await pair({ 'note.md': 'shared\n', 'local-only.md': 'synced once\n' });
    await a.write('.bmignore', 'local-only.md\n');
    await a.rm('local-only.md');
    const ra = await a.syncOk();
    expect(opsOn(ra, 'local-only.md', 'plan')).toEqual([]);
    expect((await a.log('local-only.md')).map((e) => e.type)).toEqual(['put']);
    await b.syncOk();
    expect(await b.read('local-only.md')).toBe('synced once\n');
    expect((await b.log()).filter((e) => e.type === 'tombstone')).toEqual([]);
  });
});

describe.concurrent('delete guards', () => {
  it('--max-delete 2 with 3 deletes exits 4 and publishes nothing', async () => {
    const { w, a, b } = await pair(numbered(5));
    for (const f of ['f000.md', 'f001.md', 'f002.md']) await a.rm(f);
    const remoteBefore = await w.remoteTree();
    const r = expectExit(await a.sync('--max-delete', '2'), EXIT.safety);
    expect(r.stderr).toMatch(/would delete 3 of 5 files/);
    expect(r.stderr).toMatch(/next: /);
    // With --json the refusal is also stdout's one JSON document (regression: stdout was empty).
    expect(r.json?.error).toMatchObject({ code: 'safety-guard', exit: EXIT.safety, message: expect.stringMatching(/would delete 3 of 5/) });
    expect(sortedObject(await w.remoteTree())).toEqual(sortedObject(remoteBefore));
    await b.syncOk();
    expect(await b.files()).toHaveLength(5);
    // At the limit it passes.
    await a.syncOk('--max-delete', '3');
    await b.syncOk();
    expect(await b.files()).toEqual(['f003.md', 'f004.md']);
  });

  it('the default guard refuses deleting more than half of 20+ files (exit 4); --force passes', async () => {
    const { a, b } = await pair(numbered(20));
    for (let i = 0; i < 11; i++) await a.rm(`f${String(i).padStart(3, '0')}.md`);
    const r = expectExit(await a.sync(), EXIT.safety);
    expect(r.stderr).toMatch(/would delete 11 of 20 files/);
    expect((await a.log()).filter((e) => e.type === 'tombstone')).toEqual([]);
    await b.syncOk();
    expect(await b.files()).toHaveLength(20);
    const rf = await a.syncOk('--force');
    expect(rf.applied.filter((o) => o.kind === 'tombstone')).toHaveLength(11);
    await b.syncOk();
    expect(await b.files()).toHaveLength(9);
  });

  it('an emptied sync folder is refused with exit 4, even under --max-delete', async () => {
    const { w, a, b } = await pair(numbered(3));
    for (const f of await a.files()) await a.rm(f);
    const remoteBefore = await w.remoteTree();
    const r = expectExit(await a.sync('--max-delete', '1000'), EXIT.safety);
    expect(r.stderr).toMatch(/empty/);
    expect(r.stderr).toMatch(/--force/);
    expect(sortedObject(await w.remoteTree())).toEqual(sortedObject(remoteBefore));
    await b.syncOk();
    expect(await b.files()).toHaveLength(3);
  });

  it('--dry-run prints the plan and changes nothing locally or remotely', async () => {
    const { w, a, b } = await pair({ 'edit.md': 'v1\n', 'gone.md': 'bye\n', 'theirs.md': 't1\n', 'same.md': 'same\n' });
    await b.write('theirs.md', 't2 from bob\n');
    await b.syncOk();
    await a.write('edit.md', 'v2\n');
    await a.rm('gone.md');
    await a.write('new/file.md', 'new\n');
    const localBefore = await a.tree();
    const stateBefore = await hashTree(path.join(a.dir, '.bm-log'), { skipName: (n) => n === 'LOCK' || n === 'LOG' || n === 'LOG.old' });
    const remoteBefore = await w.remoteTree();
    const r = expectExit(await a.sync('--dry-run'), EXIT.ok);
    expect(r.json.dryRun).toBe(true);
    expect(r.json.applied).toEqual([]);
    expect(r.json.plan.map((o: { kind: string; path: string }) => `${o.kind} ${o.path}`).sort()).toEqual([
      'download theirs.md',
      'tombstone gone.md',
      'upload edit.md',
      'upload new/file.md',
    ]);
    const human = expectExit(await runCli(['sync', '--dry-run', '--dir', a.dir]), EXIT.ok);
    expect(human.stdout).toMatch(/dry run: 4 operation\(s\) would run; nothing was changed/);
    expect(sortedObject(await a.tree())).toEqual(sortedObject(localBefore));
    expect(sortedObject(await w.remoteTree())).toEqual(sortedObject(remoteBefore));
    // The dry run did not advance anything the next real sync depends on.
    expect(
      (await hashTree(path.join(a.dir, '.bm-log'), { skipName: (n) => n === 'LOCK' || n === 'LOG' || n === 'LOG.old' })).get('config.json'),
    ).toBe(stateBefore.get('config.json'));
    const real = await a.syncOk();
    expect(
      real.applied
        .filter((o) => o.kind !== 'record' && o.kind !== 'forget')
        .map((o) => `${o.kind} ${o.path}`)
        .sort(),
    ).toEqual(['download theirs.md', 'tombstone gone.md', 'upload edit.md', 'upload new/file.md']);
  });
});

describe.concurrent('human output', () => {
  it('lists 200 ops, every local delete with its restore line, and counts the rest (the sync keeps only those)', async () => {
    const { a, b } = await pair(numbered(5));
    for (let i = 0; i < 230; i++) await a.write(`bulk/n${String(i).padStart(3, '0')}.md`, `new ${i}\n`);
    for (const f of ['f000.md', 'f001.md', 'f002.md']) await a.rm(f);
    const ra = expectExit(await runCli(['sync', '--max-delete', '3', '--dir', a.dir]), EXIT.ok);
    const lines = (out: string, label: string) => out.split('\n').filter((l) => l.startsWith(`  ${label}`));
    expect(lines(ra.stdout, 'upload ')).toHaveLength(200 - lines(ra.stdout, 'delete for everyone').length);
    expect(ra.stdout).toMatch(/\.\.\. and 33 more \(all of them: --json\)/);
    expect(ra.stdout).toMatch(/synced: 230 uploaded, 0 downloaded, 3 deleted for everyone, 0 deleted locally, 233 event\(s\) published/);
    const rb = expectExit(await runCli(['sync', '--dir', b.dir]), EXIT.ok);
    expect(lines(rb.stdout, 'download ')).toHaveLength(200);
    // (Listed as carried out: concurrent deletes finish in any order.)
    // Each names the version the deleted file showed (a version id, never a hash prefix; hints.e2e pastes them).
    expect(
      lines(rb.stdout, 'delete locally')
        .map((l) => l.replace(/ --at [0-9A-HJKMNP-TV-Z]{26} --dir \S+`\)$/, '`)'))
        .sort(),
    ).toEqual(['f000.md', 'f001.md', 'f002.md'].map((f) => `  ${'delete locally'.padEnd(22)} ${f}  (restore: \`bm-log restore ${f}\`)`));
    expect(rb.stdout).toMatch(/\.\.\. and 30 more/);
    expect(rb.stdout).toMatch(/synced: 0 uploaded, 230 downloaded, 0 deleted for everyone, 3 deleted locally/);
    expect(await b.files()).toHaveLength(232);
  });

  it('--json lists every op carried out, with the counts by kind', async () => {
    const { a } = await pair(numbered(5));
    for (let i = 0; i < 230; i++) await a.write(`bulk/n${String(i).padStart(3, '0')}.md`, `new ${i}\n`);
    // What a bm-log killed during a --json sync leaves: removed by the next one.
    await fs.writeFile(a.abs('.bm-log/json-list-999-dead.jsonl'), '{"kind":"upload"}\n');
    const r = await a.syncOk();
    const uploads = r.applied.filter((o) => o.kind === 'upload');
    expect(uploads.map((o) => o.path).sort()).toEqual(Array.from({ length: 230 }, (_, i) => `bulk/n${String(i).padStart(3, '0')}.md`));
    expect(r['appliedCounts']).toMatchObject({ upload: 230, download: 0, deleteLocal: 0 });
    // The ops went through a file in the state folder (ADR-0013); nothing of it is left.
    expect((await fs.readdir(a.abs('.bm-log'))).filter((n) => n.startsWith('json-list-'))).toEqual([]);
  });
});

describe.concurrent('symlinks', () => {
  it('a symlink pointing outside the root is skipped with a notice and never uploaded', async () => {
    const w = await world();
    const outside = path.join(w.base, 'outside');
    await fs.mkdir(outside);
    await fs.writeFile(path.join(outside, 'secret.md'), 'outside secret\n');
    const a = w.client('alice');
    await a.write('note.md', 'shared\n');
    await fs.symlink(outside, a.abs('linked-dir'));
    await fs.symlink(path.join(outside, 'secret.md'), a.abs('linked-file.md'));
    const a2 = await w.init('alice', { noSync: true });
    const r = await a2.syncOk();
    const noticed = r.notices
      .filter((n) => /symlink/.test(n.detail))
      .map((n) => n.path)
      .sort();
    expect(noticed).toEqual(['linked-dir', 'linked-file.md']);
    expect((await a.log()).map((e) => e.path)).toEqual(['note.md']);
    const remote = await w.remoteTree();
    expect([...remote.keys()].filter((k) => k.startsWith('blobs/') && k.endsWith(sha256('outside secret\n')))).toEqual([]);
    const b = await w.init('bob');
    expect(await b.files()).toEqual(['note.md']);
  });

  it('a remote path never writes through a symlinked folder', async () => {
    const { w, a, b } = await pair({ 'note.md': 'shared\n' });
    const outside = path.join(w.base, 'outside-b');
    await fs.mkdir(outside);
    await fs.symlink(outside, b.abs('dir'));
    await a.write('dir/x.md', 'from alice\n');
    await a.write('dir/deeper/y.md', 'from alice\n');
    await a.syncOk();
    const rb = await b.sync();
    // The download is skipped, so the sync is not a plain success (ADR-0016).
    expect(rb.code, rb.stderr).toBe(EXIT.retry);
    expect(await fs.readdir(outside)).toEqual([]);
    expect((await fs.lstat(b.abs('dir'))).isSymbolicLink()).toBe(true);
    expect(rb.json.skipped.map((s: { path: string }) => s.path)).toContain('dir/x.md');
    // Nothing was published on Bob's side because of the link (no tombstones, no uploads).
    expect((await b.log()).filter((e) => e.clientName === 'bob')).toEqual([]);
  });
});

describe.concurrent('processes, usage and remote errors', () => {
  it('a second bm-log process on the same folder exits 3 while a long sync runs', async () => {
    const w = await world();
    const a = await bulkClient(w, 2500);
    const long = a.spawn('sync', '--json');
    await untilFirstBlob(w, long);
    const second = await a.sync();
    const first = await long.done;
    expect(first.code, first.stderr).toBe(EXIT.ok);
    expect(second.code, second.stderr).toBe(EXIT.retry);
    expect(second.stderr).toMatch(/already-running|another bm-log process/);
    expect(second.stderr).toMatch(/next: /);
    expect(expectExit(await a.run('verify', '--json'), EXIT.ok).json.ok).toBe(true);
  }, 180_000);

  // onTestFinished from the test context: the global one is not tied to this test under describe.concurrent.
  it('`sync --watch` holds the folder during a round and stops promptly on SIGTERM sent mid-round', async ({ onTestFinished }) => {
    const w = await world();
    const a = await bulkClient(w, 1500);
    const watch = a.spawn('sync', '--watch', '--interval', '300');
    onTestFinished(() => {
      if (watch.exitCode === null && watch.signalCode === null) watch.kill('SIGKILL');
    });
    await untilFirstBlob(w, watch);
    expect(expectExit(await a.sync(), EXIT.retry).stderr).toMatch(/another bm-log process/);
    const segments = path.join(w.remoteDir, 'log', await a.clientId());
    const roundOver = (await fs.readdir(segments).catch(() => [])).length > 0;
    expect(roundOver, 'the round ended before SIGTERM was sent; make the tree larger').toBe(false);
    watch.kill('SIGTERM');
    // The round in flight runs to its end (its segment appears), then the process must exit.
    // Regression: a signal during a round used to be noticed only after the next --interval (here 300 s).
    let exited = false;
    void watch.done.then(() => (exited = true));
    while (!exited && (await fs.readdir(segments).catch(() => [])).length === 0) await sleep(20);
    const stopped = await Promise.race([watch.done.then(() => true), sleep(30_000).then(() => false)]);
    if (!stopped) watch.kill('SIGKILL');
    expect(stopped, '`sync --watch` was still running 30 s after its round ended and SIGTERM had come').toBe(true);
    const r = await watch.done;
    expect(r.code, `signal ${r.signal}\n${r.stdout.slice(-1000)}\n${r.stderr}`).toBe(EXIT.ok);
    // The round in flight was finished, not abandoned.
    expect(r.stdout).toMatch(/synced: 1512 uploaded/);
    expect((await a.syncOk()).plan).toEqual([]);
  }, 180_000);

  it('usage errors exit 2 with a hint line', async () => {
    const w = await world();
    const a = await w.init('alice', { files: { 'note.md': 'x\n' } });
    const unknown = expectExit(await a.run('sync', '--bogus'), EXIT.usage);
    expect(unknown.stderr).toMatch(/unknown option '--bogus'/);
    expect(unknown.stderr).toMatch(/--help/);
    expect(unknown.stdout).toBe('');
    const unknownJson = expectExit(await a.run('sync', '--json', '--bogus'), EXIT.usage);
    expect(unknownJson.json?.error).toMatchObject({
      code: 'usage',
      exit: EXIT.usage,
      message: expect.stringMatching(/unknown option '--bogus'/),
    });
    const bad = expectExit(await a.run('sync', '--max-delete', 'lots'), EXIT.usage);
    expect(bad.stderr).toMatch(/--max-delete must be a whole number/);
    expect(bad.stderr).toMatch(/next: for example: --max-delete/);
    const negative = expectExit(await a.run('sync', '--max-delete', '-1'), EXIT.usage);
    expect(negative.stderr).toMatch(/--max-delete/);
    const plain = path.join(w.base, 'plain');
    await fs.mkdir(plain);
    for (const cmd of ['sync', 'status', 'conflicts', 'verify']) {
      const r = expectExit(await runCli([cmd, '--dir', plain]), EXIT.usage);
      expect(r.stderr).toMatch(/not inside a bm-log folder/);
      expect(r.stderr).toMatch(/next: run `bm-log init --remote URL`/);
    }
    const notClientJson = expectExit(await runCli(['status', '--json', '--dir', plain]), EXIT.usage);
    expect(notClientJson.json?.error).toMatchObject({ code: 'not-a-client', exit: EXIT.usage, hint: expect.stringMatching(/bm-log init/) });
    const again = expectExit(await runCli(['init', '--remote', w.remoteDir, '--dir', a.dir]), EXIT.usage);
    expect(again.stderr).toMatch(/already a bm-log folder/);
    expect(expectExit(await runCli(['frobnicate']), EXIT.usage).stderr).toMatch(/unknown command/);
  });

  it('an unreachable remote folder exits 3 (retryable) and changes nothing', async () => {
    const { w, a } = await pair({ 'note.md': 'x\n' });
    await a.write('note.md', 'edit\n');
    const moved = `${w.remoteDir}-unmounted`;
    await fs.rename(w.remoteDir, moved);
    const r = expectExit(await a.sync(), EXIT.retry);
    expect(r.stderr).toMatch(/remote-unavailable/);
    await fs.rename(moved, w.remoteDir);
    expect(opsOn(await a.syncOk(), 'note.md')).toEqual(['upload']);
  });
});

describe.concurrent('integrity', () => {
  it("a flipped byte in a segment: the other client's sync exits 5 and reports it; verify exits 5", async () => {
    const { w, a, b } = await pair({ 'note.md': 'v1\n', 'other.md': 'o\n' });
    await a.write('note.md', 'v2\n');
    await a.syncOk();
    const aId = await a.clientId();
    // Alice's latest segment, the edit's (earlier ones may be bob's admission, which bob has read).
    const object = `log/${aId}/${(await fs.readdir(path.join(w.remoteDir, 'log', aId))).sort().at(-1)}`;
    await flipByte(path.join(w.remoteDir, ...object.split('/')));
    const rb = expectExit(await b.sync(), EXIT.integrity);
    expect(rb.json.faults.map((f: { object: string }) => f.object)).toEqual([object]);
    expect(INTEGRITY_CODES).toContain(rb.json.faults[0].code);
    expect(await b.read('note.md')).toBe('v1\n');
    const human = expectExit(await b.run('sync'), EXIT.integrity);
    expect(human.stdout).toMatch(new RegExp(`INTEGRITY ${object}`));
    for (const c of [a, b]) {
      const v = expectExit(await c.run('verify', '--json'), EXIT.integrity);
      expect(v.json.ok).toBe(false);
      expect(v.json.findings.map((f: { object: string }) => f.object)).toContain(object);
    }
  });

  it('a flipped byte in a blob: verify exits 5 (blob-corrupt) and no client writes the bad bytes', async () => {
    const { w, a } = await pair({ 'note.md': 'v1\n' });
    const content = 'content that will be tampered with\n';
    await a.write('victim.md', content);
    await a.syncOk();
    // Small contents are packed (ADR-0022): the byte flipped is the note's own, in its pack.
    const { key: object, offset } = await findPackedContent(w.remoteDir, content);
    await flipByte(path.join(w.remoteDir, ...object.split('/')), offset + 3);
    const v = expectExit(await a.run('verify', '--json'), EXIT.integrity);
    expect(v.json.findings).toContainEqual(expect.objectContaining({ object, code: 'blob-corrupt' }));
    const human = expectExit(await a.run('verify'), EXIT.integrity);
    expect(human.stdout).toMatch(/blob-corrupt/);
    const c = await w.init('carol', { noSync: true });
    const rc = await c.sync();
    // The bad bytes are never written; the rest of the tree is.
    expect(c.exists('victim.md')).toBe(false);
    expect(await c.read('note.md')).toBe('v1\n');
    expect(rc.json.skipped.map((s: { path: string }) => s.path)).toContain('victim.md');
    // Exit 5 per the exit-code contract ("a tampered or missing blob"); exit 0 is what a sync
    // that only skipped the file returned before the skipped-blob exit code change.
    expect([EXIT.integrity, EXIT.ok], describeRun(rc)).toContain(rc.code);
  });
});
