import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BmError } from '../../src/errors.js';
import { sha256Hex } from '../../src/events/signing.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { FsTree } from '../../src/local/fs-tree.js';
import type { LocalTree } from '../../src/reconcile/ports.js';
import { MemoryTree } from '../support/memory-tree.js';
import type { BaseEntry } from '../../src/reconcile/ports.js';
import type { LocalFile } from '../../src/reconcile/ports.js';

/**
 * MemoryTree stands in for FsTree in the simulation, so it must behave like it: the same
 * script of user edits and guarded engine calls runs against both, and every observable
 * answer (with mtimes and inodes left out) must be the same.
 */

interface Driver {
  readonly tree: LocalTree;
  userWrite(p: string, text: string): Promise<void>;
  userDelete(p: string): Promise<void>;
  read(p: string): Promise<string | undefined>;
}

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((r) => fs.rm(r, { recursive: true, force: true })));
});

async function fsDriver(): Promise<Driver> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bm-memtree-'));
  roots.push(root);
  const abs = (p: string) => path.join(root, ...p.split('/'));
  return {
    tree: new FsTree(root),
    async userWrite(p, text) {
      await fs.mkdir(path.dirname(abs(p)), { recursive: true });
      await fs.writeFile(abs(p), text);
    },
    async userDelete(p) {
      await fs.rm(abs(p));
    },
    async read(p) {
      return fs.readFile(abs(p), 'utf8').catch(() => undefined);
    },
  };
}

function memoryDriver(): Driver {
  let t = 1_700_000_000_000;
  const tree = new MemoryTree('/mem', () => ++t);
  return {
    tree,
    async userWrite(p, text) {
      tree.userWrite(p, new TextEncoder().encode(text));
    },
    async userDelete(p) {
      tree.userDelete(p);
    },
    async read(p) {
      const f = tree.files.get(p);
      return f === undefined ? undefined : new TextDecoder().decode(f.bytes);
    },
  };
}

const sp = (p: string) => p as SyncPath;
const hashOf = (text: string) => sha256Hex(text);
async function* chunks(text: string): AsyncIterable<Uint8Array> {
  yield new TextEncoder().encode(text);
}
const plainFile = (f: LocalFile) => ({ path: f.path, hash: f.hash, size: f.size, mode: f.mode });
const plain = (f: LocalFile | 'changed' | undefined) => (f === undefined || f === 'changed' ? f : plainFile(f));
const asBase = (f: LocalFile): BaseEntry => ({ ...f, heads: [], version: null });
async function outcome<T>(p: Promise<T>): Promise<T | string> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof BmError) return `error ${e.code}`;
    return `error ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
  }
}

/** The script: returns the observable answers in order. */
async function script(d: Driver): Promise<unknown[]> {
  const out: unknown[] = [];
  const { tree } = d;
  const scan = async (manifest = new Map<string, BaseEntry>()) => {
    const s = await tree.scan(manifest, (p) => p.startsWith('ignored'));
    out.push({
      files: [...s.files.values()].map(plainFile).sort((a, b) => (a.path < b.path ? -1 : 1)),
      dirs: [...s.dirs].sort(),
      unreadable: s.unreadable,
      hashed: s.hashed,
    });
    return s;
  };
  await scan();
  await d.userWrite('a.txt', 'alpha');
  await d.userWrite('d/b.txt', 'beta');
  await d.userWrite('d/e/c.txt', 'gamma');
  await d.userWrite('ignored/x.txt', 'not synced');
  const first = await scan();
  const manifest = new Map([...first.files].map(([p, f]) => [p, asBase(f)]));
  await scan(manifest); // all hashes reused
  const a = first.files.get(sp('a.txt'))!;

  // Guarded writes.
  const written = await tree.writeFile(sp('a.txt'), chunks('alpha 2'), hashOf('alpha 2'), 0o644, a);
  out.push(plain(written), await d.read('a.txt'));
  out.push(await tree.writeFile(sp('a.txt'), chunks('stale'), hashOf('stale'), 0o644, a), await d.read('a.txt'));
  out.push(await tree.writeFile(sp('a.txt'), chunks('new'), hashOf('new'), 0o644, null), await d.read('a.txt'));
  out.push(await outcome(tree.writeFile(sp('f.txt'), chunks('bytes'), hashOf('other bytes'), 0o644, null)), await d.read('f.txt'));
  out.push(await outcome(tree.writeFile(sp('a.txt/x.txt'), chunks('x'), hashOf('x'), 0o644, null)));
  out.push(await tree.writeFile(sp('d'), chunks('x'), hashOf('x'), 0o644, null));
  out.push(
    plain((await tree.writeFile(sp('n/m/new.txt'), chunks('deep'), hashOf('deep'), 0o755, null)) as LocalFile),
    await d.read('n/m/new.txt'),
  );
  // Same bytes but another stat: the guard compares content.
  await d.userWrite('d/b.txt', 'beta');
  out.push(
    plain((await tree.writeFile(sp('d/b.txt'), chunks('beta 2'), hashOf('beta 2'), 0o644, first.files.get(sp('d/b.txt'))!)) as LocalFile),
  );

  // Guarded removes.
  const c = (await tree.statFile(sp('d/e/c.txt')))!;
  out.push(plain(c), await tree.statFile(sp('nope.txt')));
  await d.userWrite('d/e/c.txt', 'gamma edited');
  out.push(await tree.removeFile(sp('d/e/c.txt'), c), await d.read('d/e/c.txt'));
  const c2 = (await tree.statFile(sp('d/e/c.txt')))!;
  out.push(await tree.removeFile(sp('d/e/c.txt'), c2), await d.read('d/e/c.txt'));
  out.push(await tree.removeFile(sp('d/e/c.txt'), c2)); // already gone, folder gone too
  out.push(await tree.removeFile(sp('gone/c.txt'), c2)); // no such folder
  out.push(await outcome(tree.removeFile(sp('a.txt/c.txt'), c2)));
  await scan(); // d/e was removed with its last file

  // Reading a file that vanished.
  await d.userDelete('n/m/new.txt');
  out.push(
    await outcome(
      (async () => {
        for await (const _ of tree.openRead(sp('n/m/new.txt'))) void _;
      })(),
    ),
  );
  return out;
}

describe('MemoryTree behaves like FsTree', () => {
  it('gives the same answers to the same script', async () => {
    const real = await script(await fsDriver());
    const memory = await script(memoryDriver());
    expect(memory).toEqual(real);
    if (process.env.SHOW_TREE_SCRIPT) console.log(JSON.stringify(real, null, 1));
  });

  it('reports a marked path as unreadable to the next scan only, never as deleted', async () => {
    const d = memoryDriver();
    const tree = d.tree as MemoryTree;
    await d.userWrite('a.txt', 'a');
    await d.userWrite('d/b.txt', 'b');
    tree.markUnreadable('d');
    const s = await tree.scan(new Map(), () => false);
    expect([...s.files.keys()]).toEqual(['a.txt']);
    expect(s.unreadable).toEqual(['d']);
    expect(s.dirs.has('d')).toBe(true);
    expect((await tree.scan(new Map(), () => false)).files.size).toBe(2);
  });

  it('logs who changed what', async () => {
    const d = memoryDriver();
    const tree = d.tree as MemoryTree;
    await d.userWrite('a.txt', 'a');
    const a = (await tree.statFile(sp('a.txt')))!;
    await tree.writeFile(sp('a.txt'), chunks('b'), hashOf('b'), 0o644, a);
    expect(
      tree.changes.map((c) => [c.by, c.kind, c.path, c.before === undefined, c.after === hashOf(c.by === 'user' ? 'a' : 'b')]),
    ).toEqual([
      ['user', 'write', 'a.txt', true, true],
      ['engine', 'write', 'a.txt', false, true],
    ]);
    expect(await outcome(tree.writeFile(sp('../x'), chunks('x'), hashOf('x'), 0o644, null))).toBe('error bad-path');
  });
});
