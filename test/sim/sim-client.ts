import { counterIdFactory, type ClientId, type IdFactory, type VaultId } from '../../src/events/ids.js';
import { writeIdentity, writeVaultIfAbsent } from '../../src/events/log.js';
import { generateKeyPair, type KeyPair } from '../../src/events/signing.js';
import type { ObjectStore } from '../../src/events/store/object-store.js';
import type { LocalTree } from '../../src/reconcile/ports.js';
import { MemoryIndex } from '../support/memory-index.js';
import { MemoryTree } from '../support/memory-tree.js';
import type { FsSemantics } from '../support/name-semantics.js';
import type { SyncContext } from '../../src/reconcile/sync-context.js';
import type { SyncIndex } from '../../src/reconcile/ports.js';

/** One simulated client: what `bm-log init` leaves behind, all in memory. */
export interface SimClient {
  readonly name: string;
  readonly id: ClientId;
  readonly vault: VaultId;
  readonly keys: KeyPair;
  readonly tree: MemoryTree;
  readonly index: MemoryIndex;
  /** Persists across crashes, like the wall clock behind ULIDs. */
  readonly newId: IdFactory;
}

/** A fake clock: `now` for segment times, `tick` for mtimes; both strictly increase. */
export interface SimClock {
  readonly now: () => Date;
  readonly tick: () => number;
}

export function createClock(start = 1_700_000_000_000): SimClock & { advance(ms: number): void } {
  let t = start;
  return { now: () => new Date(++t), tick: () => ++t, advance: (ms) => void (t += ms) };
}

/**
 * Creates a client on `store` as `bm-log init` does: the vault marker if absent, a fresh key
 * pair and its published identity. Ids come from a counter with `idPrefix` (valid ULID
 * characters: no I, L, O, U), so clients' ids never collide and replays are exact. `fs`: how
 * the client's volume names files (name-semantics.ts).
 */
export async function createSimClient(
  store: ObjectStore,
  name: string,
  idPrefix: string,
  clock: SimClock,
  fs: FsSemantics = 'posix',
): Promise<SimClient> {
  const newId = counterIdFactory(idPrefix);
  const id = newId() as ClientId;
  const keys = generateKeyPair();
  const vault = await writeVaultIfAbsent(store, newId, clock.now);
  await writeIdentity(store, { v: 1, vault, client: id, name, publicKey: keys.publicKeyHex, time: clock.now().toISOString() }, keys);
  return { name, id, vault, keys, tree: new MemoryTree(`/sim/${name}`, clock.tick, fs), index: new MemoryIndex(), newId };
}

/** The context of one sync of `c`; the ports default to the client's own unwrapped parts. */
export function syncContextOf(
  c: SimClient,
  parts: {
    store: ObjectStore;
    now: () => Date;
    tree?: LocalTree;
    index?: SyncIndex;
    concurrency?: number;
    chunkOps?: number;
    stagePaths?: number;
    onWorkingSet?: SyncContext['onWorkingSet'];
  },
): SyncContext {
  return {
    store: parts.store,
    index: parts.index ?? c.index,
    tree: parts.tree ?? c.tree,
    identity: { client: c.id, vault: c.vault, name: c.name, keys: c.keys },
    subscriptions: [],
    isIgnored: () => false,
    scopeKey: 'sim', // nothing is ignored, every folder subscribed
    now: parts.now,
    newId: c.newId,
    concurrency: parts.concurrency ?? 8,
    // Tiny chunks: every round of more than two ops runs in chunks, each committed on its own,
    // and the simulation's crashes land between them too.
    chunkOps: parts.chunkOps ?? 2,
    // Stages of two paths: a first sync runs in several (ADR-0011), crashes land between them.
    stagePaths: parts.stagePaths ?? 2,
    ...(parts.onWorkingSet === undefined ? {} : { onWorkingSet: parts.onWorkingSet }),
  };
}
