import { parentPort, workerData } from 'node:worker_threads';
import { runFuzzLoop, type FuzzStats } from './fuzz-engine.js';
import { mustTarget } from './targets.js';

/**
 * One fuzzing thread (fuzz-main.ts): runs its targets one after another until each one's
 * deadline. Before each input runs, its bytes go to the shared buffer and the exec counter
 * moves on, so the main thread can tell a hang and which input caused it.
 */
interface Work {
  /** Targets in turn, each for `shareMs` from when it starts (module loading is not counted). */
  readonly targets: readonly string[];
  readonly shareMs: number;
  readonly seed: number;
  readonly shared: SharedArrayBuffer;
}

const work = workerData as Work;
const meta = new Int32Array(work.shared, 0, 2); // [exec counter, input length]
const bytes = new Uint8Array(work.shared, 8);

for (const [i, t] of work.targets.entries()) {
  const target = mustTarget(t);
  const stats: FuzzStats = runFuzzLoop(target, {
    seed: work.seed + i,
    deadline: Date.now() + work.shareMs,
    onExec: (input) => {
      const n = Math.min(input.length, bytes.length);
      bytes.set(input.subarray(0, n));
      Atomics.store(meta, 1, n);
      Atomics.add(meta, 0, 1);
    },
  });
  parentPort!.postMessage({ target: t, stats });
}
