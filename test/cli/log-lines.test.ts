import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ClientId, VersionId } from '../../src/events/ids.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import type { VersionRecord } from '../../src/projections/version-record.js';
import { computeChangeKind, formatLogLine, formatRelativeTime, formatSize, LOG_LINE_WIDTH } from '../../src/cli/log-lines.js';

const MIN = 60_000;
const H = 60 * MIN;
const DAY = 24 * H;

function version(id: string, type: VersionRecord['type'], hash: string | null, replaces: string[] = [], path = 'a.md'): VersionRecord {
  return {
    id: id as VersionId,
    path: path as SyncPath,
    type,
    client: 'C1' as ClientId,
    seq: 1,
    time: '2026-11-20T10:00:00.000Z',
    replaces: replaces as VersionId[],
    content: hash === null ? null : { hash, size: 3, mode: 0o644 },
    seen: {},
    snapshot: null,
  } as VersionRecord;
}

function kinds(versions: VersionRecord[], moves: Record<string, { from: string; to: string }> = {}) {
  const byId = new Map(versions.map((v) => [v.id as string, v]));
  const history = new Map<string, VersionRecord[]>();
  for (const v of versions) history.set(v.path, [...(history.get(v.path) ?? []), v]);
  return versions.map((v) => computeChangeKind(v, moves[v.id] ?? null, history, byId));
}

describe('log lines', () => {
  it('names the kind of change: created, edited, deleted, restored (content of an earlier version), resolved, moved, created again', () => {
    const h = [
      version('01', 'put', 'h1'),
      version('02', 'put', 'h2', ['01']),
      version('03', 'put', 'h1', ['02']), // back to v1's bytes
      version('04', 'tombstone', null, ['03']),
      version('05', 'put', 'h1', ['04']), // restored after a delete
      version('06', 'tombstone', null, ['05']),
      version('07', 'put', 'h9', ['06']), // new content over a delete
      version('08', 'put', 'h8', ['07']),
      version('09', 'put', 'h7', ['07']),
      version('10', 'resolve', 'h7', ['08', '09']),
      version('11', 'put', 'h7', ['10']), // same bytes as the one it replaces (a mode change): an edit
    ];
    expect(kinds(h)).toEqual([
      'created',
      'edited',
      'restored',
      'deleted',
      'restored',
      'deleted',
      'created',
      'edited',
      'edited',
      'resolved',
      'edited',
    ]);
    const move = { from: 'a.md', to: 'b.md' };
    const renamed = [version('01', 'put', 'h1'), version('02', 'tombstone', null, ['01']), version('03', 'put', 'h1', [], 'b.md')];
    expect(kinds(renamed, { '02': move, '03': move })).toEqual(['created', 'moved', 'moved']);
    // A version it replaces that this log does not hold (collected): an edit, not a creation.
    expect(kinds([version('05', 'put', 'h5', ['01'])])).toEqual(['edited']);
  });

  it('relative times: just now, minutes, hours, days within a week, then the local date; ahead of now the same way', () => {
    const now = Date.UTC(2026, 10, 20, 12);
    expect(formatRelativeTime(now - 5_000, now)).toBe('just now');
    expect(formatRelativeTime(now - 3 * MIN - 5_000, now)).toBe('3 min ago');
    expect(formatRelativeTime(now - 59 * MIN, now)).toBe('59 min ago');
    expect(formatRelativeTime(now - 5 * H, now)).toBe('5 h ago');
    expect(formatRelativeTime(now - DAY - H, now)).toBe('1 day ago');
    expect(formatRelativeTime(now - 6 * DAY, now)).toBe('6 days ago');
    const old = now - 8 * DAY;
    const d = new Date(old);
    expect(formatRelativeTime(old, now)).toBe(
      `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`,
    );
    expect(formatRelativeTime(now + 3 * MIN, now)).toBe('in 3 min');
    fc.assert(
      fc.property(fc.integer({ min: -1e12, max: 1e12 }), (ago) => {
        expect(formatRelativeTime(now - ago, now).length).toBeLessThanOrEqual(10);
      }),
    );
  });

  it('sizes: bytes, then KB/MB/GB in powers of 1000', () => {
    expect([0, 999, 1000, 1500, 20_000, 999_999, 2_500_000, 3e9].map(formatSize)).toEqual([
      '0 B',
      '999 B',
      '1.0 KB',
      '1.5 KB',
      '20 KB',
      '1000 KB',
      '2.5 MB',
      '3.0 GB',
    ]);
  });

  it('one line per event, never wider than 100 columns, the version last 8 characters, the path end kept', () => {
    const now = Date.UTC(2026, 10, 20, 12);
    const line = formatLogLine(
      {
        time: new Date(now - 3 * MIN).toISOString(),
        change: 'edited',
        version: '01JD4ZQ8X9K2M3N4P5Q6R7S8T9',
        who: 'alice',
        path: 'notes/plan.md',
        size: 1500,
        move: null,
      },
      now,
    );
    expect(line).toBe('3 min ago   edited    Q6R7S8T9  alice          1.5 KB  notes/plan.md');
    const anyText = fc.string({ unit: 'grapheme', maxLength: 300 });
    fc.assert(
      fc.property(anyText, anyText, fc.option(fc.record({ from: anyText, to: anyText }), { nil: null }), (who, p, move) => {
        const l = formatLogLine(
          { time: '2020-01-01T00:00:00Z', change: 'moved', version: '01JD4ZQ8X9K2M3N4P5Q6R7S8T9', who, path: p, size: 1e12, move },
          now,
        );
        expect([...l].length).toBeLessThanOrEqual(LOG_LINE_WIDTH);
        expect(l).not.toMatch(/[\n\r\t\x1b]/);
        expect(l).toContain('Q6R7S8T9');
      }),
    );
  });
});
