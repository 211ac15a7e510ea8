import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { BIN } from './support/cli.js';

// The CLI holds V8's young generation during a lazy sync (applyWorkingSet, ADR-0010) through
// a flag V8 reads while running. If a Node version stopped honouring it, nothing would break
// but memory: this test is what notices.

const GC_TUNING = path.join(path.dirname(BIN), '..', 'dist', 'cli', 'gc-tuning.js');

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
