/** A seeded random source (mulberry32): the same seed gives the same sequence on every run. */
export interface Rng {
  /** Uniform in [0, 1). */
  (): number;
}

export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform integer in [lo, hi]. */
export function randomInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

export function chance(rng: Rng, p: number): boolean {
  return rng() < p;
}

/** One element of a non-empty list, or undefined for an empty one. */
export function pick<T>(rng: Rng, items: readonly T[]): T | undefined {
  return items.length === 0 ? undefined : items[Math.floor(rng() * items.length)];
}

/** An option chosen by weight. */
export function pickWeighted<T>(rng: Rng, options: readonly (readonly [T, number])[]): T {
  const total = options.reduce((n, [, w]) => n + w, 0);
  let r = rng() * total;
  for (const [v, w] of options) {
    if (r < w) return v;
    r -= w;
  }
  return options[options.length - 1]![0];
}
