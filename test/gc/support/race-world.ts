import type { Chunks } from '../../../src/events/store/lent-chunks.js';
import { isBmError, ErrorCode } from '../../../src/errors.js';
import { decodeTrustedSegment } from '../../../src/events/codec.js';
import type { ClientId } from '../../../src/events/ids.js';
import { keyOfContent } from '../../../src/events/packs.js';
import { computeEventContent, type SegmentBody } from '../../../src/events/schema.js';
import type { MemoryStore } from '../../../src/events/store/memory-store.js';
import type { Body, ListPage, ObjectStore } from '../../../src/events/store/object-store.js';
import type { SyncPath } from '../../../src/events/sync-path.js';
import { createLogState, projectLogSegment, type LogState } from '../../../src/projections/project-log.js';
import { computeHeads } from '../../../src/projections/project-paths.js';
import { computeAck, computeAckFrontier, computeActiveClients } from '../../../src/projections/project-vault.js';
import type { Rng } from '../../sim/prng.js';

/**
 * A cooperative scheduler for racing the real engine against the real GC on one MemoryStore
 * under a fake clock. Every actor (a writer looping `runSync`, a GC runner looping
 * `executeGc`) reaches the store through a `TurnStore`: each call first waits for its turn;
 * the scheduler hands out turns in a seeded random order and advances the true time by a
 * random step before each. Each actor's clock is the true time plus its own fixed offset
 * (clock skew). Segment writes and blob deletes do not wait for a turn: they land at the
 * instant their writer decided to issue them (the model's publish latency is 0; ADR-0007
 * budgets skew plus latency together).
 *
 * `check` is called between turns with the store as it is then.
 */
export class Scheduler {
  /** True time, ms. */
  now: number;
  /** Calls waiting for a turn (an actor may have several in flight: parallel listings and reads). */
  private readonly waiting = new Map<number, { actor: string; resume: () => void }>();
  private nextCall = 0;
  /** Actor -> the turn until which its calls are not picked. */
  private readonly stalled = new Map<string, number>();
  /** Probability, per turn, that some actor stalls. */
  stallRate = 0;
  turns = 0;

  constructor(
    private readonly rng: Rng,
    start: number,
    /** How far the true time moves before a turn. */
    private readonly step: (rng: Rng) => number,
  ) {
    this.now = start;
  }

  clockOf(offsetMs: number): () => Date {
    return () => new Date(this.now + offsetMs);
  }

  /** Called by an actor before a store call: resolves when the scheduler picks it. */
  turn(actor: string): Promise<void> {
    return new Promise((resume) => {
      this.waiting.set(this.nextCall++, { actor, resume });
    });
  }

  /**
   * Runs `actors` to completion, interleaving their store calls; `check` runs between turns.
   * Before each turn it lets every actor run until it waits (macrotask rounds until the set
   * of waiting calls is stable and every live actor has one), so a run is deterministic.
   */
  async run(actors: ReadonlyMap<string, () => Promise<void>>, check: () => void): Promise<void> {
    const done = new Set<string>();
    const failures: unknown[] = [];
    for (const [name, body] of actors) {
      void body()
        .catch((e: unknown) => failures.push(e))
        .finally(() => done.add(name));
    }
    for (;;) {
      let stable = 0;
      let last = -1;
      for (let i = 0; i < 5000 && stable < 5; i++) {
        await new Promise((r) => setImmediate(r));
        const live = [...actors.keys()].filter((a) => !done.has(a));
        const allWaiting = live.every((a) => [...this.waiting.values()].some((w) => w.actor === a));
        stable = allWaiting && this.waiting.size === last ? stable + 1 : 0;
        last = this.waiting.size;
      }
      if (failures.length > 0) throw failures[0];
      if (stable < 5)
        throw new Error(`actors ${[...actors.keys()].filter((a) => !done.has(a)).join(', ')} neither finished nor reached the store`);
      check();
      if (this.waiting.size === 0) return;
      // Now and then an actor stalls for a while (a slow machine, a long upload): its calls
      // wait while the others go on, which is what opens the races GC must survive.
      if (this.rng() < this.stallRate) {
        const actors = [...new Set([...this.waiting.values()].map((w) => w.actor))].sort();
        this.stalled.set(actors[Math.floor(this.rng() * actors.length)]!, this.turns + 50 + Math.floor(this.rng() * 400));
      }
      const all = [...this.waiting.keys()].sort((a, b) => a - b);
      const free = all.filter((k) => (this.stalled.get(this.waiting.get(k)!.actor) ?? 0) <= this.turns);
      const ids = free.length > 0 ? free : all;
      const id = ids[Math.floor(this.rng() * ids.length)]!;
      const call = this.waiting.get(id)!;
      this.waiting.delete(id);
      this.now += this.step(this.rng);
      this.turns++;
      call.resume();
    }
  }
}

/** One actor's view of the shared store: every call but segment writes and deletes waits for a turn. */
export class TurnStore implements ObjectStore {
  readonly description = 'memory (turns)';

  constructor(
    private readonly inner: MemoryStore,
    private readonly scheduler: Scheduler,
    private readonly actor: string,
    private readonly beforeImmediate: (key: string, body: Body | null) => void = () => undefined,
  ) {}

  private async wait(): Promise<void> {
    await this.scheduler.turn(this.actor);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    await this.wait();
    return this.inner.get(key);
  }

  async getChunks(key: string, size?: number): Promise<Chunks | undefined> {
    await this.wait();
    return this.inner.getChunks(key, size);
  }

  async head(key: string): Promise<{ size: number } | undefined> {
    await this.wait();
    return this.inner.head(key);
  }

  async putIfAbsent(key: string, body: Body): Promise<'created' | 'identical'> {
    if (key.startsWith('log/')) {
      this.beforeImmediate(key, body);
      return this.inner.putIfAbsent(key, body);
    }
    await this.wait();
    return this.inner.putIfAbsent(key, body);
  }

  async list(prefix: string, options: { startAfter?: string; limit?: number } = {}): Promise<ListPage> {
    await this.wait();
    return this.inner.list(prefix, options);
  }

  async delete(key: string): Promise<void> {
    this.beforeImmediate(key, null);
    return this.inner.delete(key);
  }

  async close(): Promise<void> {}
}

/** Every segment in the store, decoded. */
export function readStoreSegments(store: MemoryStore): SegmentBody[] {
  const out: SegmentBody[] = [];
  for (const [key, bytes] of store.objects) if (key.startsWith('log/')) out.push(decodeTrustedSegment(bytes));
  return out;
}

export function foldStore(store: MemoryStore): LogState {
  const s = createLogState();
  for (const b of readStoreSegments(store)) projectLogSegment(s, b);
  return s;
}

/** Clients with a published key. */
export function keyedClients(store: MemoryStore): ClientId[] {
  return [...store.objects.keys()].filter((k) => k.startsWith('keys/')).map((k) => k.slice('keys/'.length) as ClientId);
}

/**
 * The blob invariant (ADR-0007), and the pack invariant (ADR-0035): every version whose blob or pack is missing is one no client can
 * need any more: not a head, acknowledged by every active client, replaced by a version every
 * active client acknowledged, and older than the retention (by the true clock, less twice
 * the largest clock offset, since GC compares its clock with the writer's). Returns the
 * broken cases.
 */
export function computeBlobViolations(
  store: MemoryStore,
  trueNowMs: number,
  retentionMs: number,
  offsetOf: (client: string) => number,
  maxOffsetMs: number,
): string[] {
  const state = foldStore(store);
  const active = computeActiveClients(keyedClients(store), state.vault.retired);
  const frontier = computeAckFrontier(state.vault.latest, active);
  const acked = (c: ClientId, seq: number) => seq <= (frontier.get(c) ?? 0);
  const out: string[] = [];
  for (const [path, st] of state.paths) {
    const heads = new Set(computeHeads(st).map((h) => h.id));
    const replacedByAcked = new Set<string>();
    for (const r of st.versions.values()) if (acked(r.client, r.seq)) for (const id of r.replaces) replacedByAcked.add(id);
    for (const v of st.versions.values()) {
      if (v.content === null || store.objects.has(keyOfContent(v.content))) continue; // its blob or its pack (ADR-0022)
      const age = trueNowMs - (Date.parse(v.time) - offsetOf(v.client));
      const why = [
        heads.has(v.id) ? 'a head' : '',
        !acked(v.client, v.seq) ? 'not acknowledged by every active client' : '',
        !replacedByAcked.has(v.id) ? 'not replaced by an acknowledged version' : '',
        age < retentionMs - 2 * maxOffsetMs ? `inside the retention (${age} ms old)` : '',
      ].filter((w) => w !== '');
      if (why.length > 0)
        out.push(`version ${v.id} of ${path} by ${v.client}/${v.seq} names missing ${keyOfContent(v.content)}: it is ${why.join(', ')}`);
    }
  }
  return out;
}

/**
 * The tombstone invariant, checked right before a gc segment lands: every delete it collects
 * that is a head now is acknowledged by every active client.
 */
export function computeCollectViolations(store: MemoryStore, gcBody: SegmentBody): string[] {
  const state = foldStore(store);
  const active = computeActiveClients(keyedClients(store), state.vault.retired);
  const out: string[] = [];
  for (const e of gcBody.events) {
    if (e.type !== 'gc') continue;
    for (const c of e.collected) {
      const st = state.paths.get(c.path as SyncPath);
      if (st === undefined) continue;
      for (const h of computeHeads(st)) {
        if (!c.versions.includes(h.id)) continue;
        if (h.content !== null) out.push(`gc ${gcBody.client}/${gcBody.seq} collects ${c.path}, whose head ${h.id} is live`);
        for (const a of active)
          if (computeAck(state.vault.latest, a, h.client) < h.seq)
            out.push(`gc ${gcBody.client}/${gcBody.seq} collects the delete ${h.id} of ${c.path}, which ${a} has not acknowledged`);
      }
    }
  }
  return out;
}

/** Every content hash the events of a segment name. */
export function namedBlobs(body: SegmentBody): string[] {
  return body.events.map(computeEventContent).flatMap((c) => (c === null ? [] : [c.hash]));
}

export function isExpectedSyncFailure(e: unknown): boolean {
  return isBmError(e, ErrorCode.staleFetch);
}
