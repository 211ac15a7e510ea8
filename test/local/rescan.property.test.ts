import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { SyncPath } from '../../src/events/sync-path.js';
import { FsTree } from '../../src/local/fs-tree.js';
import { computeIgnoreMatcher } from '../../src/local/ignore-rules.js';
import { computeScanChanges } from '../../src/reconcile/local-scan.js';

// Invariant of FsTree.rescan (used by a sync's second round): when only the files at the
// touched paths changed since the earlier scan, the rescan returns what a full scan returns,
// witness bytes included, whatever the tree and the changes (files written over, created in
// new folders, deleted with the folders they leave empty).

const roots: string[] = [];
afterAll(async () => Promise.all(roots.map((r) => fs.rm(r, { recursive: true, force: true }))));
const rules = computeIgnoreMatcher('*.log\n');

const name = fc.constantFrom('a', 'b', 'c', 'notes', 'x.log', 'deep');
const relPath = fc.array(name, { minLength: 1, maxLength: 3 }).map((parts) => `${parts.join('/')}.md`);
const change = fc.record({ path: relPath, kind: fc.constantFrom('write', 'delete'), text: fc.string({ maxLength: 12 }) });

async function writeFile(root: string, rel: string, text: string): Promise<boolean> {
  const abs = path.join(root, ...rel.split('/'));
  try {
    await fs.mkdir(path.dirname(abs), { recursive: true });
    await fs.writeFile(abs, text);
    return true;
  } catch {
    return false; // a file stands where a folder is needed (or the reverse): not this change
  }
}

/** Deletes like FsTree.removeFile: the file, then the folders it leaves empty. */
async function deleteFile(root: string, rel: string): Promise<boolean> {
  const abs = path.join(root, ...rel.split('/'));
  try {
    if (!(await fs.lstat(abs)).isFile()) return false;
    await fs.rm(abs);
  } catch {
    return false;
  }
  for (let dir = path.dirname(abs); dir !== root; dir = path.dirname(dir)) {
    try {
      await fs.rmdir(dir);
    } catch {
      break;
    }
  }
  return true;
}

const touchArb = fc.record({
  path: relPath,
  kind: fc.constantFrom<Touch['kind']>('write', 'delete', 'chmod', 'none'),
  text: fc.string({ maxLength: 12 }),
});
type Touch = { readonly path: string; readonly kind: 'write' | 'delete' | 'chmod' | 'none'; readonly text: string };

/** A fresh tree of `initial`, scanned with a manifest of itself; then `changes` applied. */
async function scanThenTouch(prefix: string, initial: readonly string[], changes: readonly Touch[], extras = false) {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  roots.push(root);
  for (const p of initial) await writeFile(root, p, `v1 ${p}`);
  if (extras) {
    // Entries that draw notices or are passed over (a symlink, an ignored file) in the root
    // and in the first file's folder.
    const folder = path.dirname(path.join(root, ...initial[0]!.split('/')));
    for (const dir of new Set([root, folder])) {
      await fs.symlink('nowhere', path.join(dir, 'link')).catch(() => undefined);
      await fs.writeFile(path.join(dir, 'skipped.log'), 'ignored').catch(() => undefined);
    }
  }
  const tree = new FsTree(root);
  const first = await tree.scan(new Map(), rules);
  const manifest = new Map([...first.files].map(([p, f]) => [p, { ...f, heads: [], version: null }] as const));
  const then = await tree.scan(manifest, rules);
  await new Promise((r) => setTimeout(r, 5)); // a rewrite gets a later mtime
  for (const c of changes) {
    if (c.kind === 'write') await writeFile(root, c.path, c.text);
    else if (c.kind === 'delete') await deleteFile(root, c.path);
    else if (c.kind === 'chmod') await fs.chmod(path.join(root, ...c.path.split('/')), 0o600).catch(() => undefined);
  }
  return { root, tree, manifest, then };
}

describe('FsTree.rescan', () => {
  it('equals a full scan when only the touched paths changed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(relPath, { minLength: 1, maxLength: 12 }), fc.array(change, { maxLength: 6 }), async (initial, changes) => {
        const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bm-rescan-'));
        roots.push(root);
        for (const p of initial) await writeFile(root, p, `v1 ${p}`);
        const tree = new FsTree(root);
        const first = await tree.scan(new Map(), rules);
        const manifest = new Map([...first.files].map(([p, f]) => [p, { ...f, heads: [], version: null }] as const));
        const prev = await tree.scan(manifest, rules);
        const touched: SyncPath[] = [];
        for (const c of changes) {
          const done = c.kind === 'write' ? await writeFile(root, c.path, c.text) : await deleteFile(root, c.path);
          if (done) touched.push(c.path as SyncPath);
        }
        const partial = await tree.rescan(prev, touched, manifest, rules);
        const full = await tree.scan(manifest, rules);
        expect(new Map(partial.files)).toEqual(new Map(full.files));
        expect([...partial.dirs].sort()).toEqual([...full.dirs].sort());
        expect(partial.unreadable).toEqual(full.unreadable);
        expect(Buffer.from(partial.witness!).equals(Buffer.from(full.witness!))).toBe(true);
        await fs.rm(root, { recursive: true, force: true });
      }),
      { numRuns: 60 },
    );
  });

  it('unchanged(witness) is true exactly when a scan now returns what the witnessed scan returned', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(relPath, { minLength: 1, maxLength: 10 }),
        fc.array(touchArb, { maxLength: 3 }),
        async (initial, changes) => {
          const { root, tree, manifest, then } = await scanThenTouch('bm-witness-', initial, changes);
          const claimed = await tree.unchanged(then.witness!);
          const now = await tree.scan(manifest, rules);
          const same = Buffer.from(now.witness!).equals(Buffer.from(then.witness!));
          expect(claimed).toBe(same);
          if (claimed) expect(new Map(now.files)).toEqual(new Map(then.files));
          await fs.rm(root, { recursive: true, force: true });
        },
      ),
      { numRuns: 60 },
    );
  });

  it("a scan reusing the witnessed scan's hashes (a lazy sync, no manifest read) returns what a scan reusing the manifest's returns", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(relPath, { minLength: 1, maxLength: 10 }),
        fc.array(touchArb, { maxLength: 4 }),
        async (initial, changes) => {
          const { root, tree, manifest, then } = await scanThenTouch('bm-base-', initial, changes, true);
          const viaWitness = await new FsTree(root).scan(tree.witnessBase(then.witness!)!, rules);
          const viaManifest = await tree.scan(manifest, rules);
          expect(new Map(viaWitness.files)).toEqual(new Map(viaManifest.files));
          expect(viaWitness.notices).toEqual(viaManifest.notices);
          expect(Buffer.from(viaWitness.witness!).equals(Buffer.from(viaManifest.witness!))).toBe(true);
          await fs.rm(root, { recursive: true, force: true });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('diffWitness names every path where a scan now differs from the witnessed scan (what a focused plan relies on)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(relPath, { minLength: 1, maxLength: 10 }),
        fc.array(touchArb, { maxLength: 4 }),
        async (initial, changes) => {
          const { root, tree, manifest, then } = await scanThenTouch('bm-diff-', initial, changes);
          const now = await tree.scan(manifest, rules);
          const diff = tree.diffWitness(then.witness!, now)!;
          for (const p of computeScanChanges(then, now)) expect(diff.has(p), `${p} changed but is not in the diff`).toBe(true);
          if (Buffer.from(now.witness!).equals(Buffer.from(then.witness!))) expect([...diff]).toEqual([]);
          // From the witness bytes alone (another process: no listing kept in memory), the same.
          expect(new FsTree(root).diffWitness(then.witness!, now)).toEqual(diff);
          await fs.rm(root, { recursive: true, force: true });
        },
      ),
      { numRuns: 60 },
    );
  });
});
