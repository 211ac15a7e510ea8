import { counterIdFactory, type ClientId, type IdFactory, type VaultId } from '../../src/events/ids.js';
import { writeIdentity, writeVaultIfAbsent } from '../../src/events/log.js';
import { generateKeyPair, type KeyPair } from '../../src/events/signing.js';
import type { ObjectStore } from '../../src/events/store/object-store.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { computeConflictCopyPath } from '../../src/reconcile/conflict-copy-name.js';
import type { LocalTree, SyncIndex } from '../../src/reconcile/ports.js';
import type { SyncReport } from '../../src/reconcile/run-sync.js';
import type { SyncContext } from '../../src/reconcile/sync-context.js';
import { MemoryIndex } from './memory-index.js';
import { MemoryTree } from './memory-tree.js';
import type { FsSemantics } from './name-semantics.js';

/*
 * The one test world (issue 21) that the simulation (test/sim), the reconcile world
 * (test/reconcile/support/world.ts), the real-parts SyncWorld (sync-world.ts) and the race and
 * engine tests (test/gc, test/reconcile) build on: in-memory clients as `bm-log init` leaves
 * them (key, identity, vault marker, a MemoryTree folder and a MemoryIndex), the remote
 * (any ObjectStore: a MemoryStore, with MemoryFaults for network faults), a fake clock, the
 * context of one sync, and what the worlds' checks share (client names, conflict-copy names,
 * protected content, a report's summary line). Fault injection at the ports (crashes at the
 * n-th call, per port) is gated-ports.ts, re-exported here; the converged-tree rule is
 * expected-tree.ts.
 */

export { CrashError, GatedIndex, GatedStore, GatedTree, SyncGate, type GateCounts } from './gated-ports.js';

/** Client names, in creation order (a world with more clients numbers them). */
export const CLIENT_NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'] as const;

/** Content a user had at a path when a sync that completed read it: it must never be lost. */
export interface ProtectedContent {
  readonly client: string;
  readonly path: string;
  readonly hash: string;
  /** When it was read: the world's step or sync number. */
  readonly step: number;
}

/** True when `p` is named like a conflict copy of `main` (computeConflictCopyPath's shape). */
export function isCopyOf(p: string, main: string): boolean {
  const probe = computeConflictCopyPath(main as SyncPath, 'N', 'XXXXXXXX');
  const [head, tail] = probe.split('.conflict-N-XXXXXXXX') as [string, string];
  return p.startsWith(`${head}.conflict-`) && p.endsWith(tail) && !p.slice(head.length).includes('/');
}

/** One line for a world's log: events published, ops applied by kind, skips, conflicts, faults. */
export function describeReport(r: SyncReport): string {
  const ops = new Map<string, number>();
  for (const op of r.applied) if (op.kind !== 'record') ops.set(op.kind, (ops.get(op.kind) ?? 0) + 1);
  const parts = [`ok: ${r.eventsPublished} events`, [...ops].map(([k, n]) => `${k}x${n}`).join(' ') || 'no ops'];
  if (r.skipped.length > 0) parts.push(`skipped ${r.skipped.map((s) => `${s.op} ${s.path} (${s.detail})`).join(', ')}`);
  if (r.conflicts.length > 0) parts.push(`conflicts ${r.conflicts.map((n) => `${n.path}(${n.heads.length})`).join(', ')}`);
  if (r.faults.length > 0) parts.push(`faults ${r.faults.map((f) => `${f.key}:${f.error.code}`).join(', ')}`);
  return parts.join('; ');
}

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
