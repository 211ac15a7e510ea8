/**
 * The deterministic simulation with member events (ADR-0032): the real engine (`runSync`,
 * `executeMemberChange`) on in-memory ports, in a vault made with a root (the format-2 marker,
 * as `init --create` writes it). A seed drives random steps: honest clients edit and sync in
 * any order, the admin admits pending clients, changes roles and removes a member; a client
 * never admitted and a removed member keep writing segments with their real keys (what a
 * hostile or outdated client can always do). Its own module so that the main simulation's
 * generator stays as it is.
 *
 * Invariants: every version in every plan's cloud state counts by the member list folded from
 * what that client holds (no event of a non-member, a reader or a removed member beyond its cut
 * reaches a plan); after quiescence every client holds the same member list (members, roles,
 * cuts, rejected events) and the same counted projection.
 */
import { executeMemberChange } from '../../src/client/member-actions.js';
import { decodeMsgpack } from '../../src/events/codec.js';
import { counterIdFactory, type ClientId, type ContentHash, type VaultId, type VersionId } from '../../src/events/ids.js';
import { keyOfBlob, prefixOfLog } from '../../src/events/layout.js';
import { writeIdentity, writeSegment } from '../../src/events/log.js';
import { MemoryIndex } from '../support/memory-index.js';
import { MemoryTree } from '../support/memory-tree.js';
import type { Event, SegmentBody } from '../../src/events/schema.js';
import { generateKeyPair, sha256Hex } from '../../src/events/signing.js';
import { MemoryStore } from '../../src/events/store/memory-store.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { computeApplyVerdict } from '../../src/members/may-apply.js';
import { listMembers, type MemberState } from '../../src/members/project-members.js';
import { computeVaultRootBody, writeRootVaultMarker } from '../../src/members/vault-root.js';
import { computeHeads } from '../../src/projections/project-paths.js';
import { readMemberState } from '../../src/reconcile/member-state.js';
import type { PlanInput } from '../../src/reconcile/plan.js';
import { runSync } from '../../src/reconcile/run-sync.js';
import { readLogState } from '../../src/reconcile/sync-log.js';
import { chance, mulberry32, pick, pickWeighted, type Rng } from './prng.js';
import { createClock, createSimClient, syncContextOf, type SimClient } from './sim-client.js';

/** The knobs of one run (a config, so that a test can ask for more steps or other weights). */
export interface MemberSimConfig {
  readonly steps: number;
  /** Sync rounds of every client, in order, at the end. */
  readonly quiescence: number;
}

export const DEFAULT_MEMBER_SIM: MemberSimConfig = { steps: 40, quiescence: 3 };

type Step = 'edit' | 'sync' | 'admit' | 'role' | 'remove' | 'forge';

const PATHS = ['a.md', 'b.md', 'dir/c.md'] as const;

interface World {
  readonly rng: Rng;
  readonly store: MemoryStore;
  readonly now: () => Date;
  readonly admin: SimClient;
  /** Clients that sync honestly (the admin among them). */
  readonly honest: SimClient[];
  /** Never admitted; only forges. */
  readonly outsider: SimClient;
  /** Admitted, synced honestly until removed; forges after. */
  readonly leaver: SimClient;
  removed: boolean;
  readonly trace: string[];
  /** Broken invariants, each with the step it was met at. */
  readonly broken: string[];
}

/** Runs one seeded scenario; returns what broke (empty when every invariant held) and the trace. */
export async function runMemberScenario(
  seed: number,
  config: MemberSimConfig = DEFAULT_MEMBER_SIM,
): Promise<{ broken: string[]; trace: string[] }> {
  const w = await createWorld(seed);
  for (let i = 0; i < config.steps; i++) await runStep(w, pickStep(w));
  // A removed leaver only forges from then on (an honest sync would meet its forged segments as its own).
  const syncing = w.removed ? w.honest : [...w.honest, w.leaver];
  for (let r = 0; r < config.quiescence; r++) for (const c of syncing) await sync(w, c);
  await checkConvergence(w);
  return { broken: w.broken, trace: w.trace };
}

async function createWorld(seed: number): Promise<World> {
  const rng = mulberry32(seed);
  const clock = createClock();
  const store = new MemoryStore({ random: mulberry32(seed ^ 0x2545f491) });
  // The admin's id and key first: the marker (its root) is the vault's first object.
  const rootKeys = generateKeyPair();
  const rootIds = counterIdFactory('0ADM');
  const vault = rootIds() as VaultId;
  const rootId = rootIds() as ClientId;
  await writeRootVaultMarker(store, computeVaultRootBody(vault, { client: rootId, name: 'admin', keys: rootKeys }, clock.now()), rootKeys);
  const tree = new MemoryTree('/sim/admin', clock.tick);
  const admin: SimClient = { name: 'admin', id: rootId, vault, keys: rootKeys, tree, index: new MemoryIndex(), newId: rootIds };
  const at = clock.now().toISOString();
  await writeIdentity(store, { v: 1, vault, client: rootId, name: 'admin', publicKey: rootKeys.publicKeyHex, time: at }, rootKeys);
  const others = await Promise.all(['bob', 'carol', 'outsider', 'leaver'].map((n, i) => createSimClient(store, n, `0C${i}`, clock)));
  const [bob, carol, outsider, leaver] = others as [SimClient, SimClient, SimClient, SimClient];
  const w: World = {
    rng,
    store,
    now: clock.now,
    admin,
    honest: [admin, bob, carol],
    outsider,
    leaver,
    removed: false,
    trace: [],
    broken: [],
  };
  // The leaver is admitted from the start, so that it writes while a member.
  await sync(w, admin);
  await memberChange(w, 'add', leaver, 'writer');
  return w;
}

function pickStep(w: World): Step {
  return pickWeighted<Step>(w.rng, [
    ['edit', 5],
    ['sync', 5],
    ['admit', 1],
    ['role', 1],
    ['remove', w.removed ? 0 : 0.5],
    ['forge', 2],
  ]);
}

async function runStep(w: World, step: Step): Promise<void> {
  const c = pick(w.rng, w.removed ? w.honest : [...w.honest, w.leaver])!;
  switch (step) {
    case 'edit': {
      const p = pick(w.rng, PATHS)!;
      c.tree.userWrite(p, Buffer.from(`${c.name} ${w.trace.length}\n`));
      w.trace.push(`${c.name} edits ${p}`);
      return;
    }
    case 'sync':
      return sync(w, c);
    case 'admit': {
      const target = pick(
        w.rng,
        w.honest.filter((h) => h !== w.admin),
      )!;
      return memberChange(w, 'add', target, 'writer');
    }
    case 'role': {
      const target = pick(
        w.rng,
        w.honest.filter((h) => h !== w.admin),
      )!;
      return memberChange(w, 'role', target, chance(w.rng, 0.5) ? 'reader' : 'writer');
    }
    case 'remove':
      w.removed = true;
      return memberChange(w, 'remove', w.leaver);
    case 'forge':
      return forge(w, chance(w.rng, 0.5) || !w.removed ? w.outsider : w.leaver);
  }
}

/** The admin publishes a member change (refused ones, e.g. an add of a member, are part of the run). */
async function memberChange(w: World, action: 'add' | 'remove' | 'role', target: SimClient, role?: 'writer' | 'reader'): Promise<void> {
  const ctx = syncContextOf(w.admin, { store: w.store, now: w.now });
  try {
    const r = await executeMemberChange(ctx, { action, target: target.id, ...(role === undefined ? {} : { role }) });
    w.trace.push(`admin ${action} ${target.name}${role ? ` ${role}` : ''}: upTo ${r.upTo}, ${r.counted ? 'counted' : r.rejected}`);
  } catch (e) {
    w.trace.push(`admin ${action} ${target.name}: refused (${(e as Error).message})`);
  }
}

/** One sync of `c`, checking each plan's cloud state against the member list `c` holds after it. */
async function sync(w: World, c: SimClient): Promise<void> {
  const seen: { client: ClientId; seq: number; type: string; path: string }[] = [];
  const onPlan = (input: PlanInput) => {
    for (const st of input.cloud.values())
      for (const v of st.versions.values()) seen.push({ client: v.client, seq: v.seq, type: v.type, path: v.path });
  };
  const report = await runSync({ ...syncContextOf(c, { store: w.store, now: w.now }), onPlan });
  w.trace.push(`${c.name} syncs: ${report.eventsPublished} published, ${report.skipped.length} held back`);
  const members = await readMemberState(c.index);
  if (members === undefined) {
    w.broken.push(`${c.name} holds no member list in a vault with a root (step ${w.trace.length})`);
    return;
  }
  for (const v of seen) {
    const verdict = computeApplyVerdict(v.type as 'put', { client: v.client, seq: v.seq }, members);
    if (verdict !== 'ok') w.broken.push(`${c.name} planned with ${v.path} by ${v.client}/${v.seq}: ${verdict} (step ${w.trace.length})`);
  }
}

/** A segment with a put, written to the remote with `c`'s real key after the last one there. */
async function forge(w: World, c: SimClient): Promise<void> {
  const listed = (await w.store.list(prefixOfLog(c.id))).objects.map((o) => o.key).sort();
  const last = listed.at(-1);
  const prev = last === undefined ? null : sha256Hex((decodeMsgpack((await w.store.get(last))!, 'segment') as { body: Uint8Array }).body);
  const text = Buffer.from(`forged by ${c.name} ${w.trace.length}\n`);
  const hash = sha256Hex(text) as ContentHash;
  await w.store.putIfAbsent(keyOfBlob(hash), text).catch(() => undefined);
  const p = pick(w.rng, PATHS)! as SyncPath;
  const event: Event = {
    type: 'put',
    id: c.newId() as VersionId,
    path: p,
    replaces: [],
    content: { hash, size: text.length, mode: 0o644 },
  };
  const seq = listed.length + 1;
  const body: SegmentBody = {
    v: 1,
    vault: c.vault,
    client: c.id,
    seq,
    prev: prev as ContentHash | null,
    time: w.now().toISOString(),
    seen: {},
    snapshot: null,
    events: [event],
  };
  await writeSegment(w.store, body, c.keys);
  w.trace.push(`${c.name} forges ${p} at seq ${seq}`);
}

/** What must be the same on every client after quiescence: the member list and the counted heads. */
function describeMembers(m: MemberState): string {
  const list = listMembers(m).map((r) => `${r.client}:${r.role}:${r.cut}`);
  const removed = [...m.members.values()].filter((r) => r.role === null).map((r) => `${r.client}:cut ${r.cut}`);
  return JSON.stringify({ list, removed: removed.sort(), rejected: [...m.rejected].sort() });
}

async function checkConvergence(w: World): Promise<void> {
  const seen = new Map<string, string>();
  for (const c of w.removed ? w.honest : [...w.honest, w.leaver]) {
    const members = await readMemberState(c.index);
    const { state } = await readLogState(c.index);
    const heads = [...state.paths]
      .map(
        ([p, st]) =>
          `${p}=${computeHeads(st)
            .map((h) => h.id)
            .sort()
            .join('+')}`,
      )
      .sort();
    seen.set(c.name, `${members === undefined ? 'none' : describeMembers(members)} ${heads.join(',')}`);
  }
  const distinct = new Set(seen.values());
  if (distinct.size > 1)
    w.broken.push(`member lists or counted heads differ after quiescence: ${[...seen].map(([n, s]) => `${n}: ${s}`).join(' | ')}`);
}
