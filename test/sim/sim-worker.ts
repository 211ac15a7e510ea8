import { emptyStats, addStats, isLoss, runScenario, SimFailure } from './simulation.js';
import type { SimFailureReport, SimJob, SimJobResult } from './sim-pool.js';

/**
 * One worker process of the simulation pool (sim-pool.ts): runs each job's seeds in turn and
 * sends back their summed statistics and every failure with its seed. Exits when the pool
 * disconnects.
 */

async function runJob(job: SimJob): Promise<SimJobResult> {
  const stats = emptyStats();
  const failures: SimFailureReport[] = [];
  for (let seed = job.first; seed < job.first + job.count; seed++) {
    try {
      addStats(stats, (await runScenario(seed, job.options)).stats);
    } catch (e) {
      if (e instanceof SimFailure) failures.push({ suite: job.suite, seed, kind: isLoss(e) ? 'loss' : 'invariant', message: e.message });
      else failures.push({ suite: job.suite, seed, kind: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
  }
  return { suite: job.suite, scenarios: job.count, stats, failures };
}

process.on('message', (job: SimJob) => {
  void runJob(job).then((r) => process.send!(r));
});
process.on('disconnect', () => process.exit(0));
