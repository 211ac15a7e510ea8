import { describe, expect, it } from 'vitest';
import { DEFAULT_MEMBER_SIM, runMemberScenario } from './sim-members.js';

/**
 * The simulation with member events (test/sim/sim-members.ts, ADR-0032): SIM_MEMBER_RUNS seeds
 * (default 20), each with adds, removals, role changes, a non-member writer and a removed member
 * still writing, synced in random orders.
 */
const RUNS = Number(process.env['SIM_MEMBER_RUNS'] ?? 20);
const FIRST = Number(process.env['SIM_MEMBER_SEED'] ?? 1);

describe('simulation with member events', () => {
  it(`no event of a non-member, reader or removed member beyond its cut reaches a plan; member lists and counted heads converge (${RUNS} seeds)`, async () => {
    for (let seed = FIRST; seed < FIRST + RUNS; seed++) {
      const r = await runMemberScenario(seed, DEFAULT_MEMBER_SIM);
      expect(r.broken, `seed ${seed} (replay: SIM_MEMBER_SEED=${seed} SIM_MEMBER_RUNS=1)\ntrace:\n${r.trace.join('\n')}`).toEqual([]);
    }
  }, 600_000);
});
