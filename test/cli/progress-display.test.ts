import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createProgressDisplay, type ProgressStream } from '../../src/cli/progress-display.js';
import { applyProgress, computeEta, computeProgressView, createProgressTally, formatBytes } from '../../src/cli/progress-model.js';
import type { SyncProgress } from '../../src/reconcile/ports.js';

/** A terminal as a test sees it: everything written, kept. */
function fakeTerminal(isTTY: boolean): ProgressStream & { text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return Object.assign(stream, { isTTY, columns: 160, text: () => chunks.join('') });
}

/** The last line drawn: the text after the last carriage return / cursor-to-column-1. */
function lastDrawn(t: { text(): string }): string {
  const parts = t.text().split(/\x1b\[1G|\r/);
  return parts.filter((p) => p.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '').trim() !== '').at(-1) ?? '';
}

const plain = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '');

describe('the progress display', () => {
  // cli-progress redraws on its own timer, at most 10 times a second by the clock: both are faked.
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('draws nothing and is not even created when the stream is not a terminal', () => {
    const t = fakeTerminal(false);
    expect(createProgressDisplay(t)).toBeUndefined();
    expect(t.text()).toBe('');
  });

  it('shows scan, hashing and transfers on one line of a terminal, with counts, bytes, rate and ETA', () => {
    const t = fakeTerminal(true);
    const d = createProgressDisplay(t, { showAfterMs: 0 })!;
    const tell = (p: SyncProgress, ms = 0) => {
      vi.advanceTimersByTime(ms);
      d.sink(p);
    };
    tell({ kind: 'phase', phase: 'fetch' });
    expect(plain(lastDrawn(t))).toContain('fetching new events');
    tell({ kind: 'phase', phase: 'scan' }, 300);
    tell({ kind: 'listed', files: 20_000 }, 300);
    vi.advanceTimersByTime(300);
    expect(plain(lastDrawn(t))).toContain('scanning: 20,000 files');
    tell({ kind: 'total', work: 'hash', files: 2, bytes: 200_000_000 });
    for (let i = 0; i < 100; i++) tell({ kind: 'bytes', work: 'hash', bytes: 1_000_000 }, 50);
    vi.advanceTimersByTime(300);
    const hashing = plain(lastDrawn(t));
    expect(hashing).toMatch(/hashing 0\/2 files {2}100\.0 MB\/200\.0 MB {2}20\.0 MB\/s {2}ETA 0:0[5-7]/);
    tell({ kind: 'phase', phase: 'transfer' });
    tell({ kind: 'total', work: 'upload', files: 3, bytes: 3000 });
    tell({ kind: 'total', work: 'download', files: 1, bytes: 10 });
    tell({ kind: 'file', work: 'upload', bytes: 1000 }, 200);
    vi.advanceTimersByTime(300);
    expect(plain(lastDrawn(t))).toContain('syncing files: up 1/3, down 0/1  1.0 kB/3.0 kB');
    d.pause();
    // Paused: the line is cleared, so other output starts on a clean line.
    expect(t.text()).toMatch(/\x1b\[1G\x1b\[2K$/);
    // No terminal mode was changed that a Ctrl-C (which ends the process at once) would leave behind.
    expect(t.text()).not.toMatch(/\x1b\[\?25l|\x1b\[\?7l/);
  });

  it('shows nothing for a sync shorter than half a second', () => {
    const t = fakeTerminal(true);
    const d = createProgressDisplay(t)!;
    d.sink({ kind: 'phase', phase: 'fetch' });
    vi.advanceTimersByTime(300);
    d.sink({ kind: 'phase', phase: 'scan' });
    d.pause();
    expect(t.text()).toBe('');
    d.sink({ kind: 'phase', phase: 'fetch' });
    vi.advanceTimersByTime(600);
    d.sink({ kind: 'phase', phase: 'scan' });
    vi.advanceTimersByTime(300);
    expect(plain(lastDrawn(t))).toContain('scanning');
  });

  it('keeps counting across the stages of a first sync in stages instead of starting over', () => {
    const tally = createProgressTally();
    const events: SyncProgress[] = [{ kind: 'stages', count: 3 }];
    for (let stage = 0; stage < 3; stage++) {
      events.push(
        { kind: 'stage', index: stage },
        { kind: 'phase', phase: 'transfer' },
        { kind: 'total', work: 'download', files: 2000, bytes: 2_000_000 },
      );
      for (let i = 0; i < 2000; i++) events.push({ kind: 'file', work: 'download', bytes: 1000 });
    }
    let at = 0;
    const seen: string[] = [];
    for (const e of events) {
      applyProgress(tally, e, (at += 1));
      if (e.kind === 'stage') seen.push(computeProgressView(tally).text);
    }
    expect(computeProgressView(tally).text).toContain('down 6,000/6,000');
    expect(computeProgressView(tally).text).toContain('part 3/3');
    // At the start of stage 2 the counts hold stage 1's 2,000 files.
    expect(seen[1]).toContain('down 2,000/2,000');
  });

  it('scales the ETA of a first sync in stages to the stages not planned yet', () => {
    const tally = createProgressTally();
    let at = 0;
    for (const e of [
      { kind: 'stages', count: 4 },
      { kind: 'stage', index: 0 },
      { kind: 'phase', phase: 'transfer' },
      { kind: 'total', work: 'upload', files: 10, bytes: 10_000_000 },
    ] as SyncProgress[])
      applyProgress(tally, e, at);
    for (let i = 0; i < 5; i++) applyProgress(tally, { kind: 'file', work: 'upload', bytes: 1_000_000 }, (at += 1000));
    const eta = computeEta(tally)!;
    // 5 of ~40 files (4 stages of 10) done in 4 s of samples: about 35 files' work left at ~1.1 files/s.
    expect(eta).toBeGreaterThan(25);
    expect(eta).toBeLessThan(40);
  });

  it('formats bytes in powers of 1000', () => {
    expect([formatBytes(999), formatBytes(1500), formatBytes(200_000_000), formatBytes(3.2e12)]).toEqual([
      '999 B',
      '1.5 kB',
      '200.0 MB',
      '3.2 TB',
    ]);
  });
});
