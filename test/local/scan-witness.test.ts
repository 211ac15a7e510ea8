import fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsTree } from '../../src/local/fs-tree.js';
import { decodeListing } from '../../src/local/scan-witness.js';
import { computeIgnoreMatcher } from '../../src/local/ignore-rules.js';
import type { BaseEntry } from '../../src/reconcile/ports.js';
import type { SyncPath } from '../../src/events/sync-path.js';

// The clean-state shortcut (ADR-0008) trusts `FsTree.unchanged`: it must answer false for
// every change a scan would see, and true only when a scan would return the same result.

const roots: string[] = [];
afterAll(async () => Promise.all(roots.map((r) => fs.rm(r, { recursive: true, force: true }))));
const rules = computeIgnoreMatcher('*.log\nbuild/\n');

/** A small tree with a tracked file, an ignored file and folder, a subfolder and a symlink. */
async function fixture(): Promise<{ root: string; tree: FsTree; witness: Uint8Array; manifest: Map<string, BaseEntry> }> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bm-witness-'));
  roots.push(root);
  await fs.mkdir(path.join(root, 'notes', 'deep'), { recursive: true });
  await fs.mkdir(path.join(root, 'build'));
  await fs.writeFile(path.join(root, 'a.md'), 'alpha');
  await fs.writeFile(path.join(root, 'notes', 'b.md'), 'beta');
  await fs.writeFile(path.join(root, 'notes', 'deep', 'c.md'), 'gamma');
  await fs.writeFile(path.join(root, 'debug.log'), 'ignored');
  await fs.writeFile(path.join(root, 'build', 'out.bin'), 'ignored too');
  await fs.symlink('/etc/hostname', path.join(root, 'link'));
  const tree = new FsTree(root);
  const first = await tree.scan(new Map(), rules);
  const manifest = new Map([...first.files].map(([p, f]) => [p, { ...f, heads: [], version: null }] as const));
  const scan = await tree.scan(manifest, rules);
  expect(scan.witness).toBeDefined();
  return { root, tree, witness: scan.witness!, manifest };
}

const changes: [string, (root: string) => Promise<void>][] = [
  ['a file edited (same size)', (r) => fs.writeFile(path.join(r, 'a.md'), 'ALPHA')],
  ['a file in a subfolder grown', (r) => fs.appendFile(path.join(r, 'notes', 'deep', 'c.md'), '!')],
  [
    'a file replaced by a new one (rename over it)',
    async (r) => {
      await fs.writeFile(path.join(r, 'new.tmp-x'), 'alpha');
      await fs.rename(path.join(r, 'new.tmp-x'), path.join(r, 'a.md'));
    },
  ],
  ['a file mode changed', (r) => fs.chmod(path.join(r, 'a.md'), 0o600)],
  ['a file deleted', (r) => fs.rm(path.join(r, 'notes', 'b.md'))],
  ['a file added', (r) => fs.writeFile(path.join(r, 'notes', 'new.md'), 'new')],
  ['an ignored file added (the listing changed)', (r) => fs.writeFile(path.join(r, 'more.log'), 'x')],
  ['an empty folder added', (r) => fs.mkdir(path.join(r, 'notes', 'empty'))],
  ['a folder removed with its files', (r) => fs.rm(path.join(r, 'notes', 'deep'), { recursive: true })],
  [
    'a folder replaced by a symlink to a copy of it',
    async (r) => {
      await fs.rename(path.join(r, 'notes', 'deep'), path.join(r, 'elsewhere'));
      await fs.symlink(path.join(r, 'elsewhere'), path.join(r, 'notes', 'deep'));
    },
  ],
  [
    'a symlink replaced by a regular file',
    async (r) => {
      await fs.rm(path.join(r, 'link'));
      await fs.writeFile(path.join(r, 'link'), 'now a file');
    },
  ],
  ['a file renamed', (r) => fs.rename(path.join(r, 'notes', 'b.md'), path.join(r, 'notes', 'b2.md'))],
  ['a stale temp file appeared', (r) => fs.writeFile(path.join(r, 'notes', '.bm-tmp-abcdef'), 'half')],
];

describe('FsTree.unchanged (the scan witness)', () => {
  it('is the same bytes whether taken whole or in parts (the clean-state record writes the parts), and decodes to the scan it witnesses', async () => {
    const { root, tree, manifest } = await fixture();
    const scan = await tree.scan(manifest, () => false);
    const parts = scan.witnessParts!;
    expect(parts.parts.length).toBeGreaterThan(1);
    expect(Buffer.from(parts.concat()).equals(Buffer.from(scan.witness!))).toBe(true);
    const listing = decodeListing(parts.concat())!;
    expect(listing.stats.length / 4).toBe(scan.files.size);
    const base = tree.witnessBase(scan.witness!)!;
    for (const f of scan.files.values())
      expect(base.get(f.path)).toEqual({ hash: f.hash, size: f.size, mtimeMs: f.mtimeMs, ino: f.ino, mode: f.mode });
    expect(await tree.unchanged(parts.concat())).toBe(true);
    await fs.writeFile(path.join(root, 'a.md'), 'changed!');
    expect(await tree.unchanged(parts.concat())).toBe(false);
  });

  it('is true when nothing changed, also after reading files and touching ignored content', async () => {
    const { root, tree, witness } = await fixture();
    await fs.readFile(path.join(root, 'a.md'));
    await fs.writeFile(path.join(root, 'build', 'out.bin'), 'rebuilt'); // inside an ignored folder
    await fs.writeFile(path.join(root, 'debug.log'), 'more output'); // an ignored file's content
    expect(await tree.unchanged(witness)).toBe(true);
  });

  for (const [what, change] of changes) {
    it(`is false when ${what}`, async () => {
      const { root, tree, witness } = await fixture();
      await change(root);
      expect(await tree.unchanged(witness)).toBe(false);
    });
  }

  it('is false for bytes that are not a witness, or from another format', async () => {
    const { tree } = await fixture();
    expect(await tree.unchanged(new Uint8Array([1, 2, 3]))).toBe(false);
    expect(await tree.unchanged(new Uint8Array())).toBe(false);
  });

  it('a scan that could not read everything gives no witness', async () => {
    const { root, tree, manifest } = await fixture();
    // A folder that cannot be read (EACCES; patched in, since CI may run as root, who reads everything).
    const original = fsSync.readdirSync;
    (fsSync as { readdirSync: unknown }).readdirSync = (p: fsSync.PathLike, o?: unknown) => {
      if (String(p) === path.join(root, 'notes')) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
      return (original as (p: fsSync.PathLike, o?: unknown) => unknown)(p, o);
    };
    syncBuiltinESMExports();
    try {
      const scan = await tree.scan(manifest, rules);
      expect(scan.unreadable).toEqual(['notes']);
      expect(scan.witness).toBeUndefined();
    } finally {
      (fsSync as { readdirSync: unknown }).readdirSync = original;
      syncBuiltinESMExports();
    }
  });

  it('rescan after changes at the touched paths equals a full scan, witness included', async () => {
    const { root, tree, manifest } = await fixture();
    const prev = await tree.scan(manifest, rules);
    // What a sync round does locally: a download over a file, one into a new folder, a delete
    // that empties a folder (removed with it), a new conflict copy beside a file.
    await fs.writeFile(path.join(root, 'a.md'), 'alpha v2');
    await fs.mkdir(path.join(root, 'fresh', 'sub'), { recursive: true });
    await fs.writeFile(path.join(root, 'fresh', 'sub', 'new.md'), 'new');
    await fs.rm(path.join(root, 'notes', 'deep'), { recursive: true });
    await fs.writeFile(path.join(root, 'notes', 'b.conflict-bob-01234567.md'), 'bob');
    const touched = ['a.md', 'fresh/sub/new.md', 'notes/deep/c.md', 'notes/b.conflict-bob-01234567.md'] as SyncPath[];
    const partial = await tree.rescan(prev, touched, manifest, rules);
    const full = await tree.scan(manifest, rules);
    expect(new Map(partial.files)).toEqual(new Map(full.files));
    expect([...partial.dirs].sort()).toEqual([...full.dirs].sort());
    expect(partial.notices).toEqual(expect.arrayContaining([...full.notices]));
    expect(partial.notices.length).toBe(full.notices.length);
    expect(partial.unreadable).toEqual([]);
    expect(Buffer.from(partial.witness!).equals(Buffer.from(full.witness!))).toBe(true);
    expect(await tree.unchanged(partial.witness!)).toBe(true);
  });

  it('rescan does not see a change outside the touched folders, and its witness then says changed', async () => {
    const { root, tree, manifest } = await fixture();
    const prev = await tree.scan(manifest, rules);
    await fs.writeFile(path.join(root, 'a.md'), 'alpha v2'); // touched
    await fs.writeFile(path.join(root, 'notes', 'deep', 'c.md'), 'edited meanwhile by the user'); // not touched
    const partial = await tree.rescan(prev, ['a.md' as SyncPath], manifest, rules);
    expect(partial.files.get('notes/deep/c.md' as SyncPath)).toEqual(prev.files.get('notes/deep/c.md' as SyncPath));
    expect(partial.files.get('a.md' as SyncPath)?.size).toBe(8);
    expect(await tree.unchanged(partial.witness!)).toBe(false); // so the next sync scans in full
  });
});
