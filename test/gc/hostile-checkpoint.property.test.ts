import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OwnContext, WriterCheckpointBody, WriterPath } from '../../src/events/checkpoint-schema.js';
import { decodeWriterCheckpoint, encodeWriterCheckpoint } from '../../src/events/codec.js';
import type { ClientId, ContentHash, VersionId } from '../../src/events/ids.js';
import { isPathEvent } from '../../src/events/schema.js';
import { importPublicKeyHex, sha256Hex } from '../../src/events/signing.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { computeHeads } from '../../src/projections/project-paths.js';
import { isClaimInSegment, keyOfClaim, type CheckpointClaim } from '../../src/projections/project-writer-checkpoint.js';
import { NO_VERDICTS, settleCheckpointClaims } from '../../src/reconcile/settle-claims.js';
import { chance, mulberry32, pick, randomInt, type Rng } from '../sim/prng.js';
import { computeCheckpointProblems } from '../../src/projections/check-writer-checkpoint.js';
import { checkInputOf, CONTENTS, join, key, liveState, PATHS, play, stepArb, T0, type Played } from './support/checkpoint-model.js';

// Property (ADR-0014): whatever a hostile writer signs as its checkpoint with its own key,
// a joiner that combines it with the honest writers' checkpoints and checks the claims its
// state depends on never shows another writer's version otherwise than the signed logs do:
// every version another writer has live in the full replay is live for the joiner with the
// same record, no version is attributed to another writer that its log does not hold, and
// a version of the hostile writer sits beside another writer's only if its log holds it.
// Only the hostile writer's claims are ever found false, and whatever still differs for the
// joiner (the hostile writer's own story of its own log) a client with the whole log reports.

const contentOf = (i: number) => ({ hash: sha256Hex(CONTENTS[i]!) as ContentHash, size: CONTENTS[i]!.length, mode: 0o644 });

/** Any well-formed body a hostile writer could sign, made of the log's real ids, paths, contexts and made-up ones. */
function forgeBody(p: Played, hostile: ClientId, rng: Rng): WriterCheckpointBody {
  const { b } = p;
  const mine = b.segments.filter((s) => s.client === hostile);
  if (mine.length === 0) mine.push(b.segment(hostile, [], T0 + 999_000));
  const last = mine.at(-1)!;
  const real = b.state();
  const idsAt = (path: string) => [...(real.paths.get(path as SyncPath)?.versions.keys() ?? [])];
  const contexts: OwnContext[] = Array.from({ length: randomInt(rng, 1, 3) }, () => {
    const seg = pick(rng, mine)!;
    if (chance(rng, 0.6)) return { seq: seg.seq, time: seg.time, seen: seg.seen, snapshot: null };
    return { seq: randomInt(rng, 1, last.seq), time: new Date(T0 + randomInt(rng, 0, 9) * 1000).toISOString(), seen: {}, snapshot: null };
  });
  const someIds = (path: string) => idsAt(path).filter(() => chance(rng, 0.4));
  const paths: WriterPath[] = [];
  for (const path of PATHS) {
    if (chance(rng, 0.3)) continue;
    const versions = Array.from({ length: randomInt(rng, 0, 2) }, () => {
      // A real version of its own (copied, maybe altered), another writer's id, or a made-up one.
      const own = mine.flatMap((s) => s.events.filter(isPathEvent).filter((e) => e.path === path));
      const copy = chance(rng, 0.4) ? pick(rng, own) : undefined;
      const id = (copy?.id ?? pick(rng, [...idsAt(path), b.id()])!) as VersionId;
      const tombstone = copy !== undefined ? copy.type === 'tombstone' : chance(rng, 0.3);
      const content = tombstone
        ? null
        : copy !== undefined && copy.type !== 'tombstone' && chance(rng, 0.7)
          ? copy.content
          : contentOf(randomInt(rng, 0, 2));
      const type = tombstone ? ('tombstone' as const) : copy?.type === 'resolve' ? ('resolve' as const) : ('put' as const);
      const replaces = copy !== undefined && chance(rng, 0.7) ? [...copy.replaces] : someIds(path);
      return { id, type, ctx: randomInt(rng, 0, contexts.length - 1), replaces, content };
    });
    const replaced = someIds(path).map((id) => ({ id, seq: randomInt(rng, 1, last.seq) }));
    paths.push({ path: path as SyncPath, versions: [...new Map(versions.map((v) => [v.id, v])).values()], replaced });
  }
  const collected = PATHS.filter(() => chance(rng, 0.3)).map((path) => ({
    path: path as SyncPath,
    seq: randomInt(rng, 1, last.seq),
    versions: idsAt(path),
  }));
  return {
    v: 2,
    vault: b.vault,
    client: hostile,
    seq: last.seq,
    hash: sha256Hex(`${hostile}/${last.seq}`),
    time: new Date(T0).toISOString(),
    segment: { time: last.time, seen: last.seen, events: last.events.length },
    lastEventful: randomInt(rng, 0, last.seq),
    contexts,
    paths,
    collected: collected.filter((c) => c.versions.length > 0),
    retired: b.clients.filter(() => chance(rng, 0.2)).map((client) => ({ client, seq: 1 })),
    condemnations: CONTENTS.filter(() => chance(rng, 0.3)).map((c) => ({ hash: sha256Hex(c) as ContentHash, ctx: 0, graceMs: 1000 })),
    deletions: [],
    namers: CONTENTS.filter(() => chance(rng, 0.3)).map((c) => ({ hash: sha256Hex(c) as ContentHash, seq: randomInt(rng, 1, last.seq) })),
    relies: [],
  };
}

/** Pure proofs for the model: the claim is in the segment it names, as the log holds it. */
function proverOf(p: Played) {
  return async (claims: readonly CheckpointClaim[]) => {
    const out = new Map<string, boolean>();
    for (const c of claims) {
      const seg = p.b.segments.find((s) => s.client === c.writer && s.seq === c.seq);
      out.set(keyOfClaim(c), seg !== undefined && isClaimInSegment(c, seg));
    }
    return out;
  };
}

describe('a hostile writer checkpoint (ADR-0014)', () => {
  it("never changes another writer's versions for a joiner that checks the claims its state depends on", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 30 }), fc.nat(2), fc.nat(), async (steps, h, seed) => {
        const honest = play(steps);
        const hostile = honest.b.clients[h]!;
        const forged = forgeBody(honest, hostile, mulberry32(seed));
        // Anything the hostile writer signs passes the codec as long as it is well-formed.
        const at = { vault: honest.b.vault, client: hostile, seq: forged.seq, publicKey: importPublicKeyHex(key.publicKeyHex) };
        const body = decodeWriterCheckpoint(encodeWriterCheckpoint(forged, key.privateKey).bytes, at).body;
        const p: Played = { b: honest.b, checkpoints: new Map(honest.checkpoints).set(hostile, [body]) };
        const same = <T>(l: readonly T[]) => [...l];
        const first = join(p, same);
        const settled = await settleCheckpointClaims(first, first.bodies, NO_VERDICTS, proverOf(p), async (bad) => join(p, same, bad));
        const full = honest.b.state();
        for (const c of settled.bad) expect(c.writer).toBe(hostile);
        for (const [path, st] of full.paths) {
          const got = settled.state.paths.get(path);
          const heads = got === undefined ? [] : computeHeads(got);
          for (const head of computeHeads(st)) if (head.client !== hostile) expect(heads).toContainEqual(head);
        }
        for (const [path, st] of settled.state.paths) {
          const others = [...st.versions.values()].some((v) => v.client !== hostile);
          for (const v of st.versions.values()) if (v.client !== hostile) expect(full.paths.get(path)?.versions.get(v.id)).toEqual(v);
          for (const head of computeHeads(st))
            if (head.client === hostile && others) expect(full.paths.get(path)?.versions.get(head.id)).toEqual(head);
        }
        // Whatever still differs for the joiner (the hostile writer's own versions, claims it
        // withdrew), and any claim found false, a client with the whole log reports.
        const now = T0 + 1000 * (steps.length + 1);
        const diverged =
          JSON.stringify(liveState(settled.state, p.b.clients, now).live) !== JSON.stringify(liveState(full, p.b.clients, now).live);
        if (diverged || settled.bad.length > 0) expect(computeCheckpointProblems(body, checkInputOf(p))).not.toEqual([]);
      }),
      { numRuns: 1000 },
    );
  });

  it('a writer that tells its own log otherwise (one thing left out or kept too long) is reported wherever a joiner would see it otherwise', async () => {
    const mutations = ['drop-version', 'drop-replaced', 'drop-collected', 'keep-replaced', 'drop-retired', 'last-eventful'] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.array(stepArb, { minLength: 1, maxLength: 30 }),
        fc.constantFrom(...mutations),
        fc.nat(),
        async (steps, mutation, n) => {
          const honest = play(steps);
          const writers = [...honest.checkpoints.keys()];
          fc.pre(writers.length > 0);
          const w = writers[n % writers.length]!;
          const body = honest.checkpoints.get(w)!.at(-1)!;
          const changed = changeOne(honest, body, mutation, n);
          fc.pre(changed !== undefined);
          const p: Played = { b: honest.b, checkpoints: new Map(honest.checkpoints).set(w, [changed]) };
          const same = <T>(l: readonly T[]) => [...l];
          const first = join(p, same);
          const settled = await settleCheckpointClaims(first, first.bodies, NO_VERDICTS, proverOf(p), async (bad) => join(p, same, bad));
          const now = T0 + 1000 * (steps.length + 1);
          const diverged =
            JSON.stringify(liveState(settled.state, p.b.clients, now).live) !==
            JSON.stringify(liveState(honest.b.state(), p.b.clients, now).live);
          if (diverged) expect(computeCheckpointProblems(changed, checkInputOf(p))).not.toEqual([]);
        },
      ),
      { numRuns: 800 },
    );
  });
});

/** An honest body with one thing told otherwise, or undefined when it has nothing of that kind. */
function changeOne(p: Played, body: WriterCheckpointBody, mutation: string, n: number): WriterCheckpointBody | undefined {
  const pickOf = <T>(list: readonly T[]) => (list.length === 0 ? undefined : list[n % list.length]);
  switch (mutation) {
    case 'drop-version': {
      const e = pickOf(body.paths.filter((x) => x.versions.length > 0));
      return e && { ...body, paths: body.paths.map((x) => (x === e ? { ...x, versions: x.versions.slice(1) } : x)) };
    }
    case 'drop-replaced': {
      const e = pickOf(body.paths.filter((x) => x.replaced.length > 0));
      return e && { ...body, paths: body.paths.map((x) => (x === e ? { ...x, replaced: x.replaced.slice(1) } : x)) };
    }
    case 'drop-collected':
      return body.collected.length === 0 ? undefined : { ...body, collected: body.collected.slice(1) };
    case 'keep-replaced': {
      // One of its own versions it had seen replaced, kept as if live (with a context of its own).
      const own = p.b.segments
        .filter((s) => s.client === body.client && s.seq <= body.seq)
        .flatMap((s) => s.events.filter(isPathEvent).map((e) => ({ s, e })));
      const kept = new Set(body.paths.flatMap((x) => x.versions.map((v) => v.id)));
      const hit = pickOf(own.filter(({ e }) => !kept.has(e.id)));
      if (hit === undefined) return undefined;
      const { s, e } = hit;
      const ctx = body.contexts.length;
      const version = { id: e.id, type: e.type, ctx, replaces: [...e.replaces], content: e.type === 'tombstone' ? null : e.content };
      const rest = body.paths.filter((x) => x.path !== e.path);
      const at = body.paths.find((x) => x.path === e.path) ?? { path: e.path, versions: [], replaced: [] };
      const contexts = [...body.contexts, { seq: s.seq, time: s.time, seen: s.seen, snapshot: s.snapshot }];
      return { ...body, contexts, paths: [...rest, { ...at, versions: [...at.versions, version] }] };
    }
    case 'drop-retired':
      return body.retired.length === 0 ? undefined : { ...body, retired: body.retired.slice(1) };
    default:
      return body.lastEventful === 0 ? undefined : { ...body, lastEventful: body.lastEventful - 1 };
  }
}
