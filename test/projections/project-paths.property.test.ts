import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { counterIdFactory, type ClientId, type ContentHash, type VersionId } from '../../src/events/ids.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { compareHeads, computeHeads, evolvePath, projectVersions, type Projection } from '../../src/projections/project-paths.js';
import type { VersionRecord } from '../../src/projections/version-record.js';

// Property tests of the fold: the same versions in any order, any number of times, give the
// same state. A failure prints fast-check's seed and counterexample; replay with { seed, path }.

const clientIds = counterIdFactory('01C');
const CLIENTS = [clientIds(), clientIds(), clientIds()] as ClientId[];
const PATHS = ['p.md', 'q/r.md'] as SyncPath[];

interface VersionSpec {
  readonly path: number;
  readonly client: number;
  readonly seq: number;
  readonly seen: readonly number[];
  readonly live: boolean;
  readonly hash: number;
  /** Picks among the earlier versions: a writer can only replace what already exists. */
  readonly replaces: readonly number[];
}

const specArb: fc.Arbitrary<VersionSpec> = fc.record({
  path: fc.nat(PATHS.length - 1),
  client: fc.nat(CLIENTS.length - 1),
  seq: fc.integer({ min: 1, max: 6 }),
  seen: fc.array(fc.nat(6), { minLength: CLIENTS.length, maxLength: CLIENTS.length }),
  live: fc.boolean(),
  hash: fc.nat(3),
  replaces: fc.array(fc.nat(), { maxLength: 3 }),
});

/** A causally plausible history: each version replaces some earlier versions of its path. */
function buildVersions(specs: readonly VersionSpec[]): VersionRecord[] {
  const newId = counterIdFactory();
  const out: VersionRecord[] = [];
  for (const s of specs) {
    const path = PATHS[s.path]!;
    const earlier = out.filter((v) => v.path === path);
    const replaces = earlier.length === 0 ? [] : [...new Set(s.replaces.map((i) => earlier[i % earlier.length]!.id))];
    const client = CLIENTS[s.client]!;
    const seen: Record<string, number> = {};
    CLIENTS.forEach((c, i) => {
      if (c !== client && (s.seen[i] ?? 0) > 0) seen[c] = s.seen[i]!;
    });
    out.push({
      id: newId() as VersionId,
      path,
      type: s.live ? 'put' : 'tombstone',
      client,
      seq: s.seq,
      time: '2026-11-21T00:00:00.000Z',
      replaces,
      content: s.live ? { hash: s.hash.toString(16).padStart(64, '0') as ContentHash, size: s.hash, mode: 0o644 } : null,
      seen,
      snapshot: null,
    });
  }
  return out;
}

const versionsArb = fc.array(specArb, { minLength: 1, maxLength: 14 }).map(buildVersions);

/** Heads per path, winner first, as ids. */
function computeHeadIds(p: Projection): Record<string, string[]> {
  return Object.fromEntries([...p].map(([path, st]) => [path, computeHeads(st).map((h) => h.id)]));
}

/** The whole state as plain data: every version id and every replaced id per path. */
function computeStateShape(p: Projection): Record<string, { versions: string[]; replaced: string[] }> {
  return Object.fromEntries(
    [...p].map(([path, st]) => [path, { versions: [...st.versions.keys()].sort(), replaced: [...st.replaced].sort() }]),
  );
}

describe('projectVersions (the fold)', () => {
  it('projecting any permutation of a set of versions gives the same heads per path, winner first', () => {
    fc.assert(
      fc.property(
        versionsArb.chain((vs) => fc.tuple(fc.constant(vs), fc.shuffledSubarray(vs, { minLength: vs.length, maxLength: vs.length }))),
        ([versions, permuted]) => {
          const a = projectVersions(versions);
          const b = projectVersions(permuted);
          expect(computeHeadIds(b)).toEqual(computeHeadIds(a));
          expect(computeStateShape(b)).toEqual(computeStateShape(a));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('duplicates are ignored: projecting the list twice, or any interleaving with repeats, gives the same state', () => {
    fc.assert(
      fc.property(
        versionsArb.chain((vs) => fc.tuple(fc.constant(vs), fc.array(fc.constantFrom(...vs), { maxLength: 20 }), fc.nat(vs.length))),
        ([versions, repeats, at]) => {
          const once = projectVersions(versions);
          const twice = projectVersions([...versions, ...versions]);
          const interleaved = projectVersions([...versions.slice(0, at), ...repeats, ...versions.slice(at)]);
          expect(computeStateShape(twice)).toEqual(computeStateShape(once));
          expect(computeHeadIds(twice)).toEqual(computeHeadIds(once));
          expect(computeHeadIds(interleaved)).toEqual(computeHeadIds(once));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('folding a version already present returns the very same path state', () => {
    fc.assert(
      fc.property(versionsArb, (versions) => {
        const p = projectVersions(versions);
        for (const v of versions) {
          const st = p.get(v.path)!;
          expect(evolvePath(st, v)).toBe(st);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('a path with versions always has a head, and its winner is live whenever any head is live', () => {
    fc.assert(
      fc.property(versionsArb, (versions) => {
        for (const st of projectVersions(versions).values()) {
          const heads = computeHeads(st);
          expect(heads.length).toBeGreaterThan(0);
          if (heads.some((h) => h.content !== null)) expect(heads[0]!.content).not.toBeNull();
        }
      }),
      { numRuns: 200 },
    );
  });

  it('compareHeads is a strict total order: antisymmetric, zero only for the same version, transitive', () => {
    fc.assert(
      fc.property(versionsArb, (versions) => {
        for (const a of versions) {
          for (const b of versions) {
            const ab = Math.sign(compareHeads(a, b));
            expect(ab).toBe(-Math.sign(compareHeads(b, a)) || 0);
            expect(ab === 0).toBe(a.id === b.id);
            for (const c of versions) if (ab < 0 && compareHeads(b, c) < 0) expect(compareHeads(a, c)).toBeLessThan(0);
          }
        }
      }),
      { numRuns: 100 },
    );
  });
});
