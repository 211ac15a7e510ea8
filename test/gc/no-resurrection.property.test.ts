import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeTrustedSegment } from '../../src/events/codec.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { MemoryStore } from '../../src/events/store/memory-store.js';
import { executeGc } from '../../src/gc/execute-gc.js';
import { executeRetire } from '../../src/gc/retire-client.js';
import { computeHeads } from '../../src/projections/project-paths.js';
import { runSync } from '../../src/reconcile/run-sync.js';
import { createClock, createSimClient, syncContextOf, type SimClient } from '../support/test-world.js';
import { foldStore } from './support/race-world.js';

// A client that was away while its teammates deleted files, was retired, and GC collected
// those deletes, comes back (ADR-0007): a file it still has unchanged is removed, never
// uploaded again; a file it changed meanwhile is kept and uploaded as a new version (replacing
// nothing), and it is told so. Afterwards every client shows the same tree.

const PATHS = ['a.md', 'b.md', 'n/c.md', 'n/d.md'] as const;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

const opArb = fc.record({
  client: fc.nat(1),
  kind: fc.constantFrom('write', 'delete'),
  path: fc.nat(PATHS.length - 1),
  content: fc.nat(3),
});
const awayArb = fc.array(fc.constantFrom('keep', 'edit', 'delete'), { minLength: PATHS.length, maxLength: PATHS.length });

describe('a client returning after GC', () => {
  it('never resurrects a collected path; its own changes survive as new files', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 12 }), awayArb, async (ops, away) => {
        const store = new MemoryStore();
        const clock = createClock();
        const [a, b, x] = [
          await createSimClient(store, 'a', '01NRA', clock),
          await createSimClient(store, 'b', '01NRB', clock),
          await createSimClient(store, 'x', '01NRX', clock),
        ];
        const ctx = (c: SimClient) => syncContextOf(c, { store, now: clock.now });
        const sync = (c: SimClient) => runSync(ctx(c), { force: true });
        for (const [i, p] of PATHS.entries()) a.tree.userWrite(p, enc(`first ${i}`));
        for (const c of [a, b, x, a, b]) await sync(c);
        // x goes away. The others change and delete files.
        for (const op of ops) {
          const c = op.client === 0 ? a : b;
          const p = PATHS[op.path]!;
          if (op.kind === 'write') c.tree.userWrite(p, enc(`v${op.content} by ${c.name}`));
          else c.tree.userDelete(p);
          clock.advance(1000);
          await sync(c);
        }
        for (const c of [a, b, a, b]) await sync(c);
        await executeRetire({ ...ctx(a) }, x.id);
        for (const c of [b, a]) await sync(c);
        clock.advance(1000);
        await executeGc({ ...ctx(a) }, { retentionMs: 0, graceMs: 0 });
        const before = foldStore(store);
        const collected = PATHS.filter((p) => {
          const st = before.paths.get(p as SyncPath);
          return st?.collected !== undefined && st.collected.size > 0 && computeHeads(st).length === 0;
        });
        // Meanwhile, away: x's user keeps, edits or deletes each of its files.
        const had = new Map([...x.tree.files].map(([p, f]) => [p, dec(f.bytes)]));
        for (const [i, p] of PATHS.entries()) {
          if (!had.has(p)) continue;
          if (away[i] === 'edit') x.tree.userWrite(p, enc(`edited away ${i}`));
          if (away[i] === 'delete') x.tree.userDelete(p);
        }
        const segsBefore = new Set([...store.objects.keys()].filter((k) => k.startsWith(`log/${x.id}/`)));
        const back = await sync(x);
        const published = [...store.objects]
          .filter(([k]) => k.startsWith(`log/${x.id}/`) && !segsBefore.has(k))
          .flatMap(([, bytes]) => decodeTrustedSegment(bytes).events);
        for (const p of collected) {
          const i = PATHS.indexOf(p);
          const puts = published.filter((e) => e.type === 'put' && e.path === p);
          if (!had.has(p) || away[i] === 'delete') {
            expect(puts, `${p}: nothing to publish`).toEqual([]);
          } else if (away[i] === 'keep') {
            expect(puts, `${p} resurrected`).toEqual([]);
            expect(x.tree.files.has(p), `${p} left on x`).toBe(false);
          } else {
            expect(dec(x.tree.files.get(p)!.bytes)).toBe(`edited away ${i}`);
            expect(puts.map((e) => (e.type === 'put' ? e.replaces : null))).toEqual([[]]);
            expect(back.notices).toContainEqual(expect.objectContaining({ path: p, reason: 'collected-path-kept' }));
          }
        }
        // Everyone converges on one tree.
        for (const c of [a, b, x, a, b]) await sync(c);
        const tree = (c: SimClient) => Object.fromEntries([...c.tree.files].map(([p, f]) => [p, dec(f.bytes)]).sort());
        expect(tree(x)).toEqual(tree(a));
        expect(tree(b)).toEqual(tree(a));
      }),
      { numRuns: 150 },
    );
  }, 120_000);
});
