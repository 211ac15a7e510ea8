import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/events/signing.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { FsTree } from '../../src/local/fs-tree.js';
import { computeIgnoreMatcher } from '../../src/local/ignore-rules.js';

const roots: string[] = [];
async function tempRoot(): Promise<string> {
  const r = await fs.mkdtemp(path.join(os.tmpdir(), 'bm-fstree-'));
  roots.push(r);
  return r;
}
afterAll(async () => Promise.all(roots.map((r) => fs.rm(r, { recursive: true, force: true }))));
const none = computeIgnoreMatcher('');
const sp = (p: string) => p as SyncPath;
const bytes = (s: string) => Readable.from([Buffer.from(s)]);

describe('FsTree', () => {
  it('removes stale temp files of a killed bm-log and never lists them', async () => {
    const root = await tempRoot();
    await fs.mkdir(path.join(root, 'd'));
    await fs.writeFile(path.join(root, 'd', '.bm-tmp-0123abcd'), 'half a download');
    await fs.writeFile(path.join(root, 'd', 'real.md'), 'x');
    const scan = await new FsTree(root).scan(new Map(), none);
    expect([...scan.files.keys()]).toEqual(['d/real.md']);
    expect(await fs.readdir(path.join(root, 'd'))).toEqual(['real.md']);
  });

  it("hashes files past one read (1 MiB) and past the scan's one-read size exactly, in the scan and in statFile", async () => {
    const root = await tempRoot();
    const sizes = [256 * 1024 + 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 5];
    const contents = sizes.map((n, i) => Buffer.alloc(n, i + 1).fill(i * 7 + 3, n >> 1));
    for (const [i, c] of contents.entries()) await fs.writeFile(path.join(root, `big${i}.bin`), c);
    const tree = new FsTree(root);
    const scan = await tree.scan(new Map(), none);
    for (const [i, c] of contents.entries()) {
      expect(scan.files.get(sp(`big${i}.bin`))?.hash).toBe(sha256Hex(c));
      expect((await tree.statFile(sp(`big${i}.bin`)))?.hash).toBe(sha256Hex(c));
    }
  });

  it('reuses the manifest hash when size, mtime and inode match, and re-hashes otherwise', async () => {
    const root = await tempRoot();
    await fs.writeFile(path.join(root, 'a.md'), 'one');
    const tree = new FsTree(root);
    const first = await tree.scan(new Map(), none);
    const f = first.files.get(sp('a.md'))!;
    expect(f.hash).toBe(sha256Hex('one'));
    const manifest = new Map([[f.path, { ...f, hash: 'f'.repeat(64), heads: [], version: null }]]);
    const second = await tree.scan(manifest, none);
    expect(second.hashed).toBe(0);
    expect(second.files.get(sp('a.md'))?.hash).toBe('f'.repeat(64)); // trusted: stat unchanged
    await fs.writeFile(path.join(root, 'a.md'), 'two!');
    const third = await tree.scan(manifest, none);
    expect(third.hashed).toBe(1);
    expect(third.files.get(sp('a.md'))?.hash).toBe(sha256Hex('two!'));
  });

  it('refuses to replace a file that changed since the scan, and to create over one that appeared', async () => {
    const root = await tempRoot();
    await fs.writeFile(path.join(root, 'a.md'), 'seen');
    const tree = new FsTree(root);
    const seen = (await tree.scan(new Map(), none)).files.get(sp('a.md'))!;
    await fs.writeFile(path.join(root, 'a.md'), 'edited after the scan');
    expect(await tree.writeFile(sp('a.md'), bytes('remote'), sha256Hex('remote'), 0o644, seen)).toBe('changed');
    expect(await fs.readFile(path.join(root, 'a.md'), 'utf8')).toBe('edited after the scan');
    expect(await tree.writeFile(sp('a.md'), bytes('remote'), sha256Hex('remote'), 0o644, null)).toBe('changed');
    expect(await tree.removeFile(sp('a.md'), seen)).toBe('changed');
    expect(await fs.readFile(path.join(root, 'a.md'), 'utf8')).toBe('edited after the scan');
  });

  it('never writes through a symlinked folder', async () => {
    const root = await tempRoot();
    const outside = await tempRoot();
    await fs.symlink(outside, path.join(root, 'link'));
    await expect(tree(root).writeFile(sp('link/x.md'), bytes('x'), sha256Hex('x'), 0o644, null)).rejects.toMatchObject({
      code: 'local-io',
    });
    expect(await fs.readdir(outside)).toEqual([]);
  });

  it('refuses content that does not match its hash and leaves no temp file', async () => {
    const root = await tempRoot();
    await expect(tree(root).writeFile(sp('x.md'), bytes('tampered'), sha256Hex('original'), 0o644, null)).rejects.toMatchObject({
      code: 'blob-corrupt',
    });
    expect(await fs.readdir(root)).toEqual([]);
  });
});

function tree(root: string): FsTree {
  return new FsTree(root);
}
