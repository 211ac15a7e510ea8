import * as v8 from 'node:v8';
import * as vm from 'node:vm';

/**
 * V8's young generation for the sync's working set (ADR-0010). A lazy sync of a large tree
 * keeps ~20 MB of live heap and allocates in short bursts; left to V8's default the young
 * generation doubles up to 2 x 16 MB semi-spaces anyway, about 20 MB of RSS for nothing.
 * Holding it at the size it has when a small sync starts costs nothing measurable there,
 * while a full sync (a first sync, a full fold) keeps the default: holding it there made a
 * first sync of 100k files a quarter slower.
 *
 * Done with `--semi-space-growth-factor`, which V8 (11.3, Node 20) reads each time it would
 * grow the young generation, so setting it while running only changes that decision. Should
 * a Node version ignore or refuse it, the only effect is memory: nothing else depends on it.
 */
export function applyWorkingSet(size: 'small' | 'large'): void {
  try {
    v8.setFlagsFromString(`--semi-space-growth-factor=${size === 'small' ? 1 : DEFAULT_GROWTH_FACTOR}`);
  } catch {
    // Memory only (see above).
  }
}

/** V8's default for the flag (v8/src/flags/flag-definitions.h). */
const DEFAULT_GROWTH_FACTOR = 2;

/**
 * A full collection, between the stages of a first sync (ADR-0011). A stage's downloads and
 * range reads leave thousands of small Buffers whose wrappers outlive a scavenge or two
 * (they wait on fsyncs in the thread pool) and then wait in the old generation for a full
 * collection, which V8 starts only when ~64 MB of such external memory has piled up. The live
 * heap between stages is ~20-30 MB at 100k files, so a collection there takes ~20-40 ms.
 *
 * `gc` is reached the documented way without `--expose-gc` on the command line: the flag set
 * at run time, then `gc` read from a new context. Should that fail, nothing is collected.
 */
export function collectGarbage(): void {
  try {
    gcFunction ??= exposeGc();
    gcFunction();
  } catch {
    gcFunction = () => undefined;
  }
}

let gcFunction: (() => void) | undefined;

function exposeGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  const gc: unknown = vm.runInNewContext('gc');
  return typeof gc === 'function' ? (gc as () => void) : () => undefined;
}
