import { BmError, ErrorCode } from '../errors.js';

// The times `log --since/--until`, `ls --at` and `restore --at` accept: a span back from now,
// a day by name, or an ISO 8601 date or time. Pure: `now` is passed in (local time is the
// process's time zone, TZ).

/** The accepted forms, as an error's hint lists them. */
export const TIME_FORMS =
  'accepted: now, 30s, 30m, 2h, 3d, 1w (that long ago), today or yesterday (local midnight), ' +
  'an ISO 8601 date 2026-11-20 (local midnight) or time 2026-11-20T17:00 (local) / 2026-11-20T17:00:00Z';

const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `2h`, `30m`, `3d`... : a whole number and a unit. */
const SPAN = /^(\d{1,9})\s*([smhdw])$/;
/** An ISO 8601 date, with an optional time (`T` or a space) and an optional zone. */
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/** Local midnight `daysBack` days before the day `now` falls on (DST-safe: calendar arithmetic). */
function localMidnight(now: number, daysBack: number): number {
  const d = new Date(now);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() - daysBack).getTime();
}

/** The offset a zone suffix stands for, in minutes east of UTC. */
function zoneMinutes(zone: string): number {
  if (zone.toUpperCase() === 'Z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
  return zone.startsWith('-') ? -minutes : minutes;
}

/** An ISO 8601 date or time as ms, or undefined when the text is not one or names no real day. */
function parseIso(text: string): number | undefined {
  const m = ISO.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? '0')) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Math.floor(Number(`0${m[7] ?? ''}`) * 1000);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  // Date.UTC rolls Feb 30 into March: the day must still be the one written.
  if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) return undefined;
  const zone = m[8];
  if (zone === undefined) return new Date(year, month - 1, day, hour, minute, second, ms).getTime();
  const offset = zoneMinutes(zone);
  if (offset > 14 * 60 || offset < -14 * 60) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second, ms) - offset * 60_000;
}

/** `text` as a time in ms, or undefined when it is none of the accepted forms. Pure. */
export function computeTimeSpec(text: string, now: number): number | undefined {
  const t = text.trim().toLowerCase();
  if (t === 'now') return now;
  if (t === 'today') return localMidnight(now, 0);
  if (t === 'yesterday') return localMidnight(now, 1);
  const span = SPAN.exec(t);
  if (span) return now - Number(span[1]) * UNIT_MS[span[2]!]!;
  return parseIso(text.trim());
}

/** `text` given to `flag` as a time in ms; a usage error naming the accepted forms otherwise. Pure. */
export function mustTimeSpec(text: string, flag: string, now: number): number {
  const ms = computeTimeSpec(text, now);
  if (ms === undefined) throw new BmError(ErrorCode.usage, `${flag} ${JSON.stringify(text)} is not a time bm-log understands`, TIME_FORMS);
  return ms;
}
