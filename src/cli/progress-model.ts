import type { ProgressWork, SyncProgress } from '../reconcile/ports.js';

// What the progress display shows, folded from the sync's progress events (ADR-0025). The
// fold and the line are pure; progress-display.ts draws the line on a terminal.

/** Files and bytes of one kind of work: done so far, and the total known so far. */
export interface WorkCount {
  files: number;
  filesTotal: number;
  bytes: number;
  bytesTotal: number;
}

/** How far a sync is, over the whole sync (every round, every stage). */
export interface ProgressTally {
  phase: 'start' | 'fetch' | 'scan' | 'plan' | 'transfer' | 'finish';
  listed: number;
  readonly work: Record<ProgressWork, WorkCount>;
  /** A first sync in stages: how many stages, and which one runs (from 0). */
  stages: number;
  stage: number;
  /** Recent samples (time in ms, bytes and work units done so far) of hashing and of transfers, for the rates. */
  readonly samples: Record<'hash' | 'transfer', Sample[]>;
}

interface Sample {
  readonly at: number;
  bytes: number;
  units: number;
}

/**
 * What one file costs beyond its bytes (requests, opens, renames), in bytes: the bar and the
 * ETA go by bytes plus this per file, so 3,000 small files after one large one are not "done".
 */
const FILE_COST_BYTES = 100_000;

/** Work units of `c`: done, and the total known so far. */
function unitsOf(c: WorkCount): { done: number; total: number } {
  return { done: c.bytes + c.files * FILE_COST_BYTES, total: c.bytesTotal + c.filesTotal * FILE_COST_BYTES };
}

/** The rate is measured over this window. */
const RATE_WINDOW_MS = 5000;

export function createProgressTally(): ProgressTally {
  const zero = (): WorkCount => ({ files: 0, filesTotal: 0, bytes: 0, bytesTotal: 0 });
  return {
    phase: 'start',
    listed: 0,
    work: { hash: zero(), upload: zero(), download: zero() },
    stages: 0,
    stage: 0,
    samples: { hash: [], transfer: [] },
  };
}

/** Folds one event into `t` at time `at` (ms). */
export function applyProgress(t: ProgressTally, p: SyncProgress, at: number): void {
  switch (p.kind) {
    case 'phase':
      t.phase = p.phase;
      return;
    case 'listed':
      t.listed = p.files;
      return;
    case 'total':
      t.work[p.work].filesTotal += p.files;
      t.work[p.work].bytesTotal += p.bytes;
      return;
    case 'bytes':
      t.work[p.work].bytes += p.bytes;
      break;
    case 'file':
      t.work[p.work].files++;
      t.work[p.work].bytes += p.bytes;
      break;
    case 'stages':
      t.stages = p.count;
      return;
    case 'stage':
      t.stage = p.index;
      return;
  }
  sample(t, p.work === 'hash' ? 'hash' : 'transfer', at);
}

/** Samples at most every 100 ms, over the last RATE_WINDOW_MS (phases between do not reset them: a stage's planning is part of its pace). */
function sample(t: ProgressTally, group: 'hash' | 'transfer', at: number): void {
  const c = groupCount(t, group);
  const units = unitsOf(c).done;
  const samples = t.samples[group];
  const last = samples.at(-1);
  if (last !== undefined && at - last.at < 100) {
    last.bytes = c.bytes;
    last.units = units;
  } else samples.push({ at, bytes: c.bytes, units });
  while (samples.length > 2 && at - samples[0]!.at > RATE_WINDOW_MS) samples.shift();
}

/** The work the phase shows: hashing while scanning, else uploads and downloads summed. */
function phaseGroup(t: ProgressTally): 'hash' | 'transfer' {
  return t.phase === 'scan' ? 'hash' : 'transfer';
}

function phaseCount(t: ProgressTally): WorkCount {
  return groupCount(t, phaseGroup(t));
}

function groupCount(t: ProgressTally, group: 'hash' | 'transfer'): WorkCount {
  if (group === 'hash') return t.work.hash;
  const u = t.work.upload;
  const d = t.work.download;
  return {
    files: u.files + d.files,
    filesTotal: u.filesTotal + d.filesTotal,
    bytes: u.bytes + d.bytes,
    bytesTotal: u.bytesTotal + d.bytesTotal,
  };
}

/** Bytes (or, `of: 'units'`, work units) a second over the recent window; undefined until there is a second of samples. */
export function computeRate(t: ProgressTally, of: 'bytes' | 'units' = 'bytes'): number | undefined {
  const samples = t.samples[phaseGroup(t)];
  const first = samples[0];
  const last = samples.at(-1);
  if (first === undefined || last === undefined || last.at - first.at < 1000) return undefined;
  return ((last[of] - first[of]) * 1000) / (last.at - first.at);
}

/**
 * Seconds left: the work still to come (bytes, and a cost per file) at the recent pace. In a
 * first sync in stages the totals so far cover only the stages begun, so they are scaled to
 * all the stages (each holds about as many paths). Undefined when it cannot be told.
 */
export function computeEta(t: ProgressTally): number | undefined {
  const rate = computeRate(t, 'units');
  if (rate === undefined || rate <= 0) return undefined;
  const u = unitsOf(phaseCount(t));
  return Math.max(0, u.total * computeStageScale(t) - u.done) / rate;
}

/** How much larger the whole sync's transfers are likely to be than the totals known so far. */
function computeStageScale(t: ProgressTally): number {
  return t.phase === 'transfer' && t.stages > 1 ? t.stages / (Math.min(t.stage, t.stages - 1) + 1) : 1;
}

/** `n` bytes as people read them: 512 B, 1.5 kB, 210.0 MB (powers of 1000). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${Math.round(n)} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** Seconds as m:ss, or h:mm:ss. */
export function formatDuration(seconds: number): string {
  const s = Math.ceil(seconds);
  const pad = (n: number) => String(n).padStart(2, '0');
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

const count = (n: number) => n.toLocaleString('en-US');

/** What the display shows: the line's text, and the bar's fraction (undefined: no bar). */
export interface ProgressView {
  readonly text: string;
  readonly fraction: number | undefined;
}

/** The display's line for `t`. Pure. */
export function computeProgressView(t: ProgressTally): ProgressView {
  const rate = computeRate(t);
  const eta = computeEta(t);
  const tail = [
    rate === undefined ? '' : `${formatBytes(rate)}/s`,
    eta === undefined ? '' : `ETA ${formatDuration(eta)}`,
    t.stages > 1 ? `part ${t.stage + 1}/${t.stages}` : '',
  ].filter((s) => s !== '');
  const h = t.work.hash;
  switch (t.phase) {
    case 'start':
    case 'fetch':
      return { text: 'fetching new events', fraction: undefined };
    case 'plan':
      return { text: 'planning', fraction: undefined };
    case 'finish':
      return { text: 'finishing (acknowledge, checkpoint, commit)', fraction: undefined };
    case 'scan':
      // (A rescan with nothing to hash shows as a scan, not as the hashing of an earlier one.)
      if (h.files >= h.filesTotal) return { text: `scanning: ${count(t.listed)} files`, fraction: undefined };
      return {
        text: [`hashing ${count(h.files)}/${count(h.filesTotal)} files`, formatOf(h), ...tail].join('  '),
        fraction: fractionOf(h),
      };
    case 'transfer': {
      const { upload: u, download: d } = t.work;
      const c = phaseCount(t);
      const files = [
        u.filesTotal > 0 ? `up ${count(u.files)}/${count(u.filesTotal)}` : '',
        d.filesTotal > 0 ? `down ${count(d.files)}/${count(d.filesTotal)}` : '',
      ]
        .filter((s) => s !== '')
        .join(', ');
      return {
        text: files === '' ? 'carrying out the plan' : [`syncing files: ${files}`, formatOf(c), ...tail].join('  '),
        fraction: fractionOf(c, computeStageScale(t)),
      };
    }
  }
}

/** `done/total` bytes (a retried upload reads its file again: never shown past the total). */
function formatOf(c: WorkCount): string {
  return `${formatBytes(Math.min(c.bytes, c.bytesTotal))}/${formatBytes(c.bytesTotal)}`;
}

function fractionOf(c: WorkCount, scale = 1): number {
  const u = unitsOf(c);
  return u.total > 0 ? Math.min(1, u.done / (u.total * scale)) : 0;
}
