import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isClaimInSegment, planCheckpointProofs } from '../../src/projections/project-writer-checkpoint.js';
import { computeCheckpointProblems } from '../../src/projections/check-writer-checkpoint.js';
import { checkInputOf, join, liveState, play, shuffler, stepArb, T0, type Step } from './support/checkpoint-model.js';

// Property (ADR-0014): a client that starts from the latest checkpoint of each writer (each
// written at any point of that writer's log, from what it knew then) and folds every
// writer's segments after its checkpoint, in any order, holds exactly the live state of a
// client that folded every segment: the same heads (the same records) at every path, the
// same retired clients, latest segments and acknowledgements; the same blob collection
// state (at least as cautious when a retired client may have condemned a blob after a
// checkpoint). Every claim the joiner has to check is in the segment it names, and a client
// holding the whole log finds nothing wrong with any of the checkpoints.

/** Every open condemnation and ban of `full` is one of `fromCheckpoint` too (it may have more). */
function expectAtLeastAsCautious(fromCheckpoint: Record<string, unknown>, full: Record<string, unknown>): void {
  for (const [h, f] of Object.entries(full) as [string, { open: string[]; banned: boolean[] }][]) {
    const c = fromCheckpoint[h] as { open: string[]; banned: boolean[] };
    for (const o of f.open) expect(c.open).toContain(o);
    f.banned.forEach((b, i) => b && expect(c.banned[i]).toBe(true));
  }
}

describe('writer checkpoints (ADR-0014)', () => {
  it('the latest checkpoint of each writer + every log after it = full replay, for any per-writer cut and any order', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 40 }), fc.nat(), (steps, seed) => {
        const p = play(steps);
        const { state, bodies, contested } = join(p, shuffler(seed));
        const now = T0 + 1000 * (steps.length + 1);
        const got = liveState(state, p.b.clients, now);
        const want = liveState(p.b.state(), p.b.clients, now);
        expect(got.live).toEqual(want.live);
        // Exact too, unless a retired client may have condemned after a checkpoint (then more cautious).
        if (steps.some((st) => st.kind === 'retire')) expectAtLeastAsCautious(got.blobs, want.blobs);
        else expect(got.blobs).toEqual(want.blobs);
        // Every claim the joiner checks is in the honest writer's segment it names.
        expect(contested.size).toBe(0);
        for (const claim of planCheckpointProofs(state, bodies)) {
          const seg = p.b.segments.find((s) => s.client === claim.writer && s.seq === claim.seq);
          expect(seg !== undefined && isClaimInSegment(claim, seg)).toBe(true);
        }
        // A client with the whole log finds nothing wrong with any checkpoint an honest writer wrote.
        const check = checkInputOf(p);
        for (const list of p.checkpoints.values()) for (const body of list) expect(computeCheckpointProblems(body, check)).toEqual([]);
      }),
      {
        numRuns: 2000,
        examples: [
          // A version that voided a condemnation, replaced before its writer's checkpoint: its blob is still named there.
          [
            [
              { kind: 'condemn', client: 0, content: 0, delete: false, lag: 0 },
              { kind: 'put', client: 1, path: 1, content: 0, replace: 0 },
              { kind: 'resolve', client: 0, path: 1, content: 1 },
              { kind: 'ack', client: 1, lag: 0 },
              { kind: 'put', client: 2, path: 0, content: 1, replace: 0 },
              { kind: 'checkpoint', client: 1 },
            ] as Step[],
            0,
          ],
        ],
      },
    );
  });
});
