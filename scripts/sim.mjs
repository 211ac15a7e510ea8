// `npm run sim -- [--scenarios N] [--gc N] [--fs N] [--checkpoints N] [--workers W] [--seed-start S] [--clients C] [--steps K]`
// Runs the deterministic simulation (test/sim) over worker processes, one per core by
// default: N scenarios (default 1,000,000) plus --gc N with garbage collection among the
// steps, --fs N with clients on macOS/Windows-like volumes and --checkpoints N with
// checkpoints, joins from them and forged ones (each default N/10). Prints
// progress, then the figure: scenarios, syncs, faults injected, failures and losses, with
// every failing seed (each replays with SIM_SEED=<seed>).
// Exits 1 when a scenario failed.
import { register } from 'tsx/esm/api';
import { parseArgs } from 'node:util';

register();
const { runInPool, describeSuite, defaultWorkers } = await import('../test/sim/sim-pool.ts');
const { replayCommand } = await import('../test/sim/simulation.ts');

const { values } = parseArgs({
  options: {
    scenarios: { type: 'string', default: '1000000' },
    gc: { type: 'string' },
    fs: { type: 'string' },
    checkpoints: { type: 'string' },
    workers: { type: 'string' },
    'seed-start': { type: 'string', default: '1' },
    clients: { type: 'string' },
    steps: { type: 'string' },
  },
});

function int(name, v) {
  const n = Number(String(v).replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, not ${JSON.stringify(v)}`);
  return n;
}

const count = int('scenarios', values.scenarios);
const gcCount = values.gc === undefined ? Math.floor(count / 10) : int('gc', values.gc);
const fsCount = values.fs === undefined ? Math.floor(count / 10) : int('fs', values.fs);
const checkpointCount = values.checkpoints === undefined ? Math.floor(count / 10) : int('checkpoints', values.checkpoints);
const first = int('seed-start', values['seed-start']);
const workers = values.workers === undefined ? defaultWorkers() : int('workers', values.workers);
const base = {
  ...(values.clients ? { clients: int('clients', values.clients) } : {}),
  ...(values.steps ? { steps: int('steps', values.steps) } : {}),
};
const suites = [
  { name: 'simulation', first, count, options: base },
  ...(gcCount > 0 ? [{ name: 'simulation with gc', first, count: gcCount, options: { ...base, gc: true } }] : []),
  ...(fsCount > 0 ? [{ name: 'simulation on macOS and Windows volumes', first, count: fsCount, options: { ...base, fs: true } }] : []),
  ...(checkpointCount > 0
    ? [{ name: 'simulation with checkpoints', first, count: checkpointCount, options: { ...base, checkpoints: true } }]
    : []),
].filter((s) => s.count > 0);

console.log(
  `simulation: ${count} scenarios + ${gcCount} with gc + ${fsCount} on macOS/Windows volumes + ${checkpointCount} with checkpoints from seed ${first}, ${workers} worker process(es)`,
);
const started = Date.now();
let lastPrint = started;
const results = await runInPool(suites, {
  workers,
  chunk: 50,
  onProgress(done, total) {
    const now = Date.now();
    if (now - lastPrint < 10_000 && done < total) return;
    lastPrint = now;
    const s = (now - started) / 1000;
    const eta = done > 0 ? ((total - done) * s) / done : 0;
    console.log(`  ${done}/${total} scenarios, ${s.toFixed(0)} s, ${(done / s).toFixed(0)}/s, ~${eta.toFixed(0)} s to go`);
  },
});
const seconds = (Date.now() - started) / 1000;
let failed = 0;
for (const r of results.values()) {
  console.log(describeSuite(r, seconds));
  for (const f of r.failures.slice(0, 20))
    console.log(`  FAILED (${f.kind}) seed ${f.seed}: ${f.message.split('\n')[0]}\n    replay: ${replayCommand(f.seed, r.suite.options)}`);
  if (r.failures.length > 20)
    console.log(
      `  ... and ${r.failures.length - 20} more: seeds ${r.failures
        .slice(20)
        .map((f) => f.seed)
        .join(', ')}`,
    );
  failed += r.failures.length;
}
const total = [...results.values()].reduce((n, r) => n + r.scenarios, 0);
console.log(`total: ${total} scenarios in ${seconds.toFixed(1)} s on ${workers} worker(s), ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
