import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { counterIdFactory, type ClientId, type IdFactory, type VersionId } from '../../../src/events/ids.js';
import { keyOfContent } from '../../../src/events/packs.js';
import type { Event } from '../../../src/events/schema.js';
import type { Chunks } from '../../../src/events/store/lent-chunks.js';
import { MemoryStore } from '../../../src/events/store/memory-store.js';
import type { SyncPath } from '../../../src/events/sync-path.js';
import { computeIgnoreMatcher } from '../../../src/local/ignore-rules.js';
import { computeFrontier, computeHeads, projectVersions, type PathState, type Projection } from '../../../src/projections/project-paths.js';
import type { VersionRecord } from '../../../src/projections/version-record.js';
import {
  computeFocusTargets,
  isCloudOnly,
  isFocusPlannable,
  planSync,
  type Plan,
  type PlanInput,
  type PlanOp,
} from '../../../src/reconcile/plan-sync.js';
import type { BaseEntry, LocalFile, LocalScan } from '../../../src/reconcile/ports.js';
import { executePlan, type ExecuteEnv } from '../../../src/reconcile/sync/execute-plan.js';
import { createTally } from '../../../src/reconcile/sync/report.js';
import { createClock, CrashError, GatedIndex, GatedStore, GatedTree, SyncGate, type SimClock } from '../../support/test-world.js';
import { MemoryIndex } from '../../support/memory-index.js';
import { MemoryTree } from '../../support/memory-tree.js';
import { planByTable } from './plan-by-table.js';

/**
 * An in-memory world for reconcile tests: clients with a local tree and a base manifest, one
 * shared cloud (the list of published versions) and a blob store. `syncRound` plans with the
 * real `planSync` and carries the plan out with the engine's own `executePlan`
 * (src/reconcile/sync/execute-plan.ts), through the simulation's doubles of the ports: each
 * client's folder is a `MemoryTree` and its index a `MemoryIndex`, blobs go to a
 * `MemoryStore`, and a round stopped early is a crash of the gated ports (gated-ports.ts). Only
 * the log is the world's own: a published segment is a list of versions (`cloud`), unsigned.
 *
 * Deterministic: version ids come from a counter, mtimes from a per-world write counter, inodes
 * from each tree's counter, and the executor runs one op at a time, so two runs of one script
 * give byte-identical results (scenario goldens rely on it). The tree is case-sensitive and
 * keeps NFC and NFD names apart, like ext4.
 */

export interface WorldClient {
  readonly name: string;
  readonly id: ClientId;
  /** The client's folder (`files`: path -> bytes and stat). */
  readonly tree: MemoryTree;
  /** The client's index: the engine commits the base manifest there. */
  readonly index: MemoryIndex;
  /** The base manifest as it stands (the index's, read without a copy). */
  readonly base: ReadonlyMap<SyncPath, BaseEntry>;
  /** Seq of this client's last published segment (one segment a round). */
  seq: number;
  /** .bmignore rules; `isIgnored` is derived from them (plus the built-ins). */
  ignoreRules: string;
  isIgnored: (path: string) => boolean;
  /** Folder prefixes ending in '/'; empty: the whole tree. */
  subscriptions: string[];
  /** Files or folders the scan reports as unreadable (their files are left out of the scan). */
  unreadable: string[];
  /**
   * The version each main file was last derived from (written by a download, published by an
   * upload, recorded): the truth a lost manifest commit cannot erase, for property checks.
   */
  readonly shows: Map<string, VersionId>;
}

/** What a round did, in order, for property checks. */
export type WorldEvent =
  /**
   * A version this client published, with every version id its base held for that path when it
   * planned, the heads of the path then, and the version the file there was derived from.
   */
  | {
      readonly type: 'published';
      readonly client: string;
      readonly version: VersionRecord;
      readonly baseIds: ReadonlySet<VersionId>;
      readonly headsBefore: readonly VersionId[];
      readonly derivedFrom: VersionId | undefined;
    }
  /** A plan op that was carried out. */
  | { readonly type: 'applied'; readonly client: string; readonly op: PlanOp }
  /** A plan op whose guard failed (the file was not what the plan expected). */
  | { readonly type: 'skipped'; readonly client: string; readonly op: PlanOp };

export interface World {
  readonly clients: Map<string, WorldClient>;
  /** Every published version, in publishing order. */
  readonly cloud: VersionRecord[];
  /** The blob store (only blobs: the log is `cloud`). */
  readonly store: MemoryStore;
  readonly newId: IdFactory;
  readonly journal: WorldEvent[];
  /** The clock behind mtimes (test-world.ts): every write ticks it. */
  readonly clock: SimClock;
}

export const DEFAULT_MODE = 0o644;
/** A sync that still has ops after this many rounds fails (the real runSync stops there too). */
export const MAX_ROUNDS = 4;
const TIME = '2026-11-21T00:00:00.000Z';
const TEXT = new TextDecoder();

export function computeBytesHash(bytes: string): string {
  return createHash('sha256').update(bytes, 'utf8').digest('hex');
}

/** Why `path` cannot hold a file in `files` (a file stands where a folder is needed, or the reverse). */
function computeClash(files: ReadonlyMap<string, unknown>, path: string): string | undefined {
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) {
    const anc = parts.slice(0, i).join('/');
    if (files.has(anc)) return `the file ${anc} stands where a folder is needed`;
  }
  for (const p of files.keys()) if (p.startsWith(`${path}/`)) return `a folder stands at ${path}`;
  return undefined;
}

/**
 * A MemoryTree on which a new file that a file or folder stands in the way of fails the test
 * instead of being skipped: the planner must never plan such a write (ADR-0016).
 */
class PlannedTree extends MemoryTree {
  override async writeFile(
    p: SyncPath,
    content: Chunks,
    hash: string,
    mode: number,
    expect: LocalFile | null,
  ): Promise<LocalFile | 'changed'> {
    const clash = expect === null && !this.files.has(p) ? computeClash(this.files, p) : undefined;
    if (clash !== undefined) throw new Error(`${this.root}: writing ${p} is impossible: ${clash} (the planner must not plan it)`);
    return super.writeFile(p, content, hash, mode, expect);
  }
}

/** A world with the named clients (client ids sort in the order given), no files, an empty cloud. */
export function createWorld(names: readonly string[]): World {
  const clientIds = counterIdFactory('01C');
  const world: World = {
    clients: new Map(),
    cloud: [],
    store: new MemoryStore(),
    newId: counterIdFactory(),
    journal: [],
    clock: createClock(1_800_000_000_000),
  };
  for (const name of names) {
    const index = new MemoryIndex();
    world.clients.set(name, {
      name,
      id: clientIds() as ClientId,
      tree: new PlannedTree(`/world/${name}`, world.clock.tick),
      index,
      get base() {
        return index.manifestNow;
      },
      seq: 0,
      ignoreRules: '',
      isIgnored: computeIgnoreMatcher(''),
      subscriptions: [],
      unreadable: [],
      shows: new Map(),
    });
  }
  return world;
}

export function mustClient(world: World, name: string): WorldClient {
  const c = world.clients.get(name);
  if (c === undefined) throw new Error(`no client ${name} in this world`);
  return c;
}

export function setIgnoreRules(client: WorldClient, rules: string): void {
  client.ignoreRules = rules;
  client.isIgnored = computeIgnoreMatcher(rules);
}

/** A user writes a file. Returns false, writing nothing, where a file system would refuse (file/folder clash). */
export function writeUserFile(world: World, name: string, path: string, bytes: string, mode = DEFAULT_MODE): boolean {
  return mustClient(world, name).tree.userWrite(path, new TextEncoder().encode(bytes), { mode });
}

/** A user deletes a file. Returns false when there was none. */
export function deleteUserFile(world: World, name: string, path: string): boolean {
  return mustClient(world, name).tree.userDelete(path);
}

function toLocalFile(
  path: string,
  f: { readonly bytes: Uint8Array; readonly hash: string; readonly mode: number; readonly mtimeMs: number; readonly ino: number },
): LocalFile {
  return { path: path as SyncPath, hash: f.hash, size: f.bytes.length, mode: f.mode, mtimeMs: f.mtimeMs, ino: f.ino };
}

function isUnder(path: string, entry: string): boolean {
  return path === entry || path.startsWith(entry.endsWith('/') ? entry : `${entry}/`);
}

/** The local scan, as FsTree.scan reports it: ignored and unreadable files left out, folders listed. */
export function scan(world: World, name: string): LocalScan {
  const client = mustClient(world, name);
  const files = new Map<SyncPath, LocalFile>();
  const dirs = new Set<string>();
  for (const [path, f] of client.tree.files) {
    const parts = path.split('/');
    const folders = parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
    if (client.unreadable.some((u) => isUnder(path, u))) {
      // The unreadable folder itself was listed by its parent; nothing below it was.
      for (const d of folders) if (!client.unreadable.some((u) => d.startsWith(u.endsWith('/') ? u : `${u}/`))) dirs.add(d);
      continue;
    }
    const ignoredFolder = folders.findIndex((d) => client.isIgnored(`${d}/`));
    for (const d of ignoredFolder === -1 ? folders : folders.slice(0, ignoredFolder)) dirs.add(d);
    if (ignoredFolder !== -1 || client.isIgnored(path)) continue;
    files.set(path as SyncPath, toLocalFile(path, f));
  }
  return { files, dirs, unreadable: [...client.unreadable] };
}

/** The cloud now: every published version folded. */
export function project(world: World): Projection {
  return projectVersions(world.cloud);
}

/** Client id -> the client's name (conflict copy names use it). */
export function computeClientName(world: World): (id: string) => string {
  const names = new Map([...world.clients.values()].map((c) => [c.id as string, c.name]));
  return (id) => names.get(id) ?? id.slice(-6);
}

/** What each client's last plan saw, for the focused-plan check in `planRound`. */
interface PlanSeen {
  readonly base: ReadonlyMap<string, BaseEntry>;
  readonly local: LocalScan;
  readonly cloud: Projection;
  readonly scope: string;
  readonly plan: Plan;
  readonly cloudOnly: ReadonlySet<string>;
}

function computeCloudOnly(cloud: Projection, local: LocalScan): Set<string> {
  return new Set([...cloud].filter(([p, st]) => isCloudOnly(p, st, local)).map(([p]) => p));
}
const lastPlans = new WeakMap<WorldClient, PlanSeen>();

/** The full plan input of `name` now: its base, its scan, the cloud, its options. */
export function computePlanInput(world: World, name: string, cloud: Projection = project(world)): PlanInput {
  const client = mustClient(world, name);
  return {
    base: client.base,
    local: scan(world, name),
    cloud,
    options: { subscriptions: client.subscriptions, isIgnored: client.isIgnored, clientName: computeClientName(world), self: client.id },
  };
}

/**
 * Plans one round for `name` without executing it. Every plan is checked against the plain
 * decision table (`planByTable`: every path, no fast path), and also made focused (ADR-0009):
 * from the client's previous plan and the paths whose base, local file, folder or cloud state
 * differ since (computed here by brute force), and must equal the full plan exactly. So every
 * reconcile property test checks the fast path and the focused planner on each of its plans.
 */
export function planRound(world: World, name: string, cloud: Projection = project(world)): Plan {
  const client = mustClient(world, name);
  const input = computePlanInput(world, name, cloud);
  const plan = planSync(input);
  // The plain table, path by path, with no optimisation: the full plan must give its ops.
  const table = planByTable(input);
  if (!isDeepStrictEqual(table.ops, plan.ops) || !isDeepStrictEqual(table.conflicts, plan.conflicts)) {
    throw new Error(`plan differs from the per-path table for ${name}\nplan: ${JSON.stringify(plan)}\ntable: ${JSON.stringify(table)}`);
  }
  const scope = JSON.stringify([client.ignoreRules, client.subscriptions]);
  const last = lastPlans.get(client);
  if (last !== undefined && last.scope === scope) {
    const dirty = computeStateDiff(last, input);
    const focused = planSync({ ...input, focus: { previous: last.plan, dirty } });
    if (!isDeepStrictEqual(focused, plan)) {
      throw new Error(
        `focused plan differs from the full plan for ${name}\ndirty: ${[...dirty].join(', ')}\nfull: ${JSON.stringify(plan)}\nfocused: ${JSON.stringify(focused)}`,
      );
    }
    // As a lazy sync plans it: base and cloud hold only the focus's paths (and every conflict
    // copy row), and the cloud-only set is the previous one updated at those paths.
    const targets = computeFocusTargets({ previous: last.plan, dirty }, input.base, input.local);
    if (targets !== undefined) {
      const cloudOnly = new Set(last.cloudOnly);
      for (const p of targets) {
        if (isCloudOnly(p as SyncPath, cloud.get(p as SyncPath), input.local)) cloudOnly.add(p);
        else cloudOnly.delete(p);
      }
      if (!isDeepStrictEqual(cloudOnly, computeCloudOnly(cloud, input.local)))
        throw new Error(`cloud-only paths kept up to date at the focus differ from all of them for ${name}`);
      const base = new Map([...input.base].filter(([p, b]) => targets.has(p) || b.copyOf !== undefined));
      const partial = new Map([...cloud].filter(([p]) => targets.has(p)));
      const lazyInput = { ...input, base, cloud: partial, focus: { previous: last.plan, dirty }, cloudOnly };
      // (Where a file/folder clash reaches past the focus, a lazy sync folds everything instead.)
      if (isFocusPlannable(lazyInput)) {
        const lazy = planSync(lazyInput);
        if (!isDeepStrictEqual(lazy, plan))
          throw new Error(`lazy plan differs from the full plan for ${name}\nfull: ${JSON.stringify(plan)}\nlazy: ${JSON.stringify(lazy)}`);
      }
    }
  }
  lastPlans.set(client, {
    base: new Map(client.base),
    local: input.local,
    cloud,
    scope,
    plan,
    cloudOnly: computeCloudOnly(cloud, input.local),
  });
  return plan;
}

/** Every path whose base row, local file, folder presence or cloud state differs between the two. */
export function computeStateDiff(
  a: Pick<PlanSeen, 'base' | 'local' | 'cloud'>,
  b: Pick<PlanSeen, 'base' | 'local' | 'cloud'>,
): Set<string> {
  const dirty = new Set<string>();
  const differ = <K, V>(x: ReadonlyMap<K, V>, y: ReadonlyMap<K, V>, same: (v: V, w: V) => boolean) => {
    for (const [k, v] of x) if (!y.has(k) || !same(v, y.get(k)!)) dirty.add(k as string);
    for (const k of y.keys()) if (!x.has(k)) dirty.add(k as string);
  };
  differ(a.base, b.base, isDeepStrictEqual);
  differ(a.local.files, b.local.files, isDeepStrictEqual);
  for (const d of a.local.dirs) if (!b.local.dirs.has(d)) dirty.add(d);
  for (const d of b.local.dirs) if (!a.local.dirs.has(d)) dirty.add(d);
  const ids = (st: PathState) =>
    JSON.stringify([[...st.versions.keys()].sort(), [...st.replaced].sort(), [...(st.collected ?? [])].sort()]);
  differ(a.cloud, b.cloud, (v, w) => ids(v) === ids(w));
  return dirty;
}

/** Every version id the base holds for `path`: its heads, the version it showed, its conflict copies. */
function computeBaseIds(base: ReadonlyMap<SyncPath, BaseEntry>, path: SyncPath): Set<VersionId> {
  const ids = new Set<VersionId>();
  const b = base.get(path);
  if (b) {
    for (const h of b.heads) ids.add(h);
    if (b.version !== null) ids.add(b.version);
  }
  for (const row of base.values()) if (row.copyOf?.path === path) ids.add(row.copyOf.version);
  return ids;
}

function headIdsIn(cloud: Projection, p: SyncPath): VersionId[] {
  const st = cloud.get(p);
  return st ? computeHeads(st).map((h) => h.id) : [];
}

/**
 * The world's log: publishes `events` as `client`'s next segment (one seq, `seen` the frontier of
 * the other clients in `cloud`), journals each version with what its writer knew, folds them
 * into `cloud` and notes what each main file now derives from.
 */
function publishSegment(world: World, client: WorldClient, events: readonly Event[], cloud: Projection): void {
  if (events.length === 0) return;
  const seen: Record<string, number> = {};
  const folded = [...cloud.values()].flatMap((st) => [...st.versions.values()]);
  for (const [c, s] of computeFrontier(folded)) if (c !== client.id) seen[c] = s;
  client.seq += 1;
  const versions = events.map((e): VersionRecord => {
    if (e.type !== 'put' && e.type !== 'tombstone' && e.type !== 'resolve') throw new Error(`the executor published a ${e.type} event`);
    const content = e.type === 'tombstone' ? null : e.content;
    return {
      id: e.id,
      path: e.path,
      type: e.type,
      client: client.id,
      seq: client.seq,
      time: TIME,
      replaces: [...e.replaces],
      content,
      seen,
      snapshot: null,
    };
  });
  for (const version of versions) {
    const { path } = version;
    const entry = { baseIds: computeBaseIds(client.base, path), headsBefore: headIdsIn(cloud, path), derivedFrom: client.shows.get(path) };
    world.journal.push({ type: 'published', client: client.name, version, ...entry });
  }
  world.cloud.push(...versions);
  projectVersions(versions, cloud);
  for (const v of versions) {
    if (v.content === null) client.shows.delete(v.path);
    else client.shows.set(v.path, v.id);
  }
}

/** Journals an op the executor carried out and notes what the file there now derives from. */
function noteApplied(world: World, client: WorldClient, op: PlanOp): void {
  world.journal.push({ type: 'applied', client: client.name, op });
  switch (op.kind) {
    case 'download':
      client.shows.set(op.path, op.version.id);
      break;
    case 'deleteLocal':
    case 'removeCopy':
      client.shows.delete(op.path);
      break;
    case 'record':
      if (op.copyOf === undefined) client.shows.set(op.path, op.version);
      break;
    case 'forget':
      // (The base is still the one planned from: the executor commits after its last op.)
      if (client.base.get(op.path)?.copyOf === undefined) client.shows.delete(op.path);
      break;
    default:
      break; // publishing ops: noted at the publish; a conflict copy derives from nothing
  }
}

/**
 * Executes `plan` for `name` with the engine's `executePlan` against the client's ports: blobs
 * to the world's store, then one segment (`publishSegment`), then the local deletes and writes,
 * each guarded by its `expect`, then one manifest commit to the client's index. `cloud` must be
 * the projection the plan was made from; it gains the new versions. A guard that refuses skips
 * its op (journalled); any other skip (a missing blob, a file in the way) fails: the pure world
 * injects no fault, so only a wrong plan or executor can cause one.
 */
export async function executeRound(world: World, name: string, plan: Plan, cloud: Projection, stop?: RoundStop): Promise<void> {
  const client = mustClient(world, name);
  const gate = new SyncGate(null, null, () => undefined);
  if (stop === 'before-commit') gate.crashBefore = (what) => what === 'commitBatch';
  const handled = new Set<PlanOp>();
  const env: ExecuteEnv = {
    ctx: {
      store: new GatedStore(world.store, gate),
      tree: new GatedTree(client.tree, gate),
      index: new GatedIndex(client.index, gate),
      newId: world.newId,
      identity: { client: client.id },
      now: () => new Date(TIME),
      concurrency: 1, // one op at a time, in plan order: mtimes and inodes, so two runs of a script are identical
    },
    publish: async (events) => {
      publishSegment(world, client, events, cloud);
      if (stop === 'after-publish') gate.dead = true;
    },
    isBeingCollected: () => false,
    headIds: (p) => headIdsIn(cloud, p),
    tally: createTally(),
    applied: {
      push: (op) => {
        handled.add(op);
        noteApplied(world, client, op);
      },
    },
  };
  try {
    await executePlan(env, plan);
  } catch (e) {
    if (!(e instanceof CrashError) || stop === undefined) throw e;
  }
  for (const s of env.tally.skipped) {
    const op = plan.ops.find((o) => o.path === s.path && o.kind === s.op && !handled.has(o));
    if (op === undefined || s.code !== undefined)
      throw new Error(`${name}: ${s.op} ${s.path} failed: ${s.detail} (the plan or the executor is wrong)`);
    handled.add(op);
    world.journal.push({ type: 'skipped', client: name, op });
  }
}

/**
 * Where a round stops early, as a crash or a full disk stops a sync: right after its segment
 * is published (nothing written locally, nothing committed), or after its local writes and
 * deletes but before its manifest commit.
 */
export type RoundStop = 'after-publish' | 'before-commit';

/** Plans one round for `name` against the cloud now and executes it (up to `stop`). Returns the plan. */
export async function syncRound(world: World, name: string, stop?: RoundStop): Promise<Plan> {
  const cloud = project(world);
  const plan = planRound(world, name, cloud);
  await executeRound(world, name, plan, cloud, stop);
  return plan;
}

export interface SyncResult {
  /** Rounds that had ops (executed). */
  readonly rounds: number;
  /** Versions published by this sync. */
  readonly published: readonly VersionRecord[];
}

/** Rounds until a plan has no ops; throws when more than MAX_ROUNDS rounds would be needed. */
export async function sync(world: World, name: string): Promise<SyncResult> {
  const before = world.cloud.length;
  for (let rounds = 0; ; rounds++) {
    const plan = rounds < MAX_ROUNDS ? await syncRound(world, name) : planRound(world, name);
    if (plan.ops.length === 0) return { rounds, published: world.cloud.slice(before) };
    if (rounds >= MAX_ROUNDS) {
      throw new Error(
        `sync of ${name} did not settle in ${MAX_ROUNDS} rounds; still planned: ${plan.ops.map((o) => `${o.kind} ${o.path}`).join(', ')}`,
      );
    }
  }
}

/** A client's tree as path -> bytes, sorted by path. */
export function computeTree(world: World, name: string): Record<string, string> {
  const files = mustClient(world, name).tree.files;
  return Object.fromEntries([...files.keys()].sort().map((p) => [p, TEXT.decode(files.get(p)!.bytes)]));
}

/** Labels versions `v1`, `v2`, ... in publishing order, for readable goldens and messages. */
export function computeVersionLabels(world: World): (id: string) => string {
  const labels = new Map(world.cloud.map((v, i) => [v.id as string, `v${i + 1}`]));
  return (id) => labels.get(id) ?? `?${id.slice(-4)}`;
}

/** The bytes a version shows (undefined for a delete). */
export function computeVersionBytes(world: World, v: VersionRecord): string | undefined {
  if (v.content === null) return undefined;
  const pack = v.content.pack;
  const stored = world.store.objects.get(keyOfContent(v.content));
  const bytes = pack === undefined ? stored : stored?.subarray(pack.offset, pack.offset + pack.length);
  return bytes === undefined ? undefined : TEXT.decode(bytes);
}
