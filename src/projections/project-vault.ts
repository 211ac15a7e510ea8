import type { ClientId, ContentHash } from '../events/ids.js';
import type { SegmentBody } from '../events/schema.js';
import type { ConfigSettings } from '../events/config-event-schema.js';

/**
 * The vault-wide state the log carries besides paths (ADR-0007): every client's latest
 * segment (its acknowledgement), the retired clients, and the blob collection state. Like
 * the path fold it only grows by maxima and unions keyed by (client, seq), so the same
 * segments in any order, any number of times, give the same state.
 */
export interface VaultState {
  /** Each client's latest segment folded: its `seen` is that client's acknowledgement. */
  readonly latest: Map<ClientId, SegmentSummary>;
  /** Each client's highest seq of a segment that carried events (acks do not count). */
  readonly lastEventful: Map<ClientId, number>;
  /** Retired clients (explicit `retire` events, never automatic). */
  readonly retired: Set<ClientId>;
  /** Blob condemnations by `gc` events, per blob, keyed `client!seq`. */
  readonly condemnations: Map<ContentHash, Map<string, Condemnation>>;
  /** Blob deletion records by `gc` events, per blob, keyed `client!seq`. */
  readonly deletions: Map<ContentHash, Map<string, DeletionRecord>>;
  /**
   * Only in a state built from a checkpoint: for versions the checkpoint no longer holds that
   * were not yet acknowledged by every active client, who named which blob (per blob, the
   * highest seq per client). A condemnation published later may be voided by them.
   */
  readonly namers: Map<ContentHash, Map<ClientId, number>>;
  /** The config event in effect (ADR-0037): the first of every counted one by `compareConfigs`; none, the defaults. */
  config?: ConfigRecord;
}

/** A counted `config` event, where it was written, and its writer's logical clock then. */
export interface ConfigRecord {
  readonly client: ClientId;
  readonly seq: number;
  readonly id: string;
  /** The sum of its segment's `seen` frontier plus its seq (the logical clock of `compareHeads`). */
  readonly weight: number;
  readonly settings: ConfigSettings;
}

/**
 * The order of config events, the one in effect first, the same on every client and never by
 * wall-clock time: the one whose writer had seen more of the log (as `compareHeads`), then client
 * id, then event id. A writer's later config event always comes before its earlier ones.
 */
export function compareConfigs(a: ConfigRecord, b: ConfigRecord): number {
  if (a.weight !== b.weight) return b.weight - a.weight;
  if (a.client !== b.client) return a.client < b.client ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Keeps in `state` whichever of its config and `c` comes first (a maximum: any order, any repeats, one result). */
export function addConfig(state: VaultState, c: ConfigRecord): void {
  if (state.config === undefined || compareConfigs(c, state.config) < 0) state.config = c;
}

/** The logical clock of a segment: its `seen` frontier's sum plus its own seq. */
export function computeSegmentWeight(seen: Readonly<Record<string, number>>, seq: number): number {
  let n = seq;
  for (const v of Object.values(seen)) n += v;
  return n;
}

/** A segment's position and context, without its events. */
export interface SegmentSummary {
  readonly client: ClientId;
  readonly seq: number;
  readonly time: string;
  readonly seen: Readonly<Record<string, number>>;
  /** Number of events (0: a pure acknowledgement). */
  readonly events: number;
}

/** One `gc` event's condemnation of one blob. */
export interface Condemnation {
  readonly hash: ContentHash;
  /** The GC run's client and segment seq, time and frontier (what it had seen). */
  readonly client: ClientId;
  readonly seq: number;
  readonly time: string;
  readonly graceMs: number;
  readonly seen: Readonly<Record<string, number>>;
  /**
   * Set when a checkpoint found an event naming the blob that this condemnation's frontier
   * does not cover (the blob is wanted again). Voiding by later events is computed from the
   * versions themselves (see gc/blob-status.ts).
   */
  readonly voided: boolean;
}

/** One `gc` event's record that it deleted one blob. */
export interface DeletionRecord {
  readonly hash: ContentHash;
  readonly client: ClientId;
  readonly seq: number;
  readonly time: string;
  readonly seen: Readonly<Record<string, number>>;
}

export function createVaultState(): VaultState {
  return {
    latest: new Map(),
    lastEventful: new Map(),
    retired: new Set(),
    condemnations: new Map(),
    deletions: new Map(),
    namers: new Map(),
  };
}

function addKeyed<T>(map: Map<ContentHash, Map<string, T>>, hash: ContentHash, key: string, value: T, merge?: (a: T, b: T) => T): void {
  let inner = map.get(hash);
  if (inner === undefined) {
    inner = new Map();
    map.set(hash, inner);
  }
  const existing = inner.get(key);
  inner.set(key, existing !== undefined && merge ? merge(existing, value) : (existing ?? value));
}

/** Folds one segment's vault-level content into `state` (mutated) and returns it. */
export function evolveVault(state: VaultState, body: SegmentBody): VaultState {
  const prior = state.latest.get(body.client);
  if (prior === undefined || prior.seq < body.seq) {
    state.latest.set(body.client, { client: body.client, seq: body.seq, time: body.time, seen: body.seen, events: body.events.length });
  }
  if (body.events.length > 0 && (state.lastEventful.get(body.client) ?? 0) < body.seq) state.lastEventful.set(body.client, body.seq);
  const key = `${body.client}!${body.seq}`;
  for (const e of body.events) {
    switch (e.type) {
      case 'retire':
        state.retired.add(e.client);
        break;
      case 'gc':
        for (const h of e.condemned)
          addKeyed(state.condemnations, h, key, {
            hash: h,
            client: body.client,
            seq: body.seq,
            time: body.time,
            graceMs: e.graceMs,
            seen: body.seen,
            voided: false,
          });
        for (const h of e.deleted)
          addKeyed(state.deletions, h, key, { hash: h, client: body.client, seq: body.seq, time: body.time, seen: body.seen });
        break;
      case 'config':
        addConfig(state, {
          client: body.client,
          seq: body.seq,
          id: e.id,
          weight: computeSegmentWeight(body.seen, body.seq),
          settings: e.settings,
        });
        break;
      case 'put':
      case 'tombstone':
      case 'resolve':
      case 'member': // the member list is its own fold (src/members/project-members.ts)
      case 'key':
        break;
      default: {
        const never: never = e;
        throw new Error(`unknown event ${JSON.stringify(never)}`);
      }
    }
  }
  return state;
}

/** Adds a condemnation known from a checkpoint (voided flags combine by OR). */
export function addCondemnation(state: VaultState, c: Condemnation): void {
  addKeyed(state.condemnations, c.hash, `${c.client}!${c.seq}`, c, (a, b) => ({ ...a, voided: a.voided || b.voided }));
}

export function addDeletion(state: VaultState, d: DeletionRecord): void {
  addKeyed(state.deletions, d.hash, `${d.client}!${d.seq}`, d);
}

/** Records that `client` named `hash` in a version of seq `seq` (keeps the highest seq). */
export function addNamer(state: VaultState, hash: ContentHash, client: ClientId, seq: number): void {
  let inner = state.namers.get(hash);
  if (inner === undefined) {
    inner = new Map();
    state.namers.set(hash, inner);
  }
  if ((inner.get(client) ?? 0) < seq) inner.set(client, seq);
}

/** True when the segment (client, seq) is covered by a frontier written by `by` at `bySeq` with `seen`. */
export function isCovered(
  client: string,
  seq: number,
  by: { client: string; seq: number; seen: Readonly<Record<string, number>> },
): boolean {
  return client === by.client ? seq <= by.seq : seq <= (by.seen[client] ?? 0);
}

/**
 * Active clients: those with a published (verified) key, minus the retired, and in a vault with
 * members (ADR-0021) only its current members (`members`): pending clients and removed members
 * never hold collection back. Only they hold collection back with their acknowledgements.
 */
export function computeActiveClients(
  keyed: Iterable<ClientId>,
  retired: ReadonlySet<ClientId>,
  members?: ReadonlySet<ClientId>,
): Set<ClientId> {
  const out = new Set<ClientId>();
  for (const c of keyed) if (!retired.has(c) && (members === undefined || members.has(c))) out.add(c);
  return out;
}

/** Client a's acknowledgement of client c's log: its own latest seq, or what its latest segment had seen. */
export function computeAck(latest: ReadonlyMap<ClientId, SegmentSummary>, a: ClientId, c: ClientId): number {
  const s = latest.get(a);
  if (s === undefined) return 0;
  return a === c ? s.seq : (s.seen[c] ?? 0);
}

/**
 * Pure: for each client c (every client with a segment, and every active client), the
 * lowest acknowledgement of c's log among the active clients: every active client has
 * folded c's log up to that seq. An active client that never published acknowledges nothing.
 */
export function computeAckFrontier(latest: ReadonlyMap<ClientId, SegmentSummary>, active: ReadonlySet<ClientId>): Map<ClientId, number> {
  const clients = new Set<ClientId>([...latest.keys(), ...active]);
  const out = new Map<ClientId, number>();
  for (const c of clients) {
    let min = Number.POSITIVE_INFINITY;
    for (const a of active) min = Math.min(min, computeAck(latest, a, c));
    out.set(c, Number.isFinite(min) ? min : 0);
  }
  return out;
}

/**
 * Pure: whether this client owes an acknowledgement: some other client published a segment
 * with events that this client folded but that its own latest segment had not seen. Empty
 * segments never make an acknowledgement due, so acknowledgements do not ping-pong.
 */
export function isAckDue(state: VaultState, self: ClientId): boolean {
  const own = state.latest.get(self);
  for (const [c, seq] of state.lastEventful) {
    if (c === self) continue;
    if (seq > (own?.seen[c] ?? 0)) return true;
  }
  return false;
}

/** A VaultState as plain arrays (for the clean-state record, ADR-0009). */
export interface VaultSnapshot {
  readonly latest: readonly SegmentSummary[];
  readonly lastEventful: readonly (readonly [ClientId, number])[];
  readonly retired: readonly ClientId[];
  readonly condemnations: readonly (readonly [ContentHash, readonly (readonly [string, Condemnation])[]])[];
  readonly deletions: readonly (readonly [ContentHash, readonly (readonly [string, DeletionRecord])[]])[];
  readonly namers: readonly (readonly [ContentHash, readonly (readonly [ClientId, number])[]])[];
  readonly config?: ConfigRecord;
}

export function encodeVaultState(v: VaultState): VaultSnapshot {
  const nested = <K, T>(m: ReadonlyMap<K, ReadonlyMap<string, T>>) => [...m].map(([k, inner]) => [k, [...inner]] as const);
  return {
    latest: [...v.latest.values()],
    lastEventful: [...v.lastEventful],
    retired: [...v.retired],
    condemnations: nested(v.condemnations),
    deletions: nested(v.deletions),
    namers: [...v.namers].map(([h, inner]) => [h, [...inner]] as const),
    ...(v.config === undefined ? {} : { config: v.config }),
  };
}

/** The state a snapshot holds, or undefined when `s` is not one (then: fold the log). */
export function decodeVaultState(s: unknown): VaultState | undefined {
  if (typeof s !== 'object' || s === null) return undefined;
  const x = s as Record<string, unknown>;
  const arrays = ['latest', 'lastEventful', 'retired', 'condemnations', 'deletions', 'namers'].every((k) => Array.isArray(x[k]));
  if (!arrays) return undefined;
  const snap = s as VaultSnapshot;
  return {
    latest: new Map(snap.latest.map((l) => [l.client, l])),
    lastEventful: new Map(snap.lastEventful),
    retired: new Set(snap.retired),
    condemnations: new Map(snap.condemnations.map(([h, inner]) => [h, new Map(inner)])),
    deletions: new Map(snap.deletions.map(([h, inner]) => [h, new Map(inner)])),
    namers: new Map(snap.namers.map(([h, inner]) => [h, new Map(inner)])),
    ...(snap.config === undefined ? {} : { config: snap.config }),
  };
}
