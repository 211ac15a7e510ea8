import { decodeMsgpack, encodeMsgpack } from '../../src/events/codec.js';
import { mulberry32, pick, randomInt, type Rng } from '../sim/prng.js';

/**
 * A small coverage-guided fuzz loop (ADR-0017), in the manner of libFuzzer: a corpus of
 * inputs that each reached some new coverage, mutated at random (bytes, and the msgpack value
 * they decode to); an input whose run reaches a new (counter, hit-count bucket) pair joins
 * the corpus. Coverage comes from istanbul counters (coverage-hooks.mjs); without them the
 * loop still runs, as a plain random mutator.
 */

/** A fuzz target: `run` throws a FuzzViolation when the property breaks, and returns otherwise. */
export interface FuzzTarget {
  readonly name: string;
  readonly seeds: readonly Uint8Array[];
  run(input: Uint8Array): void;
}

/** The property a target checks was broken by an input. */
export class FuzzViolation extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FuzzViolation';
  }
}

type FileCoverage = { s: Record<string, number>; b: Record<string, number[]>; f: Record<string, number> };

/** Every istanbul counter as (object, key) pairs, read and reset between runs. */
class Counters {
  private readonly cells: { o: Record<string, number> | number[]; k: string | number }[] = [];
  private files = 0;
  private seen = new Uint16Array(0);

  /** Picks up modules loaded since the last call (counters are created as modules load). */
  private refresh(): void {
    const all = (globalThis as { __bmFuzzCoverage?: Record<string, FileCoverage> }).__bmFuzzCoverage;
    if (all === undefined) return;
    const files = Object.values(all);
    if (files.length === this.files) return;
    this.cells.length = 0;
    for (const fc of files) {
      for (const k of Object.keys(fc.s)) this.cells.push({ o: fc.s, k });
      for (const k of Object.keys(fc.f)) this.cells.push({ o: fc.f, k });
      for (const arr of Object.values(fc.b)) for (let i = 0; i < arr.length; i++) this.cells.push({ o: arr, k: i });
    }
    this.files = files.length;
    const seen = new Uint16Array(this.cells.length);
    seen.set(this.seen.subarray(0, Math.min(this.seen.length, seen.length)));
    this.seen = seen;
  }

  get size(): number {
    return this.cells.length;
  }

  /** Counters hit at least once so far. */
  get covered(): number {
    let n = 0;
    for (const s of this.seen) if (s !== 0) n++;
    return n;
  }

  reset(): void {
    this.refresh();
    for (const c of this.cells) (c.o as Record<string, number>)[c.k as string] = 0;
  }

  /** Records the last run's counts; true when it reached a counter or bucket never seen. */
  collect(): boolean {
    const before = this.cells.length;
    this.refresh();
    let fresh = this.cells.length !== before;
    for (let i = 0; i < this.cells.length; i++) {
      const c = this.cells[i]!;
      const n = (c.o as Record<string, number>)[c.k as string]!;
      if (n === 0) continue;
      const bit = 1 << Math.min(8, 31 - Math.clz32(n)); // buckets 1, 2-3, 4-7, ... 256+
      if ((this.seen[i]! & bit) === 0) {
        this.seen[i]! |= bit;
        fresh = true;
      }
    }
    return fresh;
  }
}

const INTERESTING = [
  0x00, 0x01, 0x7f, 0x80, 0xff, 0xc0, 0xc2, 0xc3, 0xc4, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0x90, 0xa0,
  0x80, 0x2e, 0x2f,
];

/** A value found inside a decoded msgpack input, replaced by something else. */
function mutateValue(rng: Rng, v: unknown, depth = 0): unknown {
  if (depth < 6 && Array.isArray(v) && v.length > 0 && rng() < 0.7) {
    const out = [...v];
    const i = randomInt(rng, 0, out.length - 1);
    if (rng() < 0.15) out.splice(i, 1);
    else if (rng() < 0.15) out.push(out[i]);
    else out[i] = mutateValue(rng, out[i], depth + 1);
    return out;
  }
  if (depth < 6 && v !== null && typeof v === 'object' && !(v instanceof Uint8Array) && rng() < 0.7) {
    const out: Record<string, unknown> = { ...(v as Record<string, unknown>) };
    const keys = Object.keys(out);
    const k = pick(rng, keys);
    if (k === undefined || rng() < 0.1)
      out[pick(rng, ['__proto__', 'constructor', 'x', '', 'v', 'toString'])!] = mutateValue(rng, 1, depth + 1);
    else if (rng() < 0.1) delete out[k];
    else out[k] = mutateValue(rng, out[k], depth + 1);
    return out;
  }
  const choices: (() => unknown)[] = [
    () => null,
    () => undefined,
    () => true,
    () => randomInt(rng, -3, 3),
    () => 2 ** randomInt(rng, 30, 70) * (rng() < 0.5 ? -1 : 1),
    () => rng() * 1e6,
    () => Number.NaN,
    () => '',
    () => 'a'.repeat(randomInt(rng, 1, 300)),
    () =>
      pick(rng, [
        '..',
        '.',
        'CON',
        'a/../b',
        '/x',
        'C:/x',
        'x\u0000y',
        '\uD800',
        'e\u0301',
        '.bm-log/x',
        'put',
        'tombstone',
        'resolve',
        'retire',
        'gc',
      ])!,
    () => (typeof v === 'string' ? v.slice(0, randomInt(rng, 0, v.length)) : String(v)),
    () => (typeof v === 'string' ? v.toUpperCase() : v),
    () => (typeof v === 'number' ? v + randomInt(rng, -2, 2) : 0),
    () => [],
    () => ({}),
    () => [v, v],
    () => ({ a: v }),
    () => new Uint8Array(randomInt(rng, 0, 70)),
    () => new Date(randomInt(rng, -1e13, 1e13)),
  ];
  return pick(rng, choices)!();
}

function mutateBytes(rng: Rng, input: Uint8Array, other: Uint8Array | undefined): Uint8Array {
  const b = [...input];
  const pos = () => randomInt(rng, 0, Math.max(0, b.length - 1));
  const rounds = randomInt(rng, 1, 4);
  for (let r = 0; r < rounds; r++) {
    switch (randomInt(rng, 0, 7)) {
      case 0:
        if (b.length > 0) b[pos()]! ^= 1 << randomInt(rng, 0, 7);
        break;
      case 1:
        if (b.length > 0) b[pos()] = pick(rng, INTERESTING)!;
        break;
      case 2:
        b.splice(pos(), 0, ...Array.from({ length: randomInt(rng, 1, 8) }, () => randomInt(rng, 0, 255)));
        break;
      case 3:
        b.splice(pos(), randomInt(rng, 1, 16));
        break;
      case 4: {
        const at = pos();
        b.splice(pos(), 0, ...b.slice(at, at + randomInt(rng, 1, 32)));
        break;
      }
      case 5:
        b.length = pos();
        break;
      case 6:
        if (other !== undefined && other.length > 0) {
          const at = randomInt(rng, 0, other.length - 1);
          b.splice(pos(), randomInt(rng, 0, 8), ...other.slice(at, at + randomInt(rng, 1, 64)));
        }
        break;
      default:
        if (b.length > 0) b[pos()] = randomInt(rng, 0, 255);
    }
  }
  return Uint8Array.from(b);
}

/** One mutation of `input`: of its msgpack value when it decodes (half the time), else of its bytes. */
export function mutate(rng: Rng, input: Uint8Array, other: Uint8Array | undefined): Uint8Array {
  if (rng() < 0.5) {
    try {
      return encodeMsgpack(mutateValue(rng, decodeMsgpack(input, 'fuzz input')));
    } catch {
      // not msgpack (or not encodable): mutate the bytes
    }
  }
  return mutateBytes(rng, input, other);
}

export interface FuzzFinding {
  readonly target: string;
  readonly input: Uint8Array;
  readonly message: string;
}

export interface FuzzStats {
  execs: number;
  corpus: number;
  covered: number;
  counters: number;
  findings: FuzzFinding[];
}

/** Runs `target` until `deadline` (ms since the epoch); `onExec` is told of each input before it runs (for the hang watchdog). */
export function runFuzzLoop(
  target: FuzzTarget,
  options: { seed: number; deadline: number; onExec?: (input: Uint8Array) => void; maxFindings?: number },
): FuzzStats {
  const rng = mulberry32(options.seed);
  const counters = new Counters();
  const corpus: Uint8Array[] = [];
  const stats: FuzzStats = { execs: 0, corpus: 0, covered: 0, counters: 0, findings: [] };
  const findingKeys = new Set<string>();
  const exec = (input: Uint8Array): boolean => {
    options.onExec?.(input);
    counters.reset();
    stats.execs++;
    try {
      target.run(input);
    } catch (e) {
      const message =
        e instanceof Error
          ? `${e.name}: ${e.message}${e.cause instanceof Error ? `\n  cause: ${e.cause.stack ?? e.cause.message}` : ''}`
          : String(e);
      const key = message.split('\n')[0]!.replace(/\d+/g, 'N').slice(0, 120);
      if (!findingKeys.has(key)) {
        findingKeys.add(key);
        stats.findings.push({ target: target.name, input, message });
      }
    }
    return counters.collect();
  };
  for (const s of target.seeds) if (exec(s) || corpus.length === 0) corpus.push(s);
  while (Date.now() < options.deadline && stats.findings.length < (options.maxFindings ?? 10)) {
    for (let i = 0; i < 64; i++) {
      const input = mutate(rng, pick(rng, corpus)!, pick(rng, corpus));
      if (input.length > 1 << 16) continue;
      if (exec(input)) corpus.push(input);
    }
  }
  stats.corpus = corpus.length;
  stats.covered = counters.covered;
  stats.counters = counters.size;
  return stats;
}
