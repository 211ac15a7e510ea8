import { watch, type FSWatcher } from 'node:fs';
import { BmError } from '../errors.js';
import { isStateDirName } from '../events/sync-path.js';
import { withClientWaiting, withLocalWaiting } from '../api/folder-lock.js';
import { mustClientRoot, readScope, type ClientSession } from '../client/client-session.js';
import { FsTree } from '../local/fs-tree.js';
import { ExitCode, computeExitCode } from './exit-codes.js';
import { displayName } from '../client/human-text.js';
import type { Output } from './output.js';
import type { SyncPath } from '../events/sync-path.js';
import type { BaseEntry, ScanResult } from '../reconcile/ports.js';

// `bm-log sync --watch`: a round on local changes (debounced) and every interval, until a
// signal. Each round opens the folder and releases it (ADR-0028): between rounds other bm-log
// processes (the CLI, an MCP server, a program using the API) may use it; a round waits for
// them, up to ROUND_LOCK_WAIT_MS, and a round that could not get the folder is retried later.
// A round prints one time-stamped line when something happened and nothing otherwise; failed
// rounds are retried with a growing wait; a signal ends the watch after the round in flight,
// with a last line saying what state the folder is in (ADR-0025).

/** How long a round waits for the folder while another bm-log process uses it. */
const ROUND_LOCK_WAIT_MS = 30_000;

/** What one round of the watch did. */
export interface RoundOutcome {
  readonly code: number;
  /** What to print: empty when nothing happened; the watch stamps the first line with the time. */
  readonly lines: readonly string[];
  readonly openConflicts: number;
  /** Operations skipped: those files are not in sync. */
  readonly skipped: number;
}

/** One round of the watch on the open session. */
export type WatchRound = (session: ClientSession) => Promise<RoundOutcome>;

/** The first wait after a failed round. */
export const RETRY_BASE_MS = 5000;
/** The longest wait between retries: 10 minutes, or the interval when that is longer. */
export const RETRY_CAP_MS = 10 * 60 * 1000;

/**
 * How long to wait before the next try after `failures` failed rounds in a row (1 and up):
 * 5 s, doubled after each failure, at most the larger of 10 minutes and the interval. Pure.
 */
export function computeRetryDelay(failures: number, intervalSeconds: number): number {
  const cap = Math.max(RETRY_CAP_MS, intervalSeconds * 1000);
  const exponent = Math.min(Math.max(failures, 1) - 1, 30);
  return Math.min(cap, RETRY_BASE_MS * 2 ** exponent);
}

/** A time as the watch prints it: local date and time to the second. */
export function formatStamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** When the next round runs: the wake-ups from the folder, the interval and signals. */
class WatchTrigger {
  dirty = true;
  stopped = false;
  /** Paths changed in the folder since the last round began (what a stop leaves not uploaded). */
  readonly changed = new Set<string>();
  private wake: (() => void) | undefined;
  private debounce: NodeJS.Timeout | undefined;

  /** A change in the folder: a round after a second of quiet (bursts of saves are one change). */
  change(name: string): void {
    this.changed.add(name);
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
    await this.sleep(intervalSeconds * 1000, true);
    this.dirty = true;
  }

  /** Waits `ms`; only a signal ends the wait early, and, when `onChange`, a change in the folder. */
  async sleep(ms: number, onChange: boolean): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((r) => {
      this.wake = () => {
        if (onChange || this.stopped) r();
      };
      timer = setTimeout(r, ms);
    });
    clearTimeout(timer);
    this.wake = undefined;
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
    if (!isOwnWrite(name)) trigger.change(name ?? '');
  });
}

/** What the watch knows between rounds. */
interface WatchRun {
  readonly intervalSeconds: number;
  failures: number;
  lastError: string | undefined;
  /** The last round that finished, and when; undefined until one has. */
  last: { outcome: RoundOutcome; at: Date } | undefined;
  code: number;
}

/** One round; a retryable failure (remote down, folder busy) is printed once and retried later. */
async function executeRound(
  root: string,
  round: WatchRound,
  run: WatchRun,
  trigger: WatchTrigger,
  out: Output,
  now: () => Date,
): Promise<void> {
  const changed = [...trigger.changed];
  trigger.changed.clear();
  try {
    // A fresh session each round: the folder is held only for the round, and .bmignore and
    // the config are read again.
    const outcome = await withClientWaiting(root, ROUND_LOCK_WAIT_MS, round);
    const at = now();
    run.last = { outcome, at };
    run.code = outcome.code;
    run.failures = 0;
    run.lastError = undefined;
    const [first, ...rest] = outcome.lines;
    if (first !== undefined) for (const l of [`${formatStamp(at)} ${first}`, ...rest]) out.line(l);
  } catch (e) {
    // Others end the watch.
    if (!(e instanceof BmError) || computeExitCode(e.code) !== ExitCode.retry) throw e;
    for (const c of changed) trigger.changed.add(c);
    run.failures++;
    run.code = computeExitCode(e.code);
    const again = run.lastError === e.message;
    if (!again) out.error(e);
    run.lastError = e.message;
    const delay = computeRetryDelay(run.failures, run.intervalSeconds);
    const at = now();
    const next = formatStamp(new Date(at.getTime() + delay)).slice(11);
    const what = again ? `sync failed again (${e.code}), ${run.failures} times in a row` : `sync failed (${e.code})`;
    out.line(`${formatStamp(at)} ${what}; next try in ${Math.round(delay / 1000)} s (at ${next})`);
    await trigger.sleep(delay, false);
    trigger.dirty = true;
  }
}

/**
 * The paths where the folder differs from what this client last synced (its manifest): files
 * added, changed or removed since. Pure.
 */
export function computeUnsyncedPaths(scan: Pick<ScanResult, 'files' | 'unreadable'>, manifest: ReadonlyMap<string, BaseEntry>): string[] {
  const out: string[] = [];
  for (const [p, f] of scan.files) if (manifest.get(p)?.hash !== f.hash) out.push(p);
  const unknown = (p: string) => scan.unreadable.some((u) => p === u || p.startsWith(`${u}/`));
  for (const p of manifest.keys()) if (!scan.files.has(p as SyncPath) && !unknown(p)) out.push(p);
  return out;
}

/** How many local changes the folder holds that no sync has published; undefined when the folder cannot be read. */
async function countUnsynced(root: string): Promise<number | undefined> {
  try {
    // The local half only: the count must work while the remote is out of reach.
    return await withLocalWaiting(root, ROUND_LOCK_WAIT_MS, async (s) => {
      const manifest = await s.index.getManifest();
      const scope = await readScope(s.root, s.config);
      return computeUnsyncedPaths(await new FsTree(s.root).scan(manifest, scope.isIgnored), manifest).length;
    });
  } catch {
    return undefined;
  }
}

/** The watch's last line: what state the folder is in as it stops. Pure. */
export function describeStoppedState(run: Pick<WatchRun, 'last' | 'failures'>, unsynced: number | undefined): string {
  const parts: string[] = [];
  if (run.last === undefined) parts.push('no sync finished during this watch');
  else if (run.failures > 0)
    parts.push(`the last ${run.failures} sync(s) failed; the last that finished was at ${formatStamp(run.last.at)}`);
  if (unsynced === undefined) parts.push('local changes could not be counted (`bm-log status` lists them)');
  else if (unsynced > 0) parts.push(`${unsynced} local change(s) not uploaded (the next \`bm-log sync\` uploads them)`);
  if (run.last !== undefined && run.last.outcome.skipped > 0)
    parts.push(`${run.last.outcome.skipped} file(s) skipped by the last sync are not in sync`);
  if (run.last !== undefined && run.last.outcome.openConflicts > 0)
    parts.push(`${run.last.outcome.openConflicts} open conflict(s) (\`bm-log conflicts\`)`);
  if (parts.length === 0) return `stopped: the folder is in sync (as of ${formatStamp(run.last!.at)})`;
  return `stopped: ${parts.join('; ')}`;
}

/** Runs rounds until SIGINT or SIGTERM; returns the exit code of the last round. */
export async function executeWatch(
  dir: string | undefined,
  intervalSeconds: number,
  round: WatchRound,
  out: Output,
  options: { readonly json?: boolean; readonly now?: () => Date } = {},
): Promise<number> {
  const now = options.now ?? (() => new Date());
  // With --json stdout holds only the rounds' documents: the watch's own lines go to stderr.
  const say: Output = options.json ? { ...out, line: (l) => out.stderr(`${l}\n`) } : out;
  const root = await mustClientRoot(dir);
  const trigger = new WatchTrigger();
  const watcher = watchFolder(root, trigger);
  let inRound = false;
  const onSignal = () => {
    if (!trigger.stopped && inRound)
      say.line('stopping: the sync in progress finishes first (stopping it hard is safe too: the next sync completes it)');
    trigger.stop();
  };
  // `on`, not `once`, and removed only after the session is closed: one Ctrl-C can arrive
  // twice (from the terminal and passed on by the launcher on Node 20, ADR-0018; systemd
  // signals every process of a service), and a repeat must not kill the closing watch.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  say.line(`watching ${displayName(root)}: a sync on each change and every ${intervalSeconds} s; Ctrl-C stops`);
  const run: WatchRun = { intervalSeconds, failures: 0, lastError: undefined, last: undefined, code: ExitCode.ok };
  try {
    while (!trigger.stopped) {
      if (trigger.dirty) {
        trigger.dirty = false;
        inRound = true;
        await executeRound(root, round, run, trigger, say, now).finally(() => (inRound = false));
      }
      // A signal that came during the round must not wait for the next interval.
      if (trigger.stopped) break;
      if (!trigger.dirty) await trigger.next(intervalSeconds);
    }
    // Only when something may have changed since the last round that finished is the folder scanned.
    const quiet = run.last !== undefined && run.failures === 0 && trigger.changed.size === 0;
    say.line(describeStoppedState(run, quiet ? 0 : await countUnsynced(root)));
  } finally {
    watcher.close();
    trigger.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return run.code;
}
