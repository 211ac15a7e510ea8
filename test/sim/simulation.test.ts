import { describe, expect, it } from 'vitest';
import { addStats, emptyStats, runScenario, SimFailure } from './simulation.js';

/**
 * The deterministic simulation (STYLE.md section 6). Environment:
 * - SIM_SEED=n        replay exactly one scenario (the seed a failure printed);
 * - SIM_RUNS=n        how many scenarios (default sized for about half a minute on one core);
 * - SIM_SEED_START=n  first seed of a run (default 1), to explore other seeds in long runs;
 * - SIM_CLIENTS=n, SIM_STEPS=n  other scenario sizes (default 3 clients, 20..40 steps);
 * - SIM_GC=1          garbage collection runs among the steps (ADR-0007); without it, a
 *                     second test runs SIM_GC_RUNS (default 300) such scenarios.
 * - SIM_CHECKPOINTS=1 clients checkpoint their logs, new clients join from the checkpoints, and
 *                     forged checkpoints appear (ADR-0014); without it, a third test runs
 *                     SIM_CHECKPOINT_RUNS (default 100) such scenarios.
 */
const DEFAULT_RUNS = 1500;
const MAX_FAILURES_SHOWN = 5;

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, not ${JSON.stringify(v)}`);
  return n;
}

const replay = envInt('SIM_SEED');
const runs = replay !== undefined ? 1 : (envInt('SIM_RUNS') ?? DEFAULT_RUNS);
const firstSeed = replay ?? envInt('SIM_SEED_START') ?? 1;
const clients = envInt('SIM_CLIENTS');
const steps = envInt('SIM_STEPS');
const gc = process.env['SIM_GC'] === '1';
const checkpoints = process.env['SIM_CHECKPOINTS'] === '1';
const options = { ...(clients !== undefined ? { clients } : {}), ...(steps !== undefined ? { steps } : {}), ...(gc ? { gc } : {}), ...(checkpoints ? { checkpoints } : {}) };
const gcRuns = envInt('SIM_GC_RUNS') ?? 300;
const checkpointRuns = envInt('SIM_CHECKPOINT_RUNS') ?? 100;

describe('multi-client simulation of runSync', () => {
  it(
    `${runs} scenario(s) from seed ${firstSeed}: convergence, no data loss, blobs before events, guarded writes, idempotence`,
    async () => {
      const total = emptyStats();
      const failures: SimFailure[] = [];
      const started = Date.now();
      for (let seed = firstSeed; seed < firstSeed + runs; seed++) {
        try {
          addStats(total, (await runScenario(seed, options)).stats);
        } catch (e) {
          if (!(e instanceof SimFailure)) throw e;
          failures.push(e);
          if (replay !== undefined) break;
        }
      }
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      console.log(
        [
          `simulation: ${runs} scenarios (seeds ${firstSeed}..${firstSeed + runs - 1}) in ${seconds}s, ${failures.length} failed`,
          `  steps ${total.steps}, syncs ${total.syncs} (${total.completedSyncs} completed), quiescence rounds ${total.quiescenceRounds}`,
          `  crashes ${total.crashes}, syncs with store faults ${total.faultSyncs} (injected errors ${total.injectedErrors}, truncated listings ${total.truncatedLists}, syncs ended by a remote failure ${total.remoteFailures})`,
          `  unreadable marks ${total.unreadableMarks}, edits racing a sync ${total.racingEdits}, safety-guard stops ${total.guardStops}, resolves ${total.resolves}`,
          `  conflicts seen ${total.conflicts}, clean-state shortcuts (each checked against a full plan) ${total.cleanSyncs}, focused plans (each checked against a full plan) ${total.focusedPlans}, of them lazy ${total.lazyPlans}, stage plans of first syncs (each checked against a full plan on their paths) ${total.stagePlans}`,
        ].join('\n'),
      );
      if (failures.length > 0) {
        const seeds = failures.map((f) => f.seed).join(', ');
        const shown = failures.slice(0, MAX_FAILURES_SHOWN).map((f) => f.message);
        expect.fail(`${failures.length} scenario(s) broke an invariant; seeds: ${seeds}\n\n${shown.join('\n\n')}`);
      }
      // The shortcut must actually be exercised (and so checked), not just be correct when idle.
      if (replay === undefined) expect(total.cleanSyncs).toBeGreaterThan(0);
      if (replay === undefined) expect(total.focusedPlans).toBeGreaterThan(0);
      if (replay === undefined) expect(total.lazyPlans).toBeGreaterThan(0);
      if (replay === undefined) expect(total.stagePlans).toBeGreaterThan(0);
    },
    // Long runs (SIM_RUNS=1000000) take as long as they take.
    Math.max(120_000, runs * 1_000),
  );

  it.skipIf(gc || checkpoints || replay !== undefined)(
    `${gcRuns} scenario(s) with garbage collection among the steps: the same invariants, and no needed blob ever deleted`,
    async () => {
      const total = emptyStats();
      const failures: SimFailure[] = [];
      for (let seed = firstSeed; seed < firstSeed + gcRuns; seed++) {
        try {
          addStats(total, (await runScenario(seed, { ...options, gc: true })).stats);
        } catch (e) {
          if (!(e instanceof SimFailure)) throw e;
          failures.push(e);
        }
      }
      console.log(`simulation with gc: ${gcRuns} scenarios, ${failures.length} failed; gc runs ${total.gcRuns}, blobs deleted ${total.blobsCollected}, paths collected ${total.pathsCollected}, crashes ${total.crashes}`);
      if (failures.length > 0) expect.fail(`${failures.length} scenario(s) broke an invariant; seeds: ${failures.map((f) => f.seed).join(', ')}\n\n${failures.slice(0, MAX_FAILURES_SHOWN).map((f) => f.message).join('\n\n')}`);
      expect(total.blobsCollected).toBeGreaterThan(0);
      expect(total.pathsCollected).toBeGreaterThan(0);
    },
    Math.max(120_000, gcRuns * 1_000),
  );

  it.skipIf(gc || checkpoints || replay !== undefined)(
    `${checkpointRuns} scenario(s) with checkpoints, joins from them and forged ones: the same invariants`,
    async () => {
      const total = emptyStats();
      const failures: SimFailure[] = [];
      for (let seed = firstSeed; seed < firstSeed + checkpointRuns; seed++) {
        try {
          addStats(total, (await runScenario(seed, { ...options, checkpoints: true })).stats);
        } catch (e) {
          if (!(e instanceof SimFailure)) throw e;
          failures.push(e);
        }
      }
      console.log(`simulation with checkpoints: ${checkpointRuns} scenarios, ${failures.length} failed; joins from checkpoints ${total.joins}, checkpoints written by syncs ${total.ownCheckpoints}, forged ${total.forgedCheckpoints}, syncs reporting one ${total.checkpointFaults}`);
      if (failures.length > 0) expect.fail(`${failures.length} scenario(s) broke an invariant; seeds: ${failures.map((f) => f.seed).join(', ')}\n\n${failures.slice(0, MAX_FAILURES_SHOWN).map((f) => f.message).join('\n\n')}`);
      expect(total.joins).toBeGreaterThan(0);
      expect(total.ownCheckpoints).toBeGreaterThan(0);
      expect(total.forgedCheckpoints).toBeGreaterThan(0);
      expect(total.checkpointFaults).toBeGreaterThan(0);
    },
    Math.max(120_000, checkpointRuns * 1_000),
  );

  it('replays a seed exactly', async () => {
    const seed = firstSeed;
    const a = await runScenario(seed, options).catch((e: unknown) => e);
    const b = await runScenario(seed, options).catch((e: unknown) => e);
    if (a instanceof SimFailure && b instanceof SimFailure) expect(b.message).toBe(a.message);
    else expect(b).toEqual(a);
    if (!(a instanceof SimFailure)) expect((a as { trace: string[] }).trace.length).toBeGreaterThan(10);
  });
});
