import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { addStats, emptyStats, type ScenarioOptions, type ScenarioStats } from './simulation.js';

/**
 * Runs simulation scenarios over worker processes (ADR-0017): one per core by default, each
 * a plain `node --import tsx` child running `sim-worker.ts`. Seeds go out in small chunks
 * from one queue, so a core that drew short scenarios takes more; every seed of every suite
 * runs exactly once, and every failure comes back with its seed. The vitest suite and
 * `npm run sim` both use it; a replay (SIM_SEED) runs in-process instead.
 */

/** A named run of `count` seeds from `first`, all with the same options. */
export interface SimSuite {
  readonly name: string;
  readonly first: number;
  readonly count: number;
  readonly options: ScenarioOptions;
}

/** One scenario that broke an invariant (or threw something else: `kind` 'error'). */
export interface SimFailureReport {
  readonly suite: string;
  readonly seed: number;
  /** 'loss' (content destroyed or lost), 'invariant' (any other broken invariant) or 'error'. */
  readonly kind: 'loss' | 'invariant' | 'error';
  readonly message: string;
}

export interface SuiteResult {
  readonly suite: SimSuite;
  readonly stats: ScenarioStats;
  scenarios: number;
  readonly failures: SimFailureReport[];
}

/** A chunk of seeds for one worker. */
export interface SimJob {
  readonly suite: string;
  readonly first: number;
  readonly count: number;
  readonly options: ScenarioOptions;
}

/** What a worker sends back for a job. */
export interface SimJobResult {
  readonly suite: string;
  readonly scenarios: number;
  readonly stats: ScenarioStats;
  readonly failures: SimFailureReport[];
}

export interface PoolOptions {
  /** Worker processes (default: the machine's available parallelism). */
  readonly workers?: number;
  /** Seeds per job (default: 25; smaller chunks balance better, larger ones cost fewer messages). */
  readonly chunk?: number;
  /** Called after each job with the totals so far. */
  readonly onProgress?: (done: number, total: number) => void;
}

const WORKER = fileURLToPath(new URL('./sim-worker.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

function planJobs(suites: readonly SimSuite[], chunk: number): SimJob[] {
  const jobs: SimJob[] = [];
  for (const s of suites) {
    for (let first = s.first; first < s.first + s.count; first += chunk) {
      jobs.push({ suite: s.name, first, count: Math.min(chunk, s.first + s.count - first), options: s.options });
    }
  }
  return jobs;
}

/** Starts one worker process; `onResult` gets each job's result, `onExit` its end. */
function startWorker(onResult: (r: SimJobResult) => void, onExit: (why: string | null) => void): ChildProcess {
  // `--import tsx` resolves from the repository root, where tsx is a dev dependency.
  const child = fork(WORKER, [], { cwd: REPO_ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.on('message', (m: SimJobResult) => onResult(m));
  child.on('exit', (code, signal) => onExit(code === 0 ? null : `worker exited with ${signal ?? `code ${code}`}`));
  child.on('error', (e) => onExit(`worker failed: ${e.message}`));
  return child;
}

/** Runs every seed of `suites` across worker processes; resolves with one result per suite. */
export function runInPool(suites: readonly SimSuite[], options: PoolOptions = {}): Promise<Map<string, SuiteResult>> {
  const results = new Map(suites.map((s) => [s.name, { suite: s, stats: emptyStats(), scenarios: 0, failures: [] } as SuiteResult]));
  const jobs = planJobs(suites, options.chunk ?? 25);
  const total = suites.reduce((n, s) => n + s.count, 0);
  const workers = Math.min(options.workers ?? defaultWorkers(), Math.max(1, jobs.length));
  let done = 0;
  let next = 0;
  return new Promise((resolve, reject) => {
    let live = 0;
    let failed = false;
    const children: ChildProcess[] = [];
    const feed = (child: ChildProcess) => {
      const job = jobs[next++];
      if (job === undefined) child.disconnect();
      else child.send(job);
    };
    for (let i = 0; i < workers; i++) {
      live++;
      const child: ChildProcess = startWorker(
        (r) => {
          const into = results.get(r.suite)!;
          addStats(into.stats, r.stats);
          into.scenarios += r.scenarios;
          into.failures.push(...r.failures);
          done += r.scenarios;
          options.onProgress?.(done, total);
          feed(child);
        },
        (why) => {
          live--;
          if (why !== null && !failed) {
            failed = true;
            for (const c of children) c.kill();
            reject(new Error(`simulation pool: ${why}`));
          }
          if (live === 0 && !failed) {
            if (done !== total) reject(new Error(`simulation pool: ${done} of ${total} scenarios ran`));
            else resolve(results);
          }
        },
      );
      children.push(child);
      feed(child);
    }
  });
}

/** A summary of one suite's run (`seconds`: of the whole pool), the figure `npm run sim` and the vitest suite print. */
export function describeSuite(r: SuiteResult, seconds: number): string {
  const t = r.stats;
  const losses = r.failures.filter((f) => f.kind === 'loss').length;
  return [
    `${r.suite.name}: ${r.scenarios} scenarios (seeds ${r.suite.first}..${r.suite.first + r.suite.count - 1}), ${r.failures.length} failed, ${losses} with data loss (pool: ${seconds.toFixed(1)} s)`,
    `  steps ${t.steps}, syncs ${t.syncs} (${t.completedSyncs} completed), quiescence rounds ${t.quiescenceRounds}`,
    `  faults injected: crashes ${t.crashes}, syncs with store faults ${t.faultSyncs} (injected errors ${t.injectedErrors}, truncated listings ${t.truncatedLists}, syncs ended by a remote failure ${t.remoteFailures}), unreadable marks ${t.unreadableMarks}, edits racing a sync ${t.racingEdits}`,
    `  safety-guard stops ${t.guardStops}, resolves ${t.resolves}, conflicts seen ${t.conflicts}`,
    `  checked against a full plan: clean-state shortcuts ${t.cleanSyncs}, focused plans ${t.focusedPlans} (lazy ${t.lazyPlans}), stage plans of first syncs ${t.stagePlans}`,
    `  objects vanished from the store ${t.vanished}, put back by their owners' syncs ${t.restored}`,
    `  line edits ${t.lineEdits}, merges checked (ADR-0020) ${t.merges}, moves ${t.moves} (edits sent on merged, checked ${t.mergedFollows}), config events (ADR-0037) ${t.configs}`,
    `  scenarios with packs (ADR-0022) ${t.packScenarios}, pack puts ${t.packsWritten} (with store faults on ${t.packsInFaultSyncs})`,
    `  scenarios with bucket snapshots (ADR-0034) ${t.snapshotScenarios}, snapshots taken ${t.snapshotsTaken}`,
    ...(t.gcRuns > 0 ? [`  gc runs ${t.gcRuns}, blobs deleted ${t.blobsCollected}, paths collected ${t.pathsCollected}`] : []),
    ...(t.joins + t.forgedCheckpoints > 0
      ? [
          `  joins from checkpoints ${t.joins}, checkpoints written by syncs ${t.ownCheckpoints}, forged ${t.forgedCheckpoints}, syncs reporting one ${t.checkpointFaults}`,
        ]
      : []),
    ...(t.fsClients > 0
      ? [
          `  clients on insensitive volumes ${t.fsClients}, twin groups held as one ${t.twinGroups}; known gaps (ADR-0017): never settled ${t.fsUnsettled}, settled apart from the projection ${t.fsDiverged}`,
        ]
      : []),
  ].join('\n');
}
