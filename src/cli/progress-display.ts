import cliProgress from 'cli-progress';
import type { ProgressSink } from '../reconcile/ports.js';
import { applyProgress, computeProgressView, createProgressTally, type ProgressView } from './progress-model.js';

// The progress display of a sync on a terminal (ADR-0025): one line on stderr, redrawn in
// place by cli-progress (throttled redraws, cut to the terminal's width), fed
// by the engine's progress events through a `ProgressSink`. Nothing is drawn unless the
// stream is a terminal; the CLI does not create one with --json or --quiet.

/** The stream the display draws on: stderr, or a test's fake terminal. */
export type ProgressStream = NodeJS.WritableStream & { readonly isTTY?: boolean; readonly columns?: number };

/** A live display. */
export interface ProgressDisplay {
  /** Where the sync sends its progress. */
  readonly sink: ProgressSink;
  /** Clears the line, so that other output can be written; the next event draws it again. */
  pause(): void;
}

/** The line is recomputed at most this often (each file and each MiB is an event). */
const REFRESH_MS = 100;

/** A sync shorter than this shows no display (no flash of a line every round of a watch). */
export const SHOW_AFTER_MS = 500;

/**
 * A display on `stream`, or undefined when the stream is not a terminal. It first draws once
 * `showAfterMs` have passed since the first event (after a pause: since the next one).
 */
export function createProgressDisplay(
  stream: ProgressStream,
  options: { readonly now?: () => number; readonly showAfterMs?: number } = {},
): ProgressDisplay | undefined {
  const now = options.now ?? Date.now;
  const showAfterMs = options.showAfterMs ?? SHOW_AFTER_MS;
  if (stream.isTTY !== true) return undefined;
  const bar = new cliProgress.SingleBar({
    stream,
    format: (options, params, payload: { view?: ProgressView }) => {
      const view = payload.view;
      if (view === undefined) return '';
      if (view.fraction === undefined) return view.text;
      return `[${cliProgress.Format.BarFormat(params.progress, options)}] ${view.text}`;
    },
    barsize: 20,
    barCompleteChar: '#',
    barIncompleteChar: '.',
    // No terminal mode is changed (hidden cursor, no autowrap): a Ctrl-C that ends the process
    // at once would leave it so. cli-progress cuts the line to the terminal's width instead.
    hideCursor: false,
    clearOnComplete: true,
    linewrap: true,
    gracefulExit: false,
    fps: 10,
  });
  const tally = createProgressTally();
  let active = false;
  let since: number | undefined;
  let lastPhase = tally.phase;
  let lastDrawn = Number.NEGATIVE_INFINITY;
  const draw = (at: number) => {
    lastDrawn = at;
    lastPhase = tally.phase;
    const view = computeProgressView(tally);
    const value = Math.round((view.fraction ?? 0) * 1000);
    if (active) bar.update(value, { view });
    else {
      bar.start(1000, value, { view });
      active = true;
    }
  };
  return {
    sink: (p) => {
      const at = now();
      applyProgress(tally, p, at);
      since ??= at;
      if (at - since < showAfterMs) return;
      // New totals, a new phase or stage show at once; counts at most every REFRESH_MS.
      const news = p.kind === 'total' || p.kind === 'stage' || tally.phase !== lastPhase;
      if (!active || news || at - lastDrawn >= REFRESH_MS) draw(at);
    },
    pause: () => {
      since = undefined;
      if (!active) return;
      active = false;
      bar.stop();
    },
  };
}
