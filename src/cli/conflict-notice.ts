import { spawn } from 'node:child_process';
import type { ConflictNote } from '../reconcile/plan-sync.js';
import type { SyncIndex } from '../reconcile/ports.js';
import { displayName } from '../client/human-text.js';
import type { Output } from './output.js';

// The notice of a new conflict (ADR-0025): a desktop notification where one can be shown,
// else a line on stderr; once per conflict, for conflicts this folder had not been told of.

/** Meta key of the local index: the open conflicts this folder was last told of. */
const NOTIFIED_KEY = 'notified-conflicts';

/** A conflict as the notice tells it apart: its path and kind (a third version on it is the same conflict). */
export function computeConflictKey(c: Pick<ConflictNote, 'path' | 'kind'>): string {
  return `${c.kind}\0${c.path}`;
}

/** The conflicts of `now` whose key is not in `before` (one each). Pure. */
export function computeNewConflicts(before: readonly string[], now: readonly ConflictNote[]): ConflictNote[] {
  const seen = new Set(before);
  return now.filter((c) => {
    const k = computeConflictKey(c);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * The conflicts of `now` the folder was not told of yet; records `now` as told (so a conflict
 * resolved and opened again is new again). The record is one meta key, which leaves the
 * clean-state record as it is (`voidsCleanState`).
 */
export async function takeNewConflicts(index: SyncIndex, now: readonly ConflictNote[]): Promise<ConflictNote[]> {
  const raw = index.getMeta === undefined ? undefined : await index.getMeta<unknown>(NOTIFIED_KEY);
  const before = Array.isArray(raw) ? raw.filter((k): k is string => typeof k === 'string') : [];
  const fresh = computeNewConflicts(before, now);
  const keys = now.map(computeConflictKey);
  if (fresh.length > 0 || keys.length !== before.length) await index.commitBatch({ meta: { [NOTIFIED_KEY]: keys } });
  return fresh;
}

/** A program to run for a desktop notification: no shell, the text as arguments. */
export interface DesktopNotifier {
  readonly command: string;
  readonly args: readonly string[];
}

/**
 * How to show a desktop notification here, or undefined: `notify-send` on Linux with a graphical
 * session (DISPLAY or WAYLAND_DISPLAY) and a D-Bus session bus, `osascript` on macOS (the text
 * passed as an argument of the script, never inside it). Pure.
 */
export function planDesktopNotifier(
  title: string,
  body: string,
  env: Readonly<Record<string, string | undefined>>,
  platform: NodeJS.Platform,
): DesktopNotifier | undefined {
  if (platform === 'darwin') {
    const script = ['on run argv', 'display notification (item 2 of argv) with title (item 1 of argv)', 'end run'];
    return { command: 'osascript', args: [...script.flatMap((l) => ['-e', l]), title, body] };
  }
  if (platform === 'linux' && (env['DISPLAY'] || env['WAYLAND_DISPLAY']) && env['DBUS_SESSION_BUS_ADDRESS']) {
    return { command: 'notify-send', args: ['--app-name=bm-log', '--', title, body] };
  }
  return undefined;
}

/** Runs a notifier; true when it exited 0 within a few seconds. Never throws. */
export type RunNotifier = (n: DesktopNotifier) => Promise<boolean>;

export const runNotifier: RunNotifier = (n) =>
  new Promise((resolve) => {
    try {
      const child = spawn(n.command, [...n.args], { stdio: 'ignore', shell: false, timeout: 5000 });
      child.on('error', () => resolve(false));
      child.on('close', (code) => resolve(code === 0));
    } catch {
      resolve(false);
    }
  });

/** The notice's text for `conflicts` (at least one). Pure. */
export function computeConflictNoticeText(conflicts: readonly ConflictNote[], folder: string): { title: string; body: string } {
  const shown = conflicts.slice(0, 3).map((c) => displayName(c.path));
  const more = conflicts.length > 3 ? ` and ${conflicts.length - 3} more` : '';
  const title = conflicts.length === 1 ? 'bm-log: a new conflict' : `bm-log: ${conflicts.length} new conflicts`;
  return { title, body: `${shown.join(', ')}${more} in ${displayName(folder)}; both versions are kept (bm-log conflicts)` };
}

/** Tells of new conflicts: a desktop notification, or (none here, or it failed) a line on stderr. */
export async function executeConflictNotice(
  conflicts: readonly ConflictNote[],
  folder: string,
  out: Output,
  env: Readonly<Record<string, string | undefined>> = process.env,
  platform: NodeJS.Platform = process.platform,
  run: RunNotifier = runNotifier,
): Promise<void> {
  if (conflicts.length === 0) return;
  const { title, body } = computeConflictNoticeText(conflicts, folder);
  const notifier = planDesktopNotifier(title, body, env, platform);
  if (notifier !== undefined && (await run(notifier))) return;
  out.stderr(`${title}: ${body}\n`);
}
