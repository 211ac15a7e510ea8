import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMPTY_WATCH_MEMORY, summarizeSync, summarizeWatchRound } from '../../src/cli/sync-report.js';
import {
  RETRY_BASE_MS,
  RETRY_CAP_MS,
  computeRetryDelay,
  computeUnsyncedPaths,
  describeStoppedState,
  type RoundOutcome,
} from '../../src/cli/watch-loop.js';
import { zeroCounts } from '../../src/reconcile/applied-ops.js';
import type { ConflictNote, PlanOp } from '../../src/reconcile/plan-sync.js';
import type { BaseEntry, LocalFile } from '../../src/reconcile/ports.js';
import type { SyncReport } from '../../src/reconcile/run-sync.js';
import type { CleanState } from '../../src/reconcile/clean-state.js';
import { cleanReport } from '../../src/reconcile/sync/report.js';

/** A sync report with nothing in it but what a case sets (the fields the watch reads). */
function report(over: Partial<SyncReport> = {}): SyncReport {
  const none = { conflicts: [], planNotices: [], scanNotices: [] } as unknown as CleanState;
  return { ...cleanReport(none, 0, false), clean: false, ...over };
}

const file = (path: string, hash = 'a'.repeat(64)) => ({ path, hash, size: 1, mode: 0o644, mtimeMs: 1, ino: 1 }) as LocalFile;
const place = { cwd: '/f', root: '/f' };
const conflict = (path: string) =>
  ({ path, kind: 'concurrent-edits', heads: [], detail: 'edited on two clients' }) as unknown as ConflictNote;

describe('the retry wait of `sync --watch` after failed rounds', () => {
  it('starts at 5 s, doubles with each failure, never passes the cap (10 min or the interval), and reaches it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 86_400 }), (failures, interval) => {
        const cap = Math.max(RETRY_CAP_MS, interval * 1000);
        const d = computeRetryDelay(failures, interval);
        const next = computeRetryDelay(failures + 1, interval);
        expect(d).toBeGreaterThanOrEqual(RETRY_BASE_MS);
        expect(d).toBeLessThanOrEqual(cap);
        expect(next).toBe(Math.min(cap, d * 2));
        expect(computeRetryDelay(1, interval)).toBe(RETRY_BASE_MS);
        expect(computeRetryDelay(60, interval)).toBe(cap);
      }),
    );
  });

  it('follows 5, 10, 20, 40 ... s up to 10 min with the default interval', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => computeRetryDelay(n, 60) / 1000)).toEqual([
      5, 10, 20, 40, 80, 160, 320, 600, 600, 600,
    ]);
  });
});

describe('what a round of `sync --watch` prints', () => {
  it('prints nothing for a round that changed nothing, even with open conflicts and skipped files seen before', () => {
    const idle = report({ conflicts: [conflict('plan.md')] });
    expect(
      summarizeWatchRound(idle, EMPTY_WATCH_MEMORY, { conflicts: [], names: new Map(), restoreHints: new Map() }, place).lines,
    ).toEqual([]);
    const skipped = report({ skipped: [{ path: 'ro.md', op: 'download', detail: 'read-only folder' }] as SyncReport['skipped'] });
    const first = summarizeWatchRound(skipped, EMPTY_WATCH_MEMORY, { conflicts: [], names: new Map(), restoreHints: new Map() }, place);
    expect(first.lines[0]).toMatch(/1 operation\(s\) skipped/);
    const again = summarizeWatchRound(skipped, first.memory, { conflicts: [], names: new Map(), restoreHints: new Map() }, place);
    expect(again.lines).toEqual([]);
  });

  it('prints one head line for an eventful round, with the new conflicts and local deletes below it', () => {
    const counts = { ...zeroCounts(), upload: 2, deleteLocal: 1 };
    const del = { kind: 'deleteLocal', path: 'old.md', expect: file('old.md') } as unknown as PlanOp;
    const r = report({ appliedCounts: counts, applied: [del], eventsPublished: 2, conflicts: [conflict('plan.md'), conflict('b.md')] });
    const { lines } = summarizeWatchRound(
      r,
      EMPTY_WATCH_MEMORY,
      { conflicts: [conflict('plan.md')], names: new Map(), restoreHints: new Map([['old.md', 'restore: bm-log restore old.md --at X']]) },
      place,
    );
    expect(lines[0]).toMatch(
      /^synced: 2 uploaded, 0 downloaded, 0 deleted for everyone, 1 deleted locally, 2 event\(s\) published; 1 new conflict\(s\), 2 open/,
    );
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/delete locally +old\.md {2}\(restore: bm-log restore old\.md --at X\)/),
      expect.stringMatching(/CONFLICT plan\.md/),
    ]);
  });
});

describe('--quiet and --verbose', () => {
  const counts = { ...zeroCounts(), upload: 3 };
  const ups = ['a.md', 'b.md', 'c.md'].map((p) => ({ kind: 'upload', path: p, file: file(p), replaces: [] }) as unknown as PlanOp);

  it('--quiet prints nothing when all went well, and only a short line for open conflicts', () => {
    expect(summarizeSync(report({ appliedCounts: counts, applied: ups }), new Map(), new Map(), place, 'quiet')).toEqual([]);
    const lines = summarizeSync(
      report({ appliedCounts: counts, applied: ups, conflicts: [conflict('plan.md')] }),
      new Map(),
      new Map(),
      place,
      'quiet',
    );
    expect(lines).toEqual(['1 open conflict(s): `bm-log conflicts`']);
  });

  it('--verbose leaves the op list to the lines printed as ops ran, keeping the counts', () => {
    const lines = summarizeSync(report({ appliedCounts: counts, applied: ups }), new Map(), new Map(), place, 'verbose');
    expect(lines).toEqual([expect.stringMatching(/^synced: 3 uploaded/)]);
    expect(summarizeSync(report({ appliedCounts: counts, applied: ups }), new Map(), new Map(), place)).toHaveLength(4);
  });
});

describe('what `sync --watch` says as it stops', () => {
  const at = new Date(2026, 11, 7, 20, 0, 0);
  const ok: RoundOutcome = { code: 0, lines: [], openConflicts: 0, skipped: 0 };

  it('says the folder is in sync, or names what is not', () => {
    expect(describeStoppedState({ last: { outcome: ok, at }, failures: 0 }, 0)).toBe(
      'stopped: the folder is in sync (as of 2026-12-07 20:00:00)',
    );
    const text = describeStoppedState({ last: { outcome: { ...ok, openConflicts: 2, skipped: 1 }, at }, failures: 0 }, 3);
    expect(text).toMatch(/3 local change\(s\) not uploaded/);
    expect(text).toMatch(/1 file\(s\) skipped/);
    expect(text).toMatch(/2 open conflict\(s\)/);
    expect(describeStoppedState({ last: undefined, failures: 4 }, 1)).toMatch(/no sync finished during this watch; 1 local change/);
  });

  it('counts local changes as the paths where the folder differs from the manifest', () => {
    const manifest = new Map<string, BaseEntry>([
      ['same.md', { ...file('same.md'), heads: [], version: null }],
      ['gone.md', { ...file('gone.md'), heads: [], version: null }],
      ['edited.md', { ...file('edited.md'), heads: [], version: null }],
      ['dark/x.md', { ...file('dark/x.md'), heads: [], version: null }],
    ]);
    const files = new Map([
      ['same.md', file('same.md')],
      ['edited.md', file('edited.md', 'b'.repeat(64))],
      ['new.md', file('new.md')],
    ]);
    expect(computeUnsyncedPaths({ files, unreadable: ['dark'] } as never, manifest).sort()).toEqual(['edited.md', 'gone.md', 'new.md']);
  });
});
