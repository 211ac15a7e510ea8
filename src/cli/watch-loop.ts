import { watch, type FSWatcher } from 'node:fs';
import { BmError } from '../errors.js';
import { isStateDirName } from '../events/sync-path.js';
import { withClientWaiting } from '../api/folder-lock.js';
import { mustClientRoot, type ClientSession } from '../client/client-session.js';
import { ExitCode, computeExitCode } from './exit-codes.js';
import type { Output } from './output.js';

// `bm-log sync --watch`: a round on local changes (debounced) and every interval, until a
// signal. Each round opens the folder and releases it (ADR-0028): between rounds other bm-log
// processes (the CLI, an MCP server, a program using the API) may use it; a round waits for
// them, up to ROUND_LOCK_WAIT_MS, and a round that could not get the folder waits for the next.

/** How long a round waits for the folder while another bm-log process uses it. */
const ROUND_LOCK_WAIT_MS = 30_000;

/** One round of the watch on the open session; returns its exit code. */
export type WatchRound = (session: ClientSession) => Promise<number>;

/** When the next round runs: the wake-ups from the folder, the interval and signals. */
class WatchTrigger {
  dirty = true;
  stopped = false;
  private wake: (() => void) | undefined;
  private debounce: NodeJS.Timeout | undefined;

  /** A change in the folder: a round after a second of quiet (bursts of saves are one change). */
  changed(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.dirty = true;
      this.wake?.();
    }, 1000);
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  /** Waits for a change, a signal or the interval (which marks a round due). */
  async next(intervalSeconds: number): Promise<void> {
    await new Promise<void>((r) => {
      this.wake = r;
      setTimeout(() => {
        this.dirty = true;
        r();
      }, intervalSeconds * 1000).unref();
    });
  }

  close(): void {
    clearTimeout(this.debounce);
  }
}

/** Whether a changed name is bm-log's own write (its state, a nested bm-log folder's too, temp files). */
function isOwnWrite(name: string | null): boolean {
  return typeof name === 'string' && (name.split(/[\\/]/).some(isStateDirName) || name.includes('.bm-tmp-'));
}

function watchFolder(root: string, trigger: WatchTrigger): FSWatcher {
  return watch(root, { recursive: true }, (_ev, name) => {
    if (!isOwnWrite(name)) trigger.changed();
  });
}

/** One round; retryable failures (remote down, folder busy) are printed and wait for the next. */
async function executeRound(root: string, round: WatchRound, out: Output): Promise<number | undefined> {
  try {
    // A fresh session each round: the folder is held only for the round, and .bmignore and
    // the config are read again.
    return await withClientWaiting(root, ROUND_LOCK_WAIT_MS, round);
  } catch (e) {
    // Others end the watch.
    if (!(e instanceof BmError) || computeExitCode(e.code) !== ExitCode.retry) throw e;
    out.error(e);
    return undefined;
  }
}

/** Runs rounds until SIGINT or SIGTERM; returns the exit code of the last round that finished. */
export async function executeWatch(dir: string | undefined, intervalSeconds: number, round: WatchRound, out: Output): Promise<number> {
  const root = await mustClientRoot(dir);
  const trigger = new WatchTrigger();
  const watcher = watchFolder(root, trigger);
  const onSignal = () => trigger.stop();
  // `on`, not `once`, and removed only after the session is closed: one Ctrl-C can arrive
  // twice (from the terminal and passed on by the launcher on Node 20, ADR-0018; systemd
  // signals every process of a service), and a repeat must not kill the closing watch.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let code: number = ExitCode.ok;
  try {
    while (!trigger.stopped) {
      if (trigger.dirty) {
        trigger.dirty = false;
        code = (await executeRound(root, round, out)) ?? code;
      }
      // A signal that came during the round must not wait for the next interval.
      if (trigger.stopped) break;
      await trigger.next(intervalSeconds);
    }
  } finally {
    watcher.close();
    trigger.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return code;
}
