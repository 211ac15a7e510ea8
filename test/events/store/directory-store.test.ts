import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isBmError } from '../../../src/errors.js';
import { DirectoryStore } from '../../../src/events/store/directory-store.js';
import { runObjectStoreContract } from './object-store-contract.js';

const roots: string[] = [];
runObjectStoreContract('directory', {
  create: async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bm-dirstore-'));
    roots.push(root);
    return new DirectoryStore(root);
  },
  teardown: async () => {
    await Promise.all(roots.map((r) => fs.rm(r, { recursive: true, force: true })));
  },
});

describe('DirectoryStore atomic publish', () => {
  it('never lists a stray temp file left by a crash, and never exposes a partial object', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bm-dirstore-'));
    const store = new DirectoryStore(root);
    await fs.mkdir(path.join(root, 'clients', 'x'), { recursive: true });
    // What a kill -9 between write and link leaves behind.
    await fs.writeFile(path.join(root, 'clients', 'x', '.tmp-deadbeef'), 'half');
    expect((await store.list('clients/')).objects).toEqual([]);
    expect(await store.putIfAbsent('clients/x/1', new TextEncoder().encode('whole'))).toBe('created');
    expect((await store.list('clients/')).objects.map((o) => o.key)).toEqual(['clients/x/1']);
    const leftovers = (await fs.readdir(path.join(root, 'clients', 'x'))).filter((n) => n.startsWith('.tmp-') && n !== '.tmp-deadbeef');
    expect(leftovers).toEqual([]);
    await fs.rm(root, { recursive: true, force: true });
  });
});

describe('DirectoryStore never follows a symbolic link inside the remote (ADR-0015)', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  /** A remote with a link at `linkAt` (a folder or a file) pointing outside, holding `inside/x`. */
  async function linked(linkAt: string, kind: 'folder' | 'file'): Promise<{ store: DirectoryStore; outside: string; root: string }> {
    const base = await fs.mkdtemp(path.join(os.tmpdir(), 'bm-dirstore-link-'));
    roots.push(base);
    const root = path.join(base, 'remote');
    const outside = path.join(base, 'outside');
    await fs.mkdir(outside);
    await fs.writeFile(path.join(outside, 'x'), 'outside bytes');
    await fs.mkdir(path.dirname(path.join(root, ...linkAt.split('/'))), { recursive: true });
    await fs.symlink(kind === 'folder' ? outside : path.join(outside, 'x'), path.join(root, ...linkAt.split('/')));
    return { store: new DirectoryStore(root), outside, root };
  }
  const isLinkError = (e: unknown) => isBmError(e, 'bad-path') && /symbolic link/.test((e as Error).message);

  it.each([
    ['log', 'a top-level folder'],
    ['log/C1', "a client's log folder"],
  ])('a linked folder at %s (%s): every operation under it fails with bad-path and touches nothing outside', async (linkAt) => {
    const { store, outside } = await linked(linkAt, 'folder');
    const under = linkAt === 'log' ? 'log/C1/x' : 'log/C1/x';
    const before = await fs.readdir(outside);
    await expect(store.get(under)).rejects.toSatisfy(isLinkError);
    await expect(store.getChunks(under)).rejects.toSatisfy(isLinkError);
    await expect(store.head(under)).rejects.toSatisfy(isLinkError);
    await expect(store.putIfAbsent('log/C1/000000000001', enc('segment'))).rejects.toSatisfy(isLinkError);
    await expect(store.list('log/C1/')).rejects.toSatisfy(isLinkError);
    await expect(store.list('log/')).rejects.toSatisfy(isLinkError);
    await expect(store.delete(under)).rejects.toSatisfy(isLinkError);
    expect(await fs.readdir(outside)).toEqual(before);
    expect(await fs.readFile(path.join(outside, 'x'), 'utf8')).toBe('outside bytes');
  });

  it('a linked object file: read, head, delete, list and a create at its key fail with bad-path; the target is untouched', async () => {
    const { store, outside, root } = await linked('keys/C1', 'file');
    await expect(store.get('keys/C1')).rejects.toSatisfy(isLinkError);
    await expect(store.getChunks('keys/C1')).rejects.toSatisfy(isLinkError);
    await expect(store.head('keys/C1')).rejects.toSatisfy(isLinkError);
    await expect(store.delete('keys/C1')).rejects.toSatisfy(isLinkError);
    await expect(store.list('keys/')).rejects.toSatisfy(isLinkError);
    await expect(store.putIfAbsent('keys/C1', enc('outside bytes'))).rejects.toSatisfy(isLinkError);
    expect(await fs.readFile(path.join(outside, 'x'), 'utf8')).toBe('outside bytes');
    expect((await fs.lstat(path.join(root, 'keys', 'C1'))).isSymbolicLink()).toBe(true);
    // Siblings that are real objects still work.
    expect(await store.putIfAbsent('keys/C2', enc('k2'))).toBe('created');
    expect(new TextDecoder().decode(await store.get('keys/C2'))).toBe('k2');
  });

  it('a remote root that is itself a link is the folder the user named: it works', async () => {
    const base = await fs.mkdtemp(path.join(os.tmpdir(), 'bm-dirstore-root-'));
    roots.push(base);
    await fs.mkdir(path.join(base, 'real'));
    await fs.symlink(path.join(base, 'real'), path.join(base, 'named'));
    const store = new DirectoryStore(path.join(base, 'named'));
    expect(await store.putIfAbsent('log/C1/000000000001', enc('s'))).toBe('created');
    expect((await store.list('log/')).objects.map((o) => o.key)).toEqual(['log/C1/000000000001']);
    expect(await fs.readFile(path.join(base, 'real', 'log', 'C1', '000000000001'), 'utf8')).toBe('s');
  });
});
