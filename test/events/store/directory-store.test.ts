import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
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
