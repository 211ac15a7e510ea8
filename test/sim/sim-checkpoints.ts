import type { WriterCheckpointBody, WriterPath } from '../../src/events/checkpoint-schema.js';
import { decodeTrustedSegment, encodeWriterCheckpoint } from '../../src/events/codec.js';
import type { ClientId, ContentHash, VersionId } from '../../src/events/ids.js';
import { keyOfBlob, keyOfWriterCheckpoint } from '../../src/events/layout.js';
import type { SegmentBody } from '../../src/events/schema.js';
import { sha256Hex } from '../../src/events/signing.js';
import type { ObjectStore } from '../../src/events/store/object-store.js';
import { computeWriterCheckpoint } from '../../src/projections/compute-writer-checkpoint.js';
import { computeHeads } from '../../src/projections/project-paths.js';
import { readLogState } from '../../src/reconcile/sync-log.js';
import { pick, pickWeighted, type Rng } from './prng.js';
import type { SimClient } from '../support/test-world.js';

/**
 * Hostile checkpoints for the simulation (issue 20, ADR-0014): a client signs, with its own
 * key, a checkpoint of its own log that is honest about its own versions but claims another
 * writer's live version as replaced or collected by it, or puts a made-up version of its own
 * over it. A joiner must check such a claim against the forger's segment and leave it out;
 * the simulation's convergence check then proves no client shows the vault otherwise.
 */

/** When clients checkpoint their own logs in checkpoint scenarios: often, so joins use them. */
export const SIM_CHECKPOINT_EVERY = { events: 3, segments: 3 };

/** The forger's own log, as its index holds it. */
async function readOwnLog(c: SimClient): Promise<SegmentBody[]> {
  const out: SegmentBody[] = [];
  for await (const rec of c.index.iterateSegments(c.id)) if (rec.client === c.id) out.push(decodeTrustedSegment(rec.bytes));
  return out.sort((a, b) => a.seq - b.seq);
}

/** Adds one false claim about `target` (another writer's live version at `path`) to an honest body. */
type ClaimForged = 'replaced' | 'collected' | 'takeover';

function withForgedClaim(
  body: WriterCheckpointBody,
  path: WriterPath['path'],
  target: VersionId,
  kind: ClaimForged,
  made: { id: VersionId; hash: ContentHash; size: number },
): WriterCheckpointBody {
  if (kind === 'collected') return { ...body, collected: [...body.collected, { path, seq: body.seq, versions: [target] }] };
  const content = { hash: made.hash, size: made.size, mode: 0o644 };
  const contexts = [...body.contexts, { seq: body.seq, time: body.segment.time, seen: body.segment.seen, snapshot: null }];
  const at = body.paths.find((p) => p.path === path) ?? { path, versions: [], replaced: [] };
  const changed: WriterPath =
    kind === 'replaced'
      ? { ...at, replaced: [...at.replaced, { id: target, seq: body.seq }] }
      : { ...at, versions: [...at.versions, { id: made.id, type: 'put', ctx: contexts.length - 1, replaces: [target], content }] };
  return { ...body, contexts, paths: [...body.paths.filter((p) => p !== at), changed].sort((a, b) => (a.path < b.path ? -1 : 1)) };
}

/** What `forgeCheckpoint` did, and the made-up bytes it stored (never user content). */
export interface Forgery {
  readonly what: string;
  readonly forged: boolean;
  readonly hash?: string;
  /** The forged checkpoint's object key: every client reports it as a fault from then on. */
  readonly key?: string;
}

/**
 * Signs, with `c`'s key, a checkpoint at its latest segment: its honest checkpoint plus one
 * false claim about another writer's live version that `c` sees. Says what it did, for the
 * trace, or why it did nothing.
 */
export async function forgeCheckpoint(c: SimClient, store: ObjectStore, rng: Rng, now: () => Date, made: VersionId): Promise<Forgery> {
  const none = (why: string): Forgery => ({ what: `forges nothing (${why})`, forged: false });
  const cursor = (await c.index.getCursors()).get(c.id);
  if (cursor === undefined) return none('no segment to stand on');
  const key = keyOfWriterCheckpoint(c.id, cursor.seq);
  if ((await store.head(key)) !== undefined) return none('its latest segment has a checkpoint');
  const { state } = await readLogState(c.index);
  const targets = [...state.paths].flatMap(([path, st]) =>
    computeHeads(st)
      .filter((h) => h.client !== c.id)
      .map((h) => ({ path, id: h.id })),
  );
  const target = pick(rng, targets);
  if (target === undefined) return none("sees no other writer's live version");
  const own = await readOwnLog(c);
  const segment = own.find((s) => s.seq === cursor.seq)!;
  const keyed = new Set<ClientId>([c.id, ...(await c.index.getPinnedKeys()).keys()]);
  const at = { vault: c.vault, client: c.id, segment, hash: cursor.hash, time: now().toISOString(), previous: undefined, own };
  const honest = computeWriterCheckpoint({ ...at, paths: state.paths, vaultState: state.vault, keyed, coverage: new Map() });
  const kind = pickWeighted(rng, [
    ['replaced', 1],
    ['collected', 1],
    ['takeover', 1],
  ] as const);
  const bytes = new TextEncoder().encode(`forged by ${c.name} over ${target.path}`);
  const hash = sha256Hex(bytes) as ContentHash;
  await store.putIfAbsent(keyOfBlob(hash), bytes);
  const body = withForgedClaim(honest, target.path, target.id, kind, { id: made, hash, size: bytes.length });
  await store.putIfAbsent(key, encodeWriterCheckpoint(body, c.keys.privateKey).bytes);
  return { what: `forges checkpoint ${cursor.seq}: ${kind} ${target.id} of ${target.path}`, forged: true, hash, key };
}
