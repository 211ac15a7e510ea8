import type { VersionRecord } from '../projections/version-record.js';
import { displayName } from '../client/human-text.js';

// How `bm-log log` shows an event to a person: one line of at most LOG_LINE_WIDTH columns,
// with the kind of change, a relative time, the short version id, the client's name and
// the path. `--json` keeps every field. Pure: `now` is passed in; dates are local (TZ).

/** The widest line `log` prints (in code points), whatever the names in it. */
export const LOG_LINE_WIDTH = 100;

/** What an event did to its path, as `log` names it. */
export const ChangeKind = {
  created: 'created',
  edited: 'edited',
  deleted: 'deleted',
  restored: 'restored',
  resolved: 'resolved',
  moved: 'moved',
} as const;
export type ChangeKind = (typeof ChangeKind)[keyof typeof ChangeKind];

/** A rename, as a move event recorded it (ADR-0020): the put `from` an old name, or the tombstone `to` a new one. */
export interface MoveNote {
  readonly from: string;
  readonly to: string;
}

/** Pure: the move `v` is half of, as recorded in it (format 2), or null. */
export function computeRecordedMove(v: VersionRecord): MoveNote | null {
  if (v.type === 'put' && v.from !== undefined) return { from: v.from.path, to: v.path };
  if (v.type === 'tombstone' && v.to !== undefined) return { from: v.path, to: v.to };
  return null;
}

/**
 * The kind of change of `v`, among the versions `byId` knows: a move when it is half of a
 * rename; for a put, `created` when it replaces nothing live (nothing, or only deletes)
 * unless its content is an earlier version's, `restored` when its content is that of an
 * earlier version of the path other than the ones it replaces, else `edited`.
 */
export function computeChangeKind(
  v: VersionRecord,
  move: MoveNote | null,
  history: ReadonlyMap<string, readonly VersionRecord[]>,
  byId: ReadonlyMap<string, VersionRecord>,
): ChangeKind {
  if (move) return ChangeKind.moved;
  if (v.type === 'tombstone') return ChangeKind.deleted;
  if (v.type === 'resolve') return ChangeKind.resolved;
  const hash = v.content?.hash;
  const replaced = v.replaces.map((id) => byId.get(id));
  const earlier = (history.get(v.path) ?? []).filter((o) => o.id < v.id && !v.replaces.includes(o.id));
  if (hash !== undefined && earlier.some((o) => o.content?.hash === hash) && !replaced.some((r) => r?.content?.hash === hash))
    return ChangeKind.restored;
  return replaced.some((r) => r === undefined || r.content !== null) ? ChangeKind.edited : ChangeKind.created;
}

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
