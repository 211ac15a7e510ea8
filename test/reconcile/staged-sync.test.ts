import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/events/store/memory-store.js';
import { compareUtf8 } from '../../src/events/sync-path.js';
import { LocalIndex } from '../../src/local/local-index.js';
import { computeStages, isInStage } from '../../src/reconcile/staged-sync.js';
import { runSync } from '../../src/reconcile/run-sync.js';
import type { SyncIndex } from '../../src/reconcile/ports.js';
import { createClock, createSimClient, syncContextOf, type SimClient } from '../support/test-world.js';

// A first sync in stages (ADR-0011): ranges of paths planned, executed and committed one at a
// time. The simulation checks every stage's plan against the full plan of its paths, with
// crashes between stages; these tests check the parts and that the end state is the one an
// unstaged first sync reaches.

const enc = (s: string) => new TextEncoder().encode(s);

/** Paths with characters on both sides of the surrogate range. */
const segment = fc.constantFrom('a', 'B', 'é', '\u{1F600}', '\uFF21', 'z', 'notes', 'n.md');
const syncPath = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));

async function* from<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

describe('compareUtf8', () => {
  it('orders strings as their UTF-8 bytes (LevelDB key order)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        expect(Math.sign(compareUtf8(a, b))).toBe(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
      }),
    );
  });
});

describe('computeStages', () => {
  it('cuts the union of local and cloud paths into ordered ranges of at most `size`, each path in exactly one', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(syncPath, { maxLength: 30 }),
        fc.uniqueArray(syncPath, { maxLength: 30 }),
        fc.integer({ min: 1, max: 7 }),
        async (local, cloud, size) => {
          const { stages, local: sorted } = await computeStages(local, from([...cloud].sort(compareUtf8)), size);
          expect(sorted).toEqual([...local].sort(compareUtf8));
          const union = [...new Set([...local, ...cloud])];
          for (const p of union) expect(stages.filter((s) => isInStage(p, s))).toHaveLength(1);
          for (const s of stages) expect(union.filter((p) => isInStage(p, s)).length).toBeLessThanOrEqual(size);
          expect(stages.length).toBe(Math.max(1, Math.ceil(union.length / size)));
          expect(stages[0]!.from).toBeUndefined();
          expect(stages.at(-1)!.to).toBeUndefined();
        },
      ),
    );
  });
});

/** Two clients' files, some at the same paths with other content (a conflict on bob's first sync). */
const worldSpec = fc.record({
  alice: fc.dictionary(syncPath, fc.string({ maxLength: 6 }), { maxKeys: 12 }),
  bob: fc.dictionary(syncPath, fc.string({ maxLength: 6 }), { maxKeys: 12 }),
});

/** Files and folders must not clash (a file where the other side has a folder): the tree refuses those writes. */
function isFolderFree(paths: readonly string[]): boolean {
  return paths.every((p) => !paths.some((q) => q.startsWith(`${p}/`)));
}

async function firstSyncs(
  spec: { alice: Record<string, string>; bob: Record<string, string> },
  bobIndex: (c: SimClient) => SyncIndex,
  stagePaths: number,
) {
  const store = new MemoryStore();
  const clock = createClock();
  const alice = await createSimClient(store, 'alice', '01STA', clock);
  const bob = await createSimClient(store, 'bob', '01STB', clock);
  for (const [p, s] of Object.entries(spec.alice)) alice.tree.userWrite(p, enc(`a:${s}`));
  for (const [p, s] of Object.entries(spec.bob)) bob.tree.userWrite(p, enc(`b:${s}`));
  const a = await runSync(syncContextOf(alice, { store, now: clock.now, stagePaths }));
  const b = await runSync(syncContextOf(bob, { store, now: clock.now, index: bobIndex(bob), stagePaths }));
  const files = [...bob.tree.files].map(([p, f]) => [p, Buffer.from(f.bytes).toString()]).sort();
  const manifest = [...(await bob.index.getManifest()).values()].map((e) => [e.path, e.hash, e.copyOf !== undefined]).sort();
  const conflicts = b.conflicts.map((c) => [c.path, c.kind, c.heads.map((h) => h.content?.hash ?? null)]);
  // The next sync of each has nothing to do.
  const again = await runSync(syncContextOf(bob, { store, now: clock.now, stagePaths }));
  return { a, b, files, manifest, conflicts, again };
}

describe('a first sync in stages', () => {
  it('ends where an unstaged first sync ends: the same files, manifest and conflicts, and nothing left to do', async () => {
    await fc.assert(
      fc.asyncProperty(worldSpec, fc.integer({ min: 1, max: 5 }), async (spec, stagePaths) => {
        fc.pre(isFolderFree([...Object.keys(spec.alice), ...Object.keys(spec.bob)]));
        const staged = await firstSyncs(spec, (c) => c.index, stagePaths);
        // The same index without the reads a staged sync needs: a first sync folds everything.
        const unstaged = await firstSyncs(
          spec,
          (c) => Object.assign(Object.create(c.index) as SyncIndex, { hasManifestRows: undefined }),
          stagePaths,
        );
        expect(staged.a.staged).toBe(true);
        expect(staged.b.staged).toBe(true);
        expect(unstaged.b.staged).toBe(false);
        expect(staged.files).toEqual(unstaged.files);
        expect(staged.manifest).toEqual(unstaged.manifest);
        expect(staged.conflicts).toEqual(unstaged.conflicts);
        for (const r of [staged.again, unstaged.again]) {
          expect(r.plan.ops).toEqual([]);
          expect(r.conflicts.map((c) => [c.path, c.kind, c.heads.map((h) => h.content?.hash ?? null)])).toEqual(staged.conflicts);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('on a real LevelDB index: range reads give what per-path reads give, and every path is listed once in key order', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bm-staged-'));
    const index = await LocalIndex.open(dir);
    try {
      const store = new MemoryStore();
      const clock = createClock();
      const alice = await createSimClient(store, 'alice', '01STA', clock);
      const paths = ['a.md', 'a/b.md', 'a-b.md', 'é.md', '\u{1F600}.md', '\uFF21.md', 'z/y/x.md', 'notes/n.md'];
      for (const p of paths) alice.tree.userWrite(p, enc(p));
      let boundaries = 0;
      const ctx = { ...syncContextOf(alice, { store, now: clock.now, index, stagePaths: 3 }), onStageBoundary: () => boundaries++ };
      const first = await runSync(ctx);
      expect(first.staged).toBe(true);
      // Before the first of its three stages and after each (where the CLI collects garbage);
      // its range reads let go of the mapped tables (reopening this index) before the first and third.
      expect(boundaries).toBe(4);
      alice.tree.userWrite('a.md', enc('edited'));
      await runSync(ctx);
      expect(boundaries).toBe(4); // not a first sync: not in stages
      const listed: string[] = [];
      for await (const p of index.iterateStatePaths()) listed.push(p);
      expect(listed).toEqual([...paths].sort(compareUtf8));
      const all = await index.readPathStates(paths);
      const manifest = await index.getManifest();
      for (const [lo, hi] of [
        [undefined, undefined],
        ['a', 'é.md'],
        ['a-b.md', 'a/b.md'],
        ['notes', undefined],
        [undefined, '\uFF21.md'],
      ] as const) {
        const { states, rows } = await index.readPathRange(lo, hi);
        const inRange = paths.filter((p) => isInStage(p, { from: lo, to: hi }));
        expect([...states.keys()].sort()).toEqual([...inRange].sort());
        for (const p of inRange) expect(states.get(p as never)).toEqual(all.get(p as never));
        expect(new Map(rows)).toEqual(new Map([...manifest].filter(([p]) => inRange.includes(p))));
      }
      expect(await index.hasManifestRows()).toBe(true);
    } finally {
      await index.close();
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
