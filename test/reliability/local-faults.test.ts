import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { admitMember } from '../support/members.js';
import { executeInit } from '../../src/client/client-session.js';
import { withClient } from '../../src/client/client-queries.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { isBmError } from '../../src/errors.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { CLEAN_STATE_KEY } from '../../src/reconcile/ports.js';
import { LocalIndex } from '../../src/local/local-index.js';
import type { LocalTree } from '../../src/reconcile/ports.js';
import type { LocalFile } from '../../src/reconcile/ports.js';
import { runSync, type SyncReport } from '../../src/reconcile/run-sync.js';
import { IS_ROOT, chownForCli, runCliJson, syncJson, tryTmpfsMount, type SyncJson } from './support.js';

/**
 * Local faults on real folders: files and folders that cannot be read, writes that fail,
 * a full disk, and user changes racing a sync (while hashing, between the scan and a
 * download or delete, a folder vanishing mid-scan or mid-sync).
 *
 * Techniques, because CI runs these tests as root (where permission bits stop nothing):
 * - permission faults run the built CLI as a child process as user nobody (65534) when the
 *   tests are root, so chmod 000 / 555 give a real EACCES (as themselves otherwise);
 * - the full disk is a 1 MiB tmpfs mounted on a subfolder (needs root and mount rights;
 *   skipped with the reason otherwise);
 * - races are made deterministic by wrapping the LocalTree port, or by patching node:fs
 *   (`syncBuiltinESMExports`, so FsTree's own imports see the patch) for the scan's hashing
 *   and folder reads, which the port does not expose.
 */

const bases: string[] = [];

afterAll(async () => {
  for (const b of bases) {
    await chmodTree(b);
    await fs.rm(b, { recursive: true, force: true });
  }
});

/** Makes every folder below `dir` writable again (cleanup after permission tests). */
async function chmodTree(dir: string): Promise<void> {
  try {
    await fs.chmod(dir, 0o755);
    for (const ent of await fs.readdir(dir, { withFileTypes: true })) if (ent.isDirectory()) await chmodTree(path.join(dir, ent.name));
  } catch {
    // gone already
  }
}

interface Pair {
  readonly base: string;
  readonly alice: string;
  readonly bob: string;
}

/** A directory remote with alice (created with `files`) and bob joined and synced. */
async function createPair(files: Readonly<Record<string, string>>): Promise<Pair> {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'bm-log-local-faults-'));
  bases.push(base);
  const remote = path.join(base, 'remote');
  const pair = { base, alice: path.join(base, 'alice'), bob: path.join(base, 'bob') };
  for (const [rel, text] of Object.entries(files)) await write(pair.alice, rel, text);
  await executeInit(pair.alice, { remote: { url: remote }, name: 'alice', create: true });
  expect((await syncJson(pair.alice)).code).toBe(ExitCode.ok);
  await executeInit(pair.bob, { remote: { url: remote }, name: 'bob', create: false });
  await admitMember(pair.alice, 'bob');
  expect((await syncJson(pair.bob)).code).toBe(ExitCode.ok);
  return pair;
}

const abs = (root: string, rel: string) => path.join(root, ...rel.split('/'));
async function write(root: string, rel: string, text: string | Uint8Array): Promise<void> {
  await fs.mkdir(path.dirname(abs(root, rel)), { recursive: true });
  await fs.writeFile(abs(root, rel), text);
}
const read = (root: string, rel: string) => fs.readFile(abs(root, rel), 'utf8');
const exists = (root: string, rel: string) => fsSync.existsSync(abs(root, rel));
const kinds = (r: SyncJson | SyncReport, kind: string) =>
  r.applied
    .filter((o) => o.kind === kind)
    .map((o) => o.path)
    .sort();

/** Runs the engine on `dir` with its LocalTree wrapped by `wrap`. */
async function syncWithTree(dir: string, wrap: (tree: LocalTree) => LocalTree): Promise<SyncReport> {
  return withClient(dir, (s) => runSync({ ...s.ctx, tree: wrap(s.ctx.tree) }));
}

interface RaceHooks {
  /** Before a write starts (before its parent folders are made). */
  readonly beforeWrite?: (p: SyncPath) => Promise<void>;
  /** After the write has consumed its content: right before its guard re-checks the target. */
  readonly beforeGuard?: (p: SyncPath) => Promise<void>;
  /** Right before a guarded delete checks its file. */
  readonly beforeRemove?: (p: SyncPath) => Promise<void>;
}

/** A LocalTree that lets the user act at chosen points of guarded writes and deletes. */
function racingTree(tree: LocalTree, hooks: RaceHooks): LocalTree {
  return {
    root: tree.root,
    scan: (m, ig) => tree.scan(m, ig),
    unchanged: (w) => tree.unchanged(w),
    diffWitness: (w, s) => tree.diffWitness(w, s),
    witnessBase: (w) => tree.witnessBase(w),
    rescan: (prev, touched, m, ig) => tree.rescan(prev, touched, m, ig),
    openRead: (p) => tree.openRead(p),
    statFile: (p) => tree.statFile(p),
    writeFile: async (p, content, hash, mode, expect) => {
      await hooks.beforeWrite?.(p);
      const hooked = (async function* () {
        yield* content;
        await hooks.beforeGuard?.(p);
      })();
      return tree.writeFile(p, hooked, hash, mode, expect);
    },
    removeFile: async (p, expect: LocalFile) => {
      await hooks.beforeRemove?.(p);
      return tree.removeFile(p, expect);
    },
  };
}

/** Replaces a function of node:fs or node:fs/promises for FsTree until the returned undo is called. */
function patchFs<M extends object, K extends keyof M>(mod: M, name: K, replacement: (original: M[K]) => M[K]): () => void {
  const original = mod[name];
  (mod as Record<K, M[K]>)[name] = replacement(original);
  syncBuiltinESMExports();
  return () => {
    (mod as Record<K, M[K]>)[name] = original;
    syncBuiltinESMExports();
  };
}

/** Syncs `dir` (in-process CLI handler) and always undoes an fs patch afterwards; returns the report. */
async function syncJsonThenUndo(dir: string, undo: () => void): Promise<SyncJson> {
  try {
    return (await syncJson(dir)).report;
  } finally {
    undo();
  }
}

describe('files and folders that cannot be read', () => {
  it(`are reported and never read as deleted (${IS_ROOT ? 'CLI run as nobody, since root ignores permission bits' : 'CLI run as this user'})`, async () => {
    const p = await createPair({ 'a.md': 'a\n', 'secret.md': 'secret\n', 'locked/x.md': 'x\n', 'locked/y.md': 'y\n' });
    await write(p.alice, 'a.md', 'a edited\n');
    // Changed since the last sync (so it must be read again) and new: both unreadable.
    await write(p.alice, 'secret.md', 'secret edited\n');
    await write(p.alice, 'new-secret.md', 'new secret\n');
    await chownForCli(p.base);
    for (const f of ['secret.md', 'new-secret.md', 'locked']) await fs.chmod(abs(p.alice, f), 0o000);

    const r = await runCliJson(['sync', '--dir', p.alice]);
    expect(r.code, r.stderr).toBe(ExitCode.ok);
    const report = r.json as SyncJson;
    expect(report.notices).toContainEqual(expect.objectContaining({ path: 'secret.md', detail: expect.stringContaining('EACCES') }));
    expect(report.notices).toContainEqual(expect.objectContaining({ path: 'new-secret.md', detail: expect.stringContaining('EACCES') }));
    expect(report.notices).toContainEqual(expect.objectContaining({ path: 'locked', detail: expect.stringContaining('EACCES') }));
    expect(kinds(report, 'tombstone')).toEqual([]);
    expect(kinds(report, 'upload')).toEqual(['a.md']);

    const b = await syncJson(p.bob);
    expect(kinds(b.report, 'deleteLocal')).toEqual([]);
    expect(await read(p.bob, 'a.md')).toBe('a edited\n');
    expect(await read(p.bob, 'secret.md')).toBe('secret\n');
    expect(await read(p.bob, 'locked/y.md')).toBe('y\n');

    // Readable again: nothing to delete, nothing lost.
    for (const f of ['secret.md', 'new-secret.md']) await fs.chmod(abs(p.alice, f), 0o644);
    await fs.chmod(abs(p.alice, 'locked'), 0o755);
    await chownForCli(p.base);
    const again = await runCliJson(['sync', '--dir', p.alice]);
    expect(again.code, again.stderr).toBe(ExitCode.ok);
    expect(kinds(again.json as SyncJson, 'tombstone')).toEqual([]);
    expect(kinds(again.json as SyncJson, 'upload')).toEqual(['new-secret.md', 'secret.md']);
    expect(await read(p.alice, 'locked/x.md')).toBe('x\n');
  });
});

describe('writes that fail', () => {
  it(`a read-only folder: the download into it is skipped (local-io, exit 3), the rest syncs, nothing half-written (${IS_ROOT ? 'CLI run as nobody' : 'CLI'})`, async () => {
    const p = await createPair({ 'ro/keep.md': 'keep\n' });
    await write(p.bob, 'ro/new.md', 'new from bob\n');
    await write(p.bob, 'other.md', 'other from bob\n');
    expect((await syncJson(p.bob)).code).toBe(ExitCode.ok);
    await chownForCli(p.base);
    await fs.chmod(abs(p.alice, 'ro'), 0o555);

    const r = await runCliJson(['sync', '--dir', p.alice]);
    // A skipped file is no plain success (ADR-0016): exit 3, retry once the cause is fixed.
    expect(r.code, r.stderr).toBe(ExitCode.retry);
    const report = r.json as SyncJson;
    expect(report.skipped).toContainEqual(
      expect.objectContaining({ path: 'ro/new.md', op: 'download', code: 'local-io', detail: expect.stringContaining('EACCES') }),
    );
    expect(await read(p.alice, 'other.md')).toBe('other from bob\n');
    expect(await read(p.alice, 'ro/keep.md')).toBe('keep\n');
    expect(await fs.readdir(abs(p.alice, 'ro'))).toEqual(['keep.md']);

    await fs.chmod(abs(p.alice, 'ro'), 0o755);
    const again = await runCliJson(['sync', '--dir', p.alice]);
    expect(again.code, again.stderr).toBe(ExitCode.ok);
    expect(await read(p.alice, 'ro/new.md')).toBe('new from bob\n');
  });

  it('a regular file where the parent folder must be: the write is refused (local-io) and the file kept', async () => {
    const p = await createPair({ 'a.md': 'a\n' });
    await write(p.bob, 'docs/new.md', 'docs from bob\n');
    expect((await syncJson(p.bob)).code).toBe(ExitCode.ok);
    // The file appears after the scan, so the plan still downloads into docs/.
    const report = await syncWithTree(p.alice, (t) =>
      racingTree(t, {
        beforeWrite: async (rel) => {
          if (rel === 'docs/new.md') await fs.writeFile(abs(p.alice, 'docs'), 'a file named docs\n');
        },
      }),
    );
    expect(report.skipped).toContainEqual(expect.objectContaining({ path: 'docs/new.md', op: 'download', code: 'local-io' }));
    expect(await read(p.alice, 'docs')).toBe('a file named docs\n');
    expect((await fs.readdir(p.alice)).filter((n) => n.startsWith('.bm-tmp-'))).toEqual([]);
  });

  const mountProblem = tryTmpfsMount();
  it.skipIf(mountProblem !== undefined)(
    `a full disk (1 MiB tmpfs on a subfolder): the sync stops with disk-full (exit 3), leaves no partial file, and completes once there is room${mountProblem ? ` [skipped: ${mountProblem}]` : ''}`,
    async () => {
      const p = await createPair({ 'a.md': 'a\n', 'big/readme.md': 'big folder\n' });
      const huge = randomBytes(3 * 1024 * 1024);
      await write(p.bob, 'big/huge.bin', huge);
      await write(p.bob, 'small.md', 'small from bob\n');
      expect((await syncJson(p.bob)).code).toBe(ExitCode.ok);
      // Mount the tiny file system over alice's big/ (moving its one file across).
      const big = abs(p.alice, 'big');
      const saved = await fs.readFile(path.join(big, 'readme.md'));
      const stat = await fs.stat(path.join(big, 'readme.md'));
      await fs.rm(big, { recursive: true });
      await fs.mkdir(big);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', big]);
      try {
        await fs.writeFile(path.join(big, 'readme.md'), saved);
        await fs.utimes(path.join(big, 'readme.md'), stat.atime, stat.mtime);
        let error: unknown;
        try {
          await syncJson(p.alice);
        } catch (e) {
          error = e;
        }
        expect(isBmError(error, 'disk-full'), String(error)).toBe(true);
        expect(await fs.readdir(big)).toEqual(['readme.md']);
        expect(await read(p.alice, 'big/readme.md')).toBe('big folder\n');
      } finally {
        execFileSync('umount', [big]);
      }
      // Room again (the folder is back on the big disk): the next sync completes.
      await fs.writeFile(path.join(big, 'readme.md'), saved);
      const again = await syncJson(p.alice);
      expect(again.code).toBe(ExitCode.ok);
      expect(
        createHash('sha256')
          .update(await fs.readFile(abs(p.alice, 'big/huge.bin')))
          .digest('hex'),
      ).toBe(createHash('sha256').update(huge).digest('hex'));
      expect(await read(p.alice, 'small.md')).toBe('small from bob\n');
    },
  );
});

describe('changes racing a sync', () => {
  // Small files are hashed with one readFileSync, large ones read in chunks from an opened
  // file handle: both paths are raced.
  const hashRaces = [
    { kind: 'small', first: 'first words\n', mod: fsSync as object, fn: 'readFileSync' },
    { kind: 'large (read in chunks)', first: `${'x'.repeat(400 * 1024)}\n`, mod: fsSync.promises as object, fn: 'open' },
  ] as const;
  for (const race of hashRaces) {
    it(`a ${race.kind} file modified while it is hashed is left for the next sync, then synced as it is`, async () => {
      const p = await createPair({ 'a.md': 'a\n' });
      await write(p.alice, 'growing.md', race.first);
      const target = abs(p.alice, 'growing.md');
      let appended = false;
      const undo = patchFs(
        race.mod as Record<string, unknown>,
        race.fn,
        (original) =>
          ((file: string, ...rest: unknown[]) => {
            if (file === target && !appended) {
              appended = true;
              fsSync.appendFileSync(target, 'more words written while bm-log hashed the file\n');
            }
            return (original as (f: string, ...r: unknown[]) => unknown)(file, ...rest);
          }) as never,
      );
      const first = await syncJsonThenUndo(p.alice, undo);
      expect(appended).toBe(true);
      expect(first.notices).toContainEqual(
        expect.objectContaining({ path: 'growing.md', detail: expect.stringContaining('changed while being hashed') }),
      );
      expect(kinds(first, 'upload')).toEqual([]);
      expect(kinds((await syncJson(p.alice)).report, 'upload')).toEqual(['growing.md']);
      await syncJson(p.bob);
      expect(await read(p.bob, 'growing.md')).toBe(`${race.first}more words written while bm-log hashed the file\n`);
    });
  }

  it('a file modified between the scan and the download that would replace it is never overwritten', async () => {
    const p = await createPair({ 'doc.md': 'v1\n', 'gone.md': 'to be deleted by bob\n' });
    await write(p.bob, 'doc.md', 'v2 from bob\n');
    await fs.rm(abs(p.bob, 'gone.md'));
    expect((await syncJson(p.bob)).code).toBe(ExitCode.ok);

    const report = await syncWithTree(p.alice, (t) =>
      racingTree(t, {
        beforeGuard: async (rel) => {
          if (rel === 'doc.md') await fs.writeFile(abs(p.alice, 'doc.md'), 'alice typed this during the sync\n');
        },
        beforeRemove: async (rel) => {
          if (rel === 'gone.md') await fs.writeFile(abs(p.alice, 'gone.md'), 'alice edited this during the sync\n');
        },
      }),
    );
    expect(report.skipped).toContainEqual(expect.objectContaining({ path: 'doc.md', op: 'download' }));
    expect(report.skipped).toContainEqual(expect.objectContaining({ path: 'gone.md', op: 'deleteLocal' }));
    expect(await read(p.alice, 'doc.md')).toBe('alice typed this during the sync\n');
    expect(await read(p.alice, 'gone.md')).toBe('alice edited this during the sync\n');

    // The next syncs make it a conflict (both versions kept) and an edit that beats the delete.
    await syncJson(p.alice);
    await syncJson(p.bob);
    await syncJson(p.alice);
    for (const root of [p.alice, p.bob]) {
      const files = await fs.readdir(root);
      const texts = await Promise.all(files.filter((f) => f.startsWith('doc')).map((f) => read(root, f)));
      expect(texts.sort()).toEqual(['alice typed this during the sync\n', 'v2 from bob\n']);
      expect(await read(root, 'gone.md')).toBe('alice edited this during the sync\n');
    }
  });

  it('a folder that vanishes mid-scan is not read as deleted', async () => {
    const p = await createPair({ 'a.md': 'a\n', 'vanish/one.md': 'one\n', 'vanish/two.md': 'two\n' });
    const folder = abs(p.alice, 'vanish');
    const moved = abs(p.base, 'vanish-moved-away');
    // What is raced here is the scan's walk: without a clean-state record (ADR-0008) the sync
    // goes straight to it, instead of first re-listing the folders for the witness check.
    const index = await LocalIndex.open(p.alice);
    await index.commitBatch({ meta: { [CLEAN_STATE_KEY]: undefined } });
    await index.close();
    // Between listing the root and reading vanish/, the folder is moved away (as an atomic
    // folder swap by another tool would do), then comes back after the sync.
    const undo = patchFs(
      fsSync,
      'readdirSync',
      (original) =>
        ((dir: fsSync.PathLike, ...rest: unknown[]) => {
          if (dir === folder && fsSync.existsSync(folder)) fsSync.renameSync(folder, moved);
          return (original as (d: fsSync.PathLike, ...r: unknown[]) => unknown)(dir, ...rest);
        }) as typeof fsSync.readdirSync,
    );
    const report = await syncJsonThenUndo(p.alice, undo);
    expect(fsSync.existsSync(moved)).toBe(true);
    expect(kinds(report, 'tombstone')).toEqual([]);
    await fs.rename(moved, folder);
    expect(kinds((await syncJson(p.bob)).report, 'deleteLocal')).toEqual([]);
    expect(await read(p.bob, 'vanish/two.md')).toBe('two\n');
    expect(kinds((await syncJson(p.alice)).report, 'tombstone')).toEqual([]);
  });

  it('a folder that vanishes between the scan and the downloads into it: nothing is lost', async () => {
    const p = await createPair({ 'docs/a.md': 'a v1\n', 'docs/b.md': 'b v1\n' });
    await write(p.bob, 'docs/a.md', 'a v2 from bob\n');
    await write(p.bob, 'docs/c.md', 'c new from bob\n');
    expect((await syncJson(p.bob)).code).toBe(ExitCode.ok);
    let removed = false;
    const report = await syncWithTree(p.alice, (t) =>
      racingTree(t, {
        beforeWrite: async () => {
          if (removed) return;
          removed = true;
          await fs.rm(abs(p.alice, 'docs'), { recursive: true }); // the user deletes the folder
        },
      }),
    );
    // The replaced file's guard sees it gone: left alone. A new file may land in a fresh folder.
    expect(report.skipped).toContainEqual(expect.objectContaining({ path: 'docs/a.md', op: 'download' }));
    expect(exists(p.alice, 'docs/b.md')).toBe(false);
    // Alice's delete of the folder meets bob's concurrent edit: the edit is kept everywhere.
    // Her folder may be empty now: the empty-folder guard refuses until she confirms (--force).
    const refused = await syncJson(p.alice).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (refused !== undefined) {
      expect(refused).toMatchObject({ code: 'safety-guard' });
      await syncJson(p.alice, { force: true });
    }
    await syncJson(p.bob);
    await syncJson(p.alice);
    for (const root of [p.alice, p.bob]) {
      expect(await read(root, 'docs/a.md')).toBe('a v2 from bob\n');
      expect(await read(root, 'docs/c.md')).toBe('c new from bob\n');
      expect(exists(root, 'docs/b.md')).toBe(false);
    }
  });
});
