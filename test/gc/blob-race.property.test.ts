import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeTrustedSegment } from '../../src/events/codec.js';
import { MemoryStore } from '../../src/events/store/memory-store.js';
import { executeGc } from '../../src/gc/execute-gc.js';
import { runSync } from '../../src/reconcile/run-sync.js';
import { BEING_COLLECTED } from '../../src/reconcile/sync-log.js';
import { chance, mulberry32, pick, randomInt } from '../sim/prng.js';
import { createClock, createSimClient, syncContextOf, type SimClient } from '../support/test-world.js';
import { computeBlobViolations, computeCollectViolations, isExpectedSyncFailure, Scheduler, TurnStore } from './support/race-world.js';

// GC safety against concurrent writers (ADR-0007), on the real engine and the real GC: writers
// loop scan/fetch/HEAD/upload/publish (`runSync`) while two GC runners loop `executeGc`, all
// interleaved call by call by a seeded scheduler under a fake clock with per-client skew.
// After every step: no version a client may still need (a head, a version inside the
// retention, one not acknowledged by every active client, one not yet replaced for everyone;
// in particular an in-flight put, which is a fresh unacknowledged head) names a missing blob.
// Right before every gc event lands: every delete it collects is acknowledged by every
// active client. Contents come from a pool of three, so blobs are condemned, deleted and
// wanted again while their condemnations are open.

const GRACE = 1000;
/** Clock offsets in (-GRACE/8, GRACE/8): pairwise skew under GRACE/4, publish latency 0. */
const MAX_OFFSET = GRACE / 8 - 1;
const PATHS = ['a.md', 'b.md', 'c/d.md'] as const;
const CONTENTS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'] as const;

interface Totals {
  scenarios: number;
  turns: number;
  deleted: number;
  condemned: number;
  bans: number;
  stale: number;
  collected: number;
  /** Packs deleted (only with packs on). */
  packsDeleted: number;
}

const newTotals = (): Totals => ({ scenarios: 0, turns: 0, deleted: 0, condemned: 0, bans: 0, stale: 0, collected: 0, packsDeleted: 0 });

async function runRace(seed: number, totals: Totals, packs: boolean): Promise<void> {
  const rng = mulberry32(seed);
  const store = new MemoryStore();
  const retention = chance(rng, 0.5) ? 0 : 300;
  // Mostly short steps (a sync fits in its deadline), sometimes a long pause (a sync goes stale,
  // a condemnation comes of age).
  const pauses = pick(rng, [0.003, 0.01, 0.03])!;
  const scheduler = new Scheduler(rng, 1_800_000_000_000, (r) => (r() < pauses ? randomInt(r, 0, GRACE) : randomInt(r, 0, 5)));
  scheduler.stallRate = pick(rng, [0, 0.01, 0.03])!;
  const setupClock = createClock(scheduler.now);
  const offsets = new Map<string, number>();
  const clients: SimClient[] = [];
  for (const [i, name] of ['w0', 'w1', 'w2', 'g0', 'g1'].entries()) {
    const c = await createSimClient(store, name, `01RC${'ABCDE'[i]}`, setupClock);
    clients.push(c);
    offsets.set(c.id, randomInt(rng, -MAX_OFFSET, MAX_OFFSET));
  }
  const failures: string[] = [];
  const beforeImmediate = (key: string, body: unknown) => {
    if (key.startsWith('packs/') && body === null && store.objects.has(key)) totals.packsDeleted++;
    if (!key.startsWith('log/') || !(body instanceof Uint8Array)) return;
    const seg = decodeTrustedSegment(body);
    for (const e of seg.events) {
      if (e.type !== 'gc') continue;
      totals.condemned += e.condemned.length;
      totals.deleted += e.deleted.length;
      totals.collected += e.collected.length;
    }
    failures.push(...computeCollectViolations(store, seg));
  };
  const ctxOf = (c: SimClient) => ({
    ...syncContextOf(c, { store: new TurnStore(store, scheduler, c.name, beforeImmediate), now: scheduler.clockOf(offsets.get(c.id)!) }),
    publishDeadlineMs: GRACE / 2,
    packs,
  });
  const actors = new Map<string, () => Promise<void>>();
  for (const c of clients.filter((x) => x.name.startsWith('w'))) {
    actors.set(c.name, async () => {
      for (let k = 0; k < 8; k++) {
        await scheduler.turn(c.name); // the user thinks; time passes
        for (let n = randomInt(rng, 1, 2); n > 0; n--) {
          const present = [...c.tree.files.keys()];
          if (present.length > 0 && chance(rng, 0.35)) c.tree.userDelete(pick(rng, present)!);
          else c.tree.userWrite(pick(rng, PATHS)!, new TextEncoder().encode(pick(rng, CONTENTS)!));
        }
        try {
          const r = await runSync(ctxOf(c), { force: true });
          totals.bans += r.skipped.filter((s) => s.detail === BEING_COLLECTED).length;
        } catch (e) {
          if (!isExpectedSyncFailure(e)) throw e;
          totals.stale++;
        }
      }
    });
  }
  for (const c of clients.filter((x) => x.name.startsWith('g'))) {
    actors.set(c.name, async () => {
      for (let k = 0; k < 8; k++) {
        await scheduler.turn(c.name);
        try {
          await executeGc({ ...ctxOf(c) }, { retentionMs: retention, graceMs: GRACE, checkpoint: chance(rng, 0.3) });
        } catch (e) {
          if (!isExpectedSyncFailure(e)) throw e;
          totals.stale++;
        }
      }
    });
  }
  const offsetOf = (client: string) => offsets.get(client) ?? 0;
  await scheduler.run(actors, () => {
    failures.push(...computeBlobViolations(store, scheduler.now, retention, offsetOf, MAX_OFFSET));
    if (failures.length > 0)
      throw new Error(`seed ${seed}, turn ${scheduler.turns}, retention ${retention}:\n  ${[...new Set(failures)].join('\n  ')}`);
  });
  totals.scenarios++;
  totals.turns += scheduler.turns;
}

/** Runs the race on 100 seeds and returns the totals. */
async function raceTotals(packs: boolean): Promise<Totals> {
  const totals = newTotals();
  await fc.assert(
    fc.asyncProperty(fc.noShrink(fc.integer({ min: 1, max: 2 ** 30 })), async (seed) => {
      await runRace(seed, totals, packs);
    }),
    { numRuns: 100 },
  );
  return totals;
}

describe('blob GC against in-flight writers', () => {
  it('never deletes a blob a live, retained, unacknowledged or in-flight version names, and collects only acknowledged deletes', async () => {
    const totals = await raceTotals(false);
    console.log(`blob race: ${JSON.stringify(totals)}`);
    // Not vacuous: blobs were condemned and deleted, deletes collected, and writers met bans.
    expect(totals.deleted).toBeGreaterThan(0);
    expect(totals.collected).toBeGreaterThan(0);
    expect(totals.bans + totals.stale).toBeGreaterThan(0);
  }, 300_000);

  // ADR-0035: the same race with packs on (every small content goes into its writer's pack).
  // A pack holding a content some version may still need, or that a writer is about to name
  // (a fresh pack whose segment is not yet published), is never deleted.
  it('never deletes a pack holding a content a live, retained, unacknowledged or in-flight version names', async () => {
    const totals = await raceTotals(true);
    console.log(`pack race: ${JSON.stringify(totals)}`);
    // Not vacuous: packs were deleted, deletes collected, and writers went stale.
    expect(totals.packsDeleted).toBeGreaterThan(0);
    expect(totals.collected).toBeGreaterThan(0);
    expect(totals.bans + totals.stale).toBeGreaterThan(0);
  }, 300_000);
});
