import type { ChangeKind, MoveNote } from '../client/change-kind.js';
import { displayName } from '../client/human-text.js';

// What an event did (created, edited, moved...): src/client/change-kind.ts, shared with the API's timeline.
export { ChangeKind, computeChangeKind, computeRecordedMove, type MoveNote } from '../client/change-kind.js';

// How `bm-log log` shows an event to a person: one line of at most LOG_LINE_WIDTH columns,
// with the kind of change, a relative time, the short version id, the client's name and
// the path. `--json` keeps every field. Pure: `now` is passed in; dates are local (TZ).

/** The widest line `log` prints (in code points), whatever the names in it. */
export const LOG_LINE_WIDTH = 100;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** `2026-11-20`: the local date of `ms`. */
function localDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
}

/**
 * `time` relative to `now`: `just now`, `3 min ago`, `5 h ago`, `2 days ago` within a week,
 * the local date past a week; a time ahead of now (a writer's clock ahead of this one's) the
 * same way as `in 3 min`. At most 10 characters.
 */
export function formatRelativeTime(time: number, now: number): string {
  const ago = Math.abs(now - time);
  const say = (n: number, unit: string) => (time > now ? `in ${n} ${unit}` : `${n} ${unit} ago`);
  if (ago < MINUTE) return 'just now';
  if (ago < HOUR) return say(Math.floor(ago / MINUTE), 'min');
  if (ago < DAY) return say(Math.floor(ago / HOUR), 'h');
  if (ago < 7 * DAY) return say(Math.floor(ago / DAY), ago < 2 * DAY ? 'day' : 'days');
  return localDate(time);
}

/** A size for people: `512 B`, `1.5 KB`, `20 MB` (powers of 1000). */
export function formatSize(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let n = bytes;
  let u = 0;
  while (n >= 1000 && u < units.length - 1) {
    n /= 1000;
    u++;
  }
  return u === 0 ? `${n} B` : `${n < 10 ? n.toFixed(1) : Math.round(n)} ${units[u]}`;
}

/** `text` cut to `width` code points, with `…` standing for what was cut at its start. */
function keepEnd(text: string, width: number): string {
  const cps = [...text];
  return cps.length <= width ? text : `…${cps.slice(cps.length - width + 1).join('')}`;
}

/** `text` cut to `width` code points, with `…` standing for what was cut at its end. */
function keepStart(text: string, width: number): string {
  const cps = [...text];
  return cps.length <= width ? text : `${cps.slice(0, width - 1).join('')}…`;
}

function padTo(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - [...text].length));
}

/** One event as `log` shows it. */
export interface LogLineInput {
  readonly time: string;
  readonly change: ChangeKind;
  readonly version: string;
  readonly who: string;
  readonly path: string;
  readonly size: number | null;
  readonly move: MoveNote | null;
}

/**
 * `3 min ago   edited    4X9KQ2ZD  alice         1.5 KB  notes/plan.md`: columns of fixed
 * width, the path last (a move as `from -> to`), shortened at its start so the line fits
 * LOG_LINE_WIDTH. The version is its last 8 characters, which `show`, `restore --at` and
 * `resolve --keep` accept. Names are shown with displayName (escaped, distinguishable).
 */
export function formatLogLine(e: LogLineInput, now: number): string {
  const head = [
    padTo(formatRelativeTime(Date.parse(e.time), now), 10),
    padTo(e.change, 8),
    e.version.slice(-8),
    padTo(keepStart(displayName(e.who), 12), 12),
    (e.size === null ? '' : formatSize(e.size)).padStart(7),
  ].join('  ');
  const where = e.move ? `${displayName(e.move.from)} -> ${displayName(e.move.to)}` : displayName(e.path);
  return `${head}  ${keepEnd(where, LOG_LINE_WIDTH - [...head].length - 2)}`;
}
