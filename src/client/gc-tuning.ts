import * as v8 from 'node:v8';
import * as vm from 'node:vm';

/**
 * V8's heap sized for the sync's working set (ADR-0010, ADR-0012).
 *
 * The young generation: a lazy sync of a large tree keeps ~20 MB of live heap and allocates
 * in short bursts; left to V8's default the young generation doubles up to 2 x 16 MB
 * semi-spaces anyway, about 20 MB of RSS for nothing. Holding it at the size it has when a
 * small sync starts costs nothing measurable there, while a full sync (a full fold) keeps
 * the default: holding it there made an unstaged first sync of 100k files a quarter slower.
 *
 * The old generation: V8 lets it grow to about three times the live heap (by its own factor)
 * before a full collection. For a small working set (a lazy sync, a streamed fetch, a first
 * sync in stages: 15-40 MB live at 100k files) it is held to 1.3 times: a full collection of
 * such a heap takes a few ms. It cut the fetch of a new client's first sync at 100k from
 * ~180-210 MB to ~130 MB. A full fold keeps V8's factor: its live set is 100+ MB.
 *
 * Done with `--semi-space-growth-factor` and `--heap-growing-percent`, which V8 (11.3, Node
 * 20) reads each time it would grow the young generation or set the next limit, so setting
 * them while running only changes those decisions. Should a Node version ignore or refuse
 * them, the only effect is memory: nothing else depends on them.
 */
export function applyWorkingSet(size: 'small' | 'large'): void {
  try {
    v8.setFlagsFromString(`--semi-space-growth-factor=${size === 'small' ? 1 : DEFAULT_GROWTH_FACTOR}`);
    v8.setFlagsFromString(`--heap-growing-percent=${size === 'small' ? SMALL_HEAP_GROWING_PERCENT : DEFAULT_HEAP_GROWING_PERCENT}`);
  } catch {
    // Memory only (see above).
  }
}

/** V8's defaults for the flags (v8/src/flags/flag-definitions.h; 0: V8's own factor). */
const DEFAULT_GROWTH_FACTOR = 2;
const DEFAULT_HEAP_GROWING_PERCENT = 0;
/** The old generation's growth for a small working set: 1.3 times the live heap. */
const SMALL_HEAP_GROWING_PERCENT = 30;

/**
 * A full collection, between the stages of a first sync (ADR-0011) and before the first. The
 * scan before the first stage leaves up to ~60 MB of garbage in the old generation at 100k
 * files, which V8 would let grow further before collecting. A stage's downloads and
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
