import { describe, expect, it } from 'vitest';
import { addStats, emptyStats, runScenario } from './simulation.js';
import { runInPool } from './sim-pool.js';

describe('simulation pool', () => {
  it('runs every seed of every suite exactly once over worker processes: the same figures as in one process', async () => {
    const results = await runInPool(
      [
        { name: 'a', first: 11, count: 5, options: {} },
        { name: 'b', first: 3, count: 3, options: { gc: true, steps: 12 } },
      ],
      { workers: 2, chunk: 2 },
    );
    for (const [name, first, count, options] of [
      ['a', 11, 5, {}],
      ['b', 3, 3, { gc: true, steps: 12 }],
    ] as const) {
      const here = emptyStats();
      for (let seed = first; seed < first + count; seed++) addStats(here, (await runScenario(seed, options)).stats);
      const r = results.get(name)!;
      expect(r.scenarios).toBe(count);
      expect(r.failures).toEqual([]);
      expect(r.stats).toEqual(here);
    }
  }, 120_000);

  it('reports a scenario that throws with its seed, and still runs the others', async () => {
    // No clients: the first step finds no one to act and throws a TypeError, not a SimFailure.
    const r = (await runInPool([{ name: 'broken', first: 7, count: 2, options: { clients: 0, steps: 1 } }], { workers: 1 })).get('broken')!;
    expect(r.scenarios).toBe(2);
    expect(r.failures.map((f) => [f.seed, f.kind])).toEqual([
      [7, 'error'],
      [8, 'error'],
    ]);
    expect(r.failures[0]!.message).toMatch(/TypeError/);
  }, 60_000);
});
