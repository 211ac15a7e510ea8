import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { unreachable } from '../../../src/errors.js';
import { counterIdFactory, type ClientId, type ContentHash, type IdFactory, type VersionId } from '../../../src/events/ids.js';
import type { SyncPath } from '../../../src/events/sync-path.js';
import { computeIgnoreMatcher } from '../../../src/local/ignore-rules.js';
import { computeFrontier, computeHeads, projectVersions, type PathState, type Projection } from '../../../src/projections/project-paths.js';
import type { VersionRecord } from '../../../src/projections/version-record.js';
import type { BaseEntry } from '../../../src/reconcile/ports.js';
import type { LocalFile, LocalScan } from '../../../src/reconcile/ports.js';
import {
  computeFocusTargets,
  isCloudOnly,
  isFocusPlannable,
  planSync,
  type Plan,
  type PlanInput,
  type PlanOp,
} from '../../../src/reconcile/plan-sync.js';
import { planByTable } from './plan-by-table.js';

/**
 * A pure in-memory world for reconcile tests: clients with a local tree and a base manifest,
 * one shared cloud (the list of published versions) and a blob store. `syncRound` plans with
 * the real `planSync` and executes the plan here, in the one place that states what an
 * executor must do with each op (src/reconcile/run-sync.ts does the same against real I/O).
 *
 * Deterministic: version ids come from a counter, mtime and inode from a per-world write
 * counter, so two runs of one script give byte-identical results (scenario goldens rely on it).
 * The tree is case-sensitive and keeps NFC and NFD names apart, like ext4.
 */

/** A file in a client's tree. `mtimeMs` and `ino` change on every write. */
export interface WorldFile {
  readonly bytes: string;
  readonly mode: number;
  readonly hash: string;
  readonly mtimeMs: number;
  readonly ino: number;
}

export interface WorldClient {
  readonly name: string;
  readonly id: ClientId;
  readonly tree: Map<string, WorldFile>;
  readonly base: Map<SyncPath, BaseEntry>;
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
  /** Content-addressed blob store: hash -> bytes. */
  readonly blobs: Map<string, string>;
  readonly newId: IdFactory;
  readonly journal: WorldEvent[];
  /** Counter behind mtime and inode numbers. */
  writes: number;
}

export const DEFAULT_MODE = 0o644;
/** A sync that still has ops after this many rounds fails (the real runSync stops there too). */
export const MAX_ROUNDS = 4;
const TIME = '2026-11-21T00:00:00.000Z';

export function computeBytesHash(bytes: string): string {
  return createHash('sha256').update(bytes, 'utf8').digest('hex');
}

/** A world with the named clients (client ids sort in the order given), no files, an empty cloud. */
export function createWorld(names: readonly string[]): World {
  const clientIds = counterIdFactory('01C');
  const clients = new Map<string, WorldClient>();
  for (const name of names) {
    clients.set(name, {
      name,
      id: clientIds() as ClientId,
      tree: new Map(),
      base: new Map(),
      seq: 0,
      ignoreRules: '',
      isIgnored: computeIgnoreMatcher(''),
      subscriptions: [],
      unreadable: [],
      shows: new Map(),
    });
  }
  return { clients, cloud: [], blobs: new Map(), newId: counterIdFactory(), journal: [], writes: 0 };
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

/** Why `path` cannot hold a file in `tree` (a file stands where a folder is needed, or the reverse). */
function computeClash(tree: ReadonlyMap<string, WorldFile>, path: string): string | undefined {
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) {
    const anc = parts.slice(0, i).join('/');
    if (tree.has(anc)) return `the file ${anc} stands where a folder is needed`;
  }
  for (const p of tree.keys()) if (p.startsWith(`${path}/`)) return `a folder stands at ${path}`;
  return undefined;
}

function putFile(world: World, client: WorldClient, path: string, bytes: string, mode: number): WorldFile {
  world.writes += 1;
  const file = { bytes, mode, hash: computeBytesHash(bytes), mtimeMs: 1_800_000_000_000 + world.writes, ino: world.writes };
  client.tree.set(path, file);
  return file;
}

/** A user writes a file. Returns false, writing nothing, where a file system would refuse (file/folder clash). */
export function writeUserFile(world: World, name: string, path: string, bytes: string, mode = DEFAULT_MODE): boolean {
  const client = mustClient(world, name);
  if (computeClash(client.tree, path) !== undefined) return false;
  putFile(world, client, path, bytes, mode);
  return true;
}

/** A user deletes a file. Returns false when there was none. */
export function deleteUserFile(world: World, name: string, path: string): boolean {
  return mustClient(world, name).tree.delete(path);
}

function toLocalFile(path: string, f: WorldFile): LocalFile {
  return { path: path as SyncPath, hash: f.hash, size: Buffer.byteLength(f.bytes, 'utf8'), mode: f.mode, mtimeMs: f.mtimeMs, ino: f.ino };
}

function isUnder(path: string, entry: string): boolean {
  return path === entry || path.startsWith(entry.endsWith('/') ? entry : `${entry}/`);
}

/** The local scan, as FsTree.scan reports it: ignored and unreadable files left out, folders listed. */
export function scan(world: World, name: string): LocalScan {
  const client = mustClient(world, name);
  const files = new Map<SyncPath, LocalFile>();
  const dirs = new Set<string>();
  for (const [path, f] of client.tree) {
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

function sameFile(a: LocalFile | undefined, b: LocalFile | null): boolean {
  if (a === undefined || b === null) return a === undefined && b === null;
  return a.hash === b.hash && a.mode === b.mode && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;
}

function baseRow(
  file: LocalFile,
  heads: readonly VersionId[],
  version: VersionId | null,
  copyOf?: { path: SyncPath; version: VersionId },
): BaseEntry {
  const row = {
    path: file.path,
    hash: file.hash,
    size: file.size,
    mode: file.mode,
    mtimeMs: file.mtimeMs,
    ino: file.ino,
    heads: [...heads],
    version,
  };
  return copyOf ? { ...row, copyOf } : row;
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

/**
 * Executes `plan` for `name` exactly as the real executor must (run-sync.ts):
 * - upload / tombstone / resolve publish one version each, all in one segment (one seq) whose
 *   `seen` is the frontier of the other clients in `cloud`; an upload or kept resolve whose
 *   file changed since the scan is skipped. Base: upload and kept resolve record the file with
 *   the heads after folding the new versions and the new id; tombstone and deleting resolve forget.
 * - local deletes and removals go first, then writes (a displaced file before its folder's files);
 * - download writes the version if the file still is `expect` (null: absent) and records the
 *   new file with the current heads; writeCopy does the same where nothing stands, with
 *   `copyOf` and heads [version]; deleteLocal / removeCopy remove the file if it still is
 *   `expect` and forget it. A guard that fails skips the op and leaves its base row alone.
 * - record writes the base row as given; forget drops it.
 * Base changes are committed together at the end; a path both forgotten and recorded keeps the record.
 * `cloud` must be the projection the plan was made from; it gains the new versions.
 */
export function executeRound(world: World, name: string, plan: Plan, cloud: Projection, stop?: RoundStop): void {
  const client = mustClient(world, name);
  const put = new Map<SyncPath, BaseEntry>();
  const del = new Set<SyncPath>();
  const current = (p: string): LocalFile | undefined => {
    const f = client.tree.get(p);
    return f === undefined ? undefined : toLocalFile(p, f);
  };
  const headIds = (p: SyncPath): VersionId[] => {
    const st = cloud.get(p);
    return st ? computeHeads(st).map((h) => h.id) : [];
  };
  const note = (type: 'applied' | 'skipped', op: PlanOp) => world.journal.push({ type, client: name, op });

  // Publish: one segment for the round.
  const seen: Record<string, number> = {};
  const folded = [...cloud.values()].flatMap((st) => [...st.versions.values()]);
  for (const [c, s] of computeFrontier(folded)) if (c !== client.id) seen[c] = s;
  const published: { op: PlanOp & { kind: 'upload' | 'tombstone' | 'resolve' }; version: VersionRecord }[] = [];
  for (const op of plan.ops) {
    if (op.kind !== 'upload' && op.kind !== 'tombstone' && op.kind !== 'resolve') continue;
    const file = op.kind === 'tombstone' ? null : op.file;
    if (file !== null) {
      const now = current(op.path);
      if (now === undefined || now.hash !== file.hash || now.mode !== file.mode) {
        note('skipped', op);
        continue;
      }
      world.blobs.set(file.hash, client.tree.get(op.path)!.bytes);
    }
    const version: VersionRecord = {
      id: world.newId() as VersionId,
      path: op.path,
      type: op.kind === 'upload' ? 'put' : op.kind,
      client: client.id,
      seq: client.seq + 1,
      time: TIME,
      replaces: [...op.replaces],
      content: file === null ? null : { hash: file.hash as ContentHash, size: file.size, mode: file.mode },
      seen,
      snapshot: null,
    };
    published.push({ op, version });
  }
  if (published.length > 0) {
    client.seq += 1;
    for (const { op, version } of published) {
      const baseIds = computeBaseIds(client.base, op.path);
      world.journal.push({
        type: 'published',
        client: name,
        version,
        baseIds,
        headsBefore: headIds(op.path),
        derivedFrom: client.shows.get(op.path),
      });
    }
    for (const { version } of published) world.cloud.push(version);
    projectVersions(
      published.map((p) => p.version),
      cloud,
    );
  }
  for (const { op, version } of published) {
    note('applied', op);
    const file = op.kind === 'tombstone' ? null : op.file;
    if (file === null) {
      del.add(op.path);
      client.shows.delete(op.path);
    } else {
      put.set(op.path, baseRow(file, headIds(op.path), version.id));
      client.shows.set(op.path, version.id);
    }
  }
  if (stop === 'after-publish') return;

  // Local deletes, then writes (a file a folder displaces goes before the folder's files come), each guarded.
  const removal = (op: PlanOp) => op.kind === 'deleteLocal' || op.kind === 'removeCopy';
  for (const op of [...plan.ops.filter(removal), ...plan.ops.filter((o) => !removal(o))]) {
    switch (op.kind) {
      case 'download':
      case 'writeCopy': {
        const expect = op.kind === 'download' ? op.expect : null;
        if (!sameFile(current(op.path), expect)) {
          note('skipped', op);
          break;
        }
        const content = op.version.content;
        if (content === null) throw new Error(`${op.kind} ${op.path}: version ${op.version.id} has no content`);
        const bytes = world.blobs.get(content.hash);
        if (bytes === undefined) throw new Error(`${op.kind} ${op.path}: blob ${content.hash} missing`);
        if (expect === null) {
          const clash = computeClash(client.tree, op.path);
          if (clash !== undefined)
            throw new Error(`${name}: ${op.kind} ${op.path} cannot be written: ${clash} (the planner must not plan it)`);
        }
        const written = toLocalFile(op.path, putFile(world, client, op.path, bytes, content.mode));
        put.set(
          op.path,
          op.kind === 'download'
            ? baseRow(written, headIds(op.path), op.version.id)
            : baseRow(written, [op.version.id], op.version.id, { path: op.of, version: op.version.id }),
        );
        if (op.kind === 'download') client.shows.set(op.path, op.version.id);
        note('applied', op);
        break;
      }
      case 'deleteLocal':
      case 'removeCopy':
        if (!sameFile(current(op.path), op.expect)) {
          note('skipped', op);
          break;
        }
        client.tree.delete(op.path);
        del.add(op.path);
        client.shows.delete(op.path);
        note('applied', op);
        break;
      case 'record':
        put.set(op.path, baseRow(op.file, op.heads, op.version, op.copyOf ? { path: op.copyOf, version: op.version } : undefined));
        if (op.copyOf === undefined) client.shows.set(op.path, op.version);
        note('applied', op);
        break;
      case 'forget':
        if (client.base.get(op.path)?.copyOf === undefined) client.shows.delete(op.path);
        del.add(op.path);
        note('applied', op);
        break;
      case 'upload':
      case 'tombstone':
      case 'resolve':
        break;
      case 'merge':
        // The world plans without the merge stage (no `merges` input), so the table never merges here.
        throw new Error(`${name}: merge ${op.path} planned in the in-memory world, which has no merge stage`);
      default:
        unreachable(op);
    }
  }

  // A sync stopped here (a crash, a full disk) leaves the manifest as it was.
  if (stop === 'before-commit') return;
  for (const p of del) if (!put.has(p)) client.base.delete(p);
  for (const [p, row] of put) client.base.set(p, row);
}

/**
 * Where a round stops early, as a crash or a full disk stops a sync: right after its segment
 * is published (nothing written locally, nothing committed), or after its local writes and
 * deletes but before its manifest commit.
 */
export type RoundStop = 'after-publish' | 'before-commit';

/** Plans one round for `name` against the cloud now and executes it (up to `stop`). Returns the plan. */
export function syncRound(world: World, name: string, stop?: RoundStop): Plan {
  const cloud = project(world);
  const plan = planRound(world, name, cloud);
  executeRound(world, name, plan, cloud, stop);
  return plan;
}

export interface SyncResult {
  /** Rounds that had ops (executed). */
  readonly rounds: number;
  /** Versions published by this sync. */
  readonly published: readonly VersionRecord[];
}

/** Rounds until a plan has no ops; throws when more than MAX_ROUNDS rounds would be needed. */
export function sync(world: World, name: string): SyncResult {
  const before = world.cloud.length;
  for (let rounds = 0; ; rounds++) {
    const plan = rounds < MAX_ROUNDS ? syncRound(world, name) : planRound(world, name);
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
  const tree = mustClient(world, name).tree;
  return Object.fromEntries([...tree.keys()].sort().map((p) => [p, tree.get(p)!.bytes]));
}

/** Labels versions `v1`, `v2`, ... in publishing order, for readable goldens and messages. */
export function computeVersionLabels(world: World): (id: string) => string {
  const labels = new Map(world.cloud.map((v, i) => [v.id as string, `v${i + 1}`]));
  return (id) => labels.get(id) ?? `?${id.slice(-4)}`;
}

/** The bytes a version shows (undefined for a delete). */
export function computeVersionBytes(world: World, v: VersionRecord): string | undefined {
  return v.content === null ? undefined : world.blobs.get(v.content.hash);
}
