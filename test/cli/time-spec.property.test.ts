import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BmError, ErrorCode } from '../../src/errors.js';
import { computeTimeSpec, mustTimeSpec, TIME_FORMS } from '../../src/client/time-spec.js';
import { parseHistoryPoint } from '../../src/api/restore-note.js';

// Times between 1990 and 2090: `now` and any time the tests name.
const instant = fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2090, 0, 1) });
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

// Local time is the process's TZ: each zone below has its own DST rules (or none).
describe.each(['UTC', 'Europe/Berlin', 'America/St_Johns', 'Australia/Lord_Howe'])(
  'time specs (log --since/--until, ls/restore --at), TZ=%s',
  (tz) => {
    const before = process.env['TZ'];
    beforeAll(() => {
      process.env['TZ'] = tz;
    });
    afterAll(() => {
      if (before === undefined) delete process.env['TZ'];
      else process.env['TZ'] = before;
    });
    it('the zone is in force', () => {
      const offsets = { UTC: 0, 'Europe/Berlin': -120, 'America/St_Johns': 150, 'Australia/Lord_Howe': -630 } as Record<string, number>;
      expect(new Date(Date.UTC(2026, 6, 1)).getTimezoneOffset()).toBe(offsets[tz]);
    });

    it('a span N<unit> is exactly N units before now, with or without a space, any case', () => {
      fc.assert(
        fc.property(
          instant,
          fc.nat({ max: 100_000 }),
          fc.constantFrom(...(['s', 'm', 'h', 'd', 'w'] as const)),
          fc.boolean(),
          (now, n, unit, upper) => {
            const text = `${n}${upper ? unit.toUpperCase() : unit}`;
            expect(computeTimeSpec(text, now)).toBe(now - n * UNIT_MS[unit]);
            expect(computeTimeSpec(` ${n} ${unit} `, now)).toBe(now - n * UNIT_MS[unit]);
          },
        ),
      );
    });

    it('today is the local midnight at or before now (less than a day, give or take DST); yesterday the one before', () => {
      fc.assert(
        fc.property(instant, (now) => {
          const today = computeTimeSpec('today', now)!;
          const yesterday = computeTimeSpec('Yesterday', now)!;
          const t = new Date(today);
          expect([t.getHours(), t.getMinutes(), t.getSeconds(), t.getMilliseconds()]).toEqual([0, 0, 0, 0]);
          expect(today).toBeLessThanOrEqual(now);
          expect(now - today).toBeLessThan(25 * 3_600_000);
          expect(new Date(now).getDate()).toBe(t.getDate());
          expect(today - yesterday).toBeGreaterThanOrEqual(23 * 3_600_000);
          expect(today - yesterday).toBeLessThanOrEqual(25 * 3_600_000);
          expect(new Date(yesterday).getHours()).toBe(0);
          expect(computeTimeSpec('now', now)).toBe(now);
        }),
      );
    });

    it('an ISO 8601 time with a zone is that instant, whatever now is; without a zone it is local; a date is local midnight', () => {
      fc.assert(
        fc.property(instant, instant, fc.integer({ min: -14 * 60, max: 14 * 60 }), (t, now, offsetMin) => {
          expect(computeTimeSpec(new Date(t).toISOString(), now)).toBe(t);
          // The same instant written with another offset.
          const local = new Date(t + offsetMin * 60_000).toISOString().slice(0, 23);
          const sign = offsetMin < 0 ? '-' : '+';
          const abs = Math.abs(offsetMin);
          const zone = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
          expect(computeTimeSpec(`${local}${zone}`, now)).toBe(t);
          const d = new Date(t);
          const p = (n: number) => String(n).padStart(2, '0');
          const day = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
          expect(computeTimeSpec(day, now)).toBe(new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime());
          expect(computeTimeSpec(`${day}T${p(d.getHours())}:${p(d.getMinutes())}`, now)).toBe(
            new Date(d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes()).getTime(),
          );
        }),
      );
    });

    it('anything else is a usage error that lists the accepted forms; never NaN, never another error', () => {
      const junk = fc.oneof(
        fc.string(),
        fc.constantFrom(
          'last tuesday',
          '2026-13-01',
          '2026-02-30',
          '2026-11-20T24:00',
          '2h30m',
          '-2h',
          '1.5h',
          'Dec 7 2026',
          '1',
          '',
          '2026-11-20T10:00+15:00',
        ),
      );
      fc.assert(
        fc.property(junk, instant, (text, now) => {
          const ms = computeTimeSpec(text, now);
          if (ms !== undefined) {
            expect(Number.isFinite(ms)).toBe(true);
            return;
          }
          try {
            mustTimeSpec(text, '--since', now);
            expect.unreachable();
          } catch (e) {
            expect(e).toBeInstanceOf(BmError);
            expect((e as BmError).code).toBe(ErrorCode.usage);
            expect((e as BmError).message).toContain('--since');
            expect((e as BmError).hint).toBe(TIME_FORMS);
          }
        }),
      );
      for (const bad of ['last tuesday', '2026-13-01', '2026-02-30', '2026-11-20T24:00', '2h30m', '-2h', 'Dec 7 2026', '1', '']) {
        expect(computeTimeSpec(bad, 0), bad).toBeUndefined();
      }
    });

    it('--at: a version id (or its last 8) stays a version; today/yesterday and spans are times', () => {
      const now = Date.UTC(2026, 10, 20, 12);
      expect(parseHistoryPoint('01JD4ZQ8X9K2M3N4P5Q6R7S8T9', now)).toEqual({ version: '01JD4ZQ8X9K2M3N4P5Q6R7S8T9' });
      expect(parseHistoryPoint('r7s8t9ab', now)).toEqual({ version: 'R7S8T9AB' });
      expect(parseHistoryPoint('yesterday', now)).toEqual({ time: computeTimeSpec('yesterday', now) });
      expect(parseHistoryPoint('2h', now)).toEqual({ time: now - 2 * 3_600_000 });
      expect(parseHistoryPoint('2026-11-20T17:00:00Z', now)).toEqual({ time: Date.UTC(2026, 10, 20, 17) });
      expect(() => parseHistoryPoint('last tuesday', now)).toThrow(/neither a time nor a version id/);
    });
  },
);
