import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { BIN } from './support/cli.js';

// The CLI holds V8's young generation during a lazy sync (applyWorkingSet, ADR-0010) through
// a flag V8 reads while running. If a Node version stopped honouring it, nothing would break
// but memory: this test is what notices.

const GC_TUNING = path.join(path.dirname(BIN), '..', 'dist', 'client', 'gc-tuning.js');

/** The young generation's size after allocating ~30 MB that all stays alive, with `size` applied first. */
async function computeYoungGeneration(size: 'small' | 'large' | 'none'): Promise<{ before: number; after: number }> {
  const script = `
    import * as v8 from 'node:v8';
    const { applyWorkingSet } = await import(${JSON.stringify(GC_TUNING)});
    const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    if (${JSON.stringify(size)} !== 'none') applyWorkingSet(${JSON.stringify(size)});
    const before = young();
    const keep = [];
    for (let i = 0; i < 300000; i++) keep.push({ i, s: 'x' + i, a: [i] });
    console.log(JSON.stringify({ before, after: young(), kept: keep.length }));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
  return JSON.parse(stdout) as { before: number; after: number };
}

describe('the young generation during a sync (gc-tuning)', () => {
  it("stays small after 'small', and grows as V8 would by default after 'large'", async () => {
    const held = await computeYoungGeneration('small');
    const large = await computeYoungGeneration('large');
    const none = await computeYoungGeneration('none');
    expect(held.after).toBeLessThanOrEqual(Math.max(held.before, 4 << 20));
    expect(none.after).toBeGreaterThan(8 << 20); // what V8 does unheld: the test's premise
    expect(large.after).toBe(none.after);
  });
});

/**
 * The old generation's peak while ~15 MB stays alive and batches of objects live long enough
 * to be promoted, then die, with `size` applied first; and the heap in use after
 * `collectGarbage` once ~30 MB more became garbage.
 */
async function computeOldGeneration(
  size: 'small' | 'large' | 'none',
): Promise<{ peakOld: number; beforeCollect: number; afterCollect: number }> {
  const script = `
    import * as v8 from 'node:v8';
    const { applyWorkingSet, collectGarbage } = await import(${JSON.stringify(GC_TUNING)});
    if (${JSON.stringify(size)} !== 'none') applyWorkingSet(${JSON.stringify(size)});
    const old = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_size;
    const live = [];
    for (let i = 0; i < 200000; i++) live.push({ i, s: 'live' + i });
    let peakOld = 0;
    let batch = [];
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 20000; i++) batch.push({ round, i, s: 'g' + i });
      if (round % 4 === 3) batch = [];
      peakOld = Math.max(peakOld, old());
    }
    let junk = [];
    for (let i = 0; i < 300000; i++) junk.push({ i });
    for (let k = 0; k < 3; k++) junk = junk.map((x) => ({ ...x }));
    const beforeCollect = v8.getHeapStatistics().used_heap_size;
    junk = null;
    collectGarbage();
    const afterCollect = v8.getHeapStatistics().used_heap_size;
    console.log(JSON.stringify({ peakOld, beforeCollect, afterCollect, kept: live.length + batch.length }));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
  return JSON.parse(stdout) as { peakOld: number; beforeCollect: number; afterCollect: number };
}

describe('the old generation during a sync (gc-tuning)', () => {
  it("grows to ~1.3 times the live heap after 'small', as V8 would by default after 'large'", async () => {
    const held = await computeOldGeneration('small');
    const large = await computeOldGeneration('large');
    const none = await computeOldGeneration('none');
    // (Measured: ~34 MB held, 72-80 MB by V8's own factor.)
    expect(none.peakOld).toBeGreaterThan(held.peakOld * 1.5); // the test's premise
    expect(large.peakOld).toBeGreaterThan(held.peakOld * 1.5);
  });

  it('collectGarbage frees what became garbage (without --expose-gc on the command line)', async () => {
    const r = await computeOldGeneration('none');
    expect(r.afterCollect).toBeLessThan(r.beforeCollect - (20 << 20));
  });
});
