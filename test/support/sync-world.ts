import { createHash } from 'node:crypto';
import { describeUnexpectedError } from './describe-error.js';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { ErrorCode, isBmError } from '../../src/errors.js';
import { decodeTrustedSegment } from '../../src/events/codec.js';
import { ulidFactory, type ClientId, type IdFactory, type VaultId } from '../../src/events/ids.js';
import { keyOfContent, readContent } from '../../src/events/packs.js';
import { writeIdentity, writeVaultIfAbsent } from '../../src/events/log.js';
import type { SegmentBody } from '../../src/events/schema.js';
import { generateKeyPair, type KeyPair } from '../../src/events/signing.js';
import { listAll, type ObjectStore } from '../../src/events/store/object-store.js';
import { FsTree } from '../../src/local/fs-tree.js';
import { readIgnoreMatcher } from '../../src/local/ignore-rules.js';
import { LocalIndex } from '../../src/local/local-index.js';
import { computeSegmentVersions, projectVersions, type Projection } from '../../src/projections/project-paths.js';
import { isConflictCopyName } from '../../src/reconcile/conflict-copy-name.js';
import { runSync, type SyncReport } from '../../src/reconcile/run-sync.js';
import { computeShownHeads } from './expected-tree.js';
import {
  CLIENT_NAMES,
  CrashError,
  describeReport,
  GatedIndex,
  GatedStore,
  GatedTree,
  isCopyOf,
  SyncGate,
  type ProtectedContent,
} from './test-world.js';
import type { SyncContext } from '../../src/reconcile/sync-context.js';

/**
 * A multi-client sync world on real parts, for the reliability tests and the soak (not used
 * by bm-log itself): each client has a real folder (FsTree), a real LevelDB index, its own
 * Ed25519 key and its own ObjectStore (typically an S3Store behind the fault proxy). Users
 * edit between syncs; syncs of several clients run concurrently; a sync may be crashed at a
 * random port call (every later call of that sync fails, as if the process had been killed).
 *
 * The user model keeps convergence decidable: files among a small pool of paths (no
 * file/folder clashes, no case twins), writes in place or by atomic replace, deletes, moves,
 * and conflicts resolved by deleting every copy of a path at once. Conflict copies are never
 * edited (that is by design never synced).
 *
 * `check()` reads the remote through a fault-free `auditStore` and returns every broken
 * invariant: an event naming a missing blob, trees that differ from the cloud projection
 * (winners at their paths, other heads as conflict copies), and content lost (a version some
 * completed sync read from a tree that is neither in a tree nor in the cloud history).
 */
export const WORLD_PATHS = ['a.md', 'b.txt', 'notes/c.md', 'notes/d.md', 'notes/deep/e.txt', 'x/y.bin'] as const;
const NAMES = CLIENT_NAMES;
/** A crash lands on a port call in 1..this (later than the sync's last call: no crash). */
const CRASH_WINDOW = 40;

export interface WorldClient {
  readonly name: string;
  readonly id: ClientId;
  readonly root: string;
  readonly keys: KeyPair;
  readonly index: LocalIndex;
  readonly tree: FsTree;
  readonly store: ObjectStore;
  readonly isIgnored: (p: string) => boolean;
  readonly newId: IdFactory;
  /** The user confirmed a safety-guard stop: the next sync runs with force. */
  forceNext: boolean;
}

export interface SyncWorldOptions {
  /** Folder that holds the client folders (created if missing). */
  readonly base: string;
  readonly clients: number;
  /** Seeded source for edits, sync choices and crash points. */
  readonly random: () => number;
  /** The store a client syncs through (e.g. an S3Store pointed at the fault proxy). */
  readonly openStore: () => ObjectStore;
  /** The same remote without faults, for setup and the invariants. */
  readonly auditStore: ObjectStore;
  /** Probability that a sync is crashed at a random port call. Default 0. */
  readonly crashRate?: number;
  /** Small files go into packs (ADR-0022), as the CLI does. Default false. */
  readonly packs?: boolean;
  readonly log?: (line: string) => void;
}

export interface WorldStats {
  edits: number;
  syncs: number;
  completed: number;
  crashes: number;
  /** Syncs that failed with a retryable error (by code) and were retried later. */
  retried: Record<string, number>;
  guardStops: number;
  /** Distinct open conflicts (path and heads) reported by completed syncs. */
  conflicts: number;
  eventsPublished: number;
  /** Operations a completed sync skipped (left for the next one). */
  skipped: number;
  /** Integrity faults reported by completed syncs (network faults must never cause one). */
  integrityFaults: number;
}

export interface WorldCheck {
  readonly segments: number;
  readonly blobs: number;
  /** Protected versions that are nowhere any more (must be 0). */
  readonly lost: number;
  readonly converged: boolean;
  /** Every broken invariant, readable. */
  readonly problems: readonly string[];
}

export type SyncOutcome = { readonly kind: 'ok'; readonly report: SyncReport } | { readonly kind: 'failed'; readonly why: string };

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Every regular file below `root` except `.bm-log`: relative path -> sha256. */
export async function readTreeHashes(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    const abs = rel === '' ? root : path.join(root, ...rel.split('/'));
    for (const ent of await fs.readdir(abs, { withFileTypes: true })) {
      const p = rel === '' ? ent.name : `${rel}/${ent.name}`;
      if (rel === '' && ent.name === '.bm-log') continue;
      if (ent.isDirectory()) await walk(p);
      else if (ent.isFile()) out.set(p, sha256(await fs.readFile(path.join(abs, ent.name))));
    }
  };
  await walk('');
  return out;
}

/** Content a user had at a path when a sync that completed read it (`step`: the sync's number). */
type Protected = ProtectedContent;

export class SyncWorld {
  readonly clients: WorldClient[] = [];
  readonly stats: WorldStats = {
    edits: 0,
    syncs: 0,
    completed: 0,
    crashes: 0,
    retried: {},
    guardStops: 0,
    conflicts: 0,
    eventsPublished: 0,
    skipped: 0,
    integrityFaults: 0,
  };
  /** Set while the caller injects network faults: only then may a sync fail as retryable. */
  faultsOn = true;
  private readonly protectedContent: Protected[] = [];
  private readonly conflictKeys = new Set<string>();
  private readonly segments = new Map<string, SegmentBody>();
  private readonly blobsSeen = new Set<string>();
  private counter = 0;
  private vault = '' as VaultId;

  private constructor(private readonly options: SyncWorldOptions) {}

  /** Creates the vault and the clients (folders, keys, published identities, indexes). */
  static async create(options: SyncWorldOptions): Promise<SyncWorld> {
    const w = new SyncWorld(options);
    const newId = ulidFactory();
    w.vault = await writeVaultIfAbsent(options.auditStore, newId, () => new Date());
    for (let i = 0; i < options.clients; i++) {
      const name = `${NAMES[i % NAMES.length]}${i >= NAMES.length ? i : ''}`;
      const root = path.join(options.base, name);
      await fs.mkdir(root, { recursive: true });
      const keys = generateKeyPair();
      const id = newId() as ClientId;
      await writeIdentity(
        options.auditStore,
        { v: 1, vault: w.vault, client: id, name, publicKey: keys.publicKeyHex, time: new Date().toISOString() },
        keys,
      );
      const index = await LocalIndex.open(root);
      await index.pinKeys([{ client: id, publicKey: keys.publicKeyHex, name }]);
      w.clients.push({
        name,
        id,
        root,
        keys,
        index,
        tree: new FsTree(root),
        store: options.openStore(),
        isIgnored: await readIgnoreMatcher(root),
        newId: ulidFactory(),
        forceNext: false,
      });
    }
    return w;
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  private pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[Math.floor(this.options.random() * items.length)];
  }

  private chance(p: number): boolean {
    return this.options.random() < p;
  }

  private newContent(c: WorldClient): string {
    const r = this.options.random();
    if (r < 0.05) return '';
    if (r < 0.25) return `shared-${Math.floor(this.options.random() * 3)}\n`;
    return `${c.name} ${++this.counter} ${'x'.repeat(Math.floor(this.options.random() * 40))}\n`;
  }

  /** One random user action on `c`'s folder. Returns a description. */
  async edit(c: WorldClient): Promise<string> {
    this.stats.edits++;
    const files = await readTreeHashes(c.root);
    const main = [...files.keys()].filter((p) => !isConflictCopyName(p));
    const withCopies = WORLD_PATHS.filter((p) => [...files.keys()].some((f) => isCopyOf(f, p)));
    const abs = (p: string) => path.join(c.root, ...p.split('/'));
    const r = this.options.random();
    if (r < 0.15 && withCopies.length > 0) {
      const p = this.pick(withCopies)!;
      const copies = [...files.keys()].filter((f) => isCopyOf(f, p));
      for (const cp of copies) await fs.rm(abs(cp));
      return `${c.name}: resolve ${p} by deleting ${copies.length} cop${copies.length === 1 ? 'y' : 'ies'}`;
    }
    if (r < 0.3 && main.length > 0) {
      const p = this.pick(main)!;
      await fs.rm(abs(p));
      return `${c.name}: delete ${p}`;
    }
    if (r < 0.4 && main.length > 0) {
      const from = this.pick(main)!;
      const to = this.pick(WORLD_PATHS.filter((p) => p !== from))!;
      await fs.mkdir(path.dirname(abs(to)), { recursive: true });
      await fs.rename(abs(from), abs(to));
      return `${c.name}: move ${from} -> ${to}`;
    }
    const p = this.pick(WORLD_PATHS)!;
    const text = this.newContent(c);
    await fs.mkdir(path.dirname(abs(p)), { recursive: true });
    if (this.chance(0.5)) {
      await fs.writeFile(abs(p), text);
      return `${c.name}: write ${p} in place`;
    }
    const tmp = `${abs(p)}.swp`;
    await fs.writeFile(tmp, text);
    await fs.rename(tmp, abs(p));
    return `${c.name}: write ${p} by replace`;
  }

  /** One random step: 0-2 user edits on random clients, then a random non-empty set of clients syncs concurrently. */
  async randomStep(): Promise<void> {
    const edits = Math.floor(this.options.random() * 3);
    for (let i = 0; i < edits; i++) this.log(await this.edit(this.pick(this.clients)!));
    const who = this.clients.filter(() => this.chance(0.5));
    await this.sync(who.length > 0 ? who : [this.pick(this.clients)!]);
  }

  /** After quiescence: one more sync of each client must plan and publish nothing. Returns what did not. */
  async checkIdle(): Promise<string[]> {
    const problems: string[] = [];
    for (const c of this.clients) {
      const [out] = await this.sync([c], { crash: false });
      if (out!.kind !== 'ok') problems.push(`${c.name}'s sync after quiescence failed: ${out!.why}`);
      else if (out!.report.eventsPublished > 0 || out!.report.plan.ops.some((o) => o.kind !== 'record'))
        problems.push(`${c.name}'s sync after quiescence still did something: ${describeReport(out!.report)}`);
    }
    return problems;
  }

  /** Syncs `clients` concurrently; each may crash (crashRate) and may fail retryably. */
  async sync(clients: readonly WorldClient[], options: { crash?: boolean } = {}): Promise<SyncOutcome[]> {
    return Promise.all(clients.map((c) => this.syncOne(c, options.crash !== false && this.chance(this.options.crashRate ?? 0))));
  }

  private async syncOne(c: WorldClient, crash: boolean): Promise<SyncOutcome> {
    this.stats.syncs++;
    const n = this.stats.syncs;
    const before = await readTreeHashes(c.root);
    const gate = new SyncGate(crash ? 1 + Math.floor(this.options.random() * CRASH_WINDOW) : null, null, () => undefined);
    const ctx: SyncContext = {
      store: new GatedStore(c.store, gate),
      index: new GatedIndex(c.index, gate),
      tree: new GatedTree(c.tree, gate),
      identity: { client: c.id, vault: this.vault, name: c.name, keys: c.keys },
      subscriptions: [],
      isIgnored: c.isIgnored,
      scopeKey: 'sync-world', // each client's rules are fixed for its life
      joinFromCheckpoint: false, // as before the index exposed its meta here: whole-history clients
      now: () => new Date(),
      newId: c.newId,
      concurrency: 4,
      ...(this.options.packs === true ? { packs: true } : {}),
    };
    const force = c.forceNext;
    let outcome: SyncOutcome;
    try {
      const report = await runSync(ctx, force ? { force: true } : {});
      outcome = { kind: 'ok', report };
    } catch (e) {
      outcome = { kind: 'failed', why: this.classify(c, e) };
    } finally {
      gate.dead = true;
    }
    if (outcome.kind === 'failed' && gate.counts.calls > 0) await new Promise((r) => setTimeout(r, 20)); // let the killed sync's in-flight calls settle
    if (outcome.kind === 'ok') this.afterCompleted(c, outcome.report, before, n);
    this.log(`sync ${n} ${c.name}${force ? ' (force)' : ''}: ${outcome.kind === 'ok' ? describeReport(outcome.report) : outcome.why}`);
    return outcome;
  }

  /** Why a sync stopped; throws for a stop that is not an expected one. */
  private classify(c: WorldClient, e: unknown): string {
    if (e instanceof CrashError) {
      this.stats.crashes++;
      return `crashed (${e.message})`;
    }
    const retry = (code: string, why: string) => {
      this.stats.retried[code] = (this.stats.retried[code] ?? 0) + 1;
      return `${why}, retried later`;
    };
    if (isBmError(e, ErrorCode.remoteUnavailable) && this.faultsOn) return retry(e.code, `remote failure (${e.message})`);
    // A listing cut short can hide this client's own last segment (published by a sync whose
    // acknowledgement was lost or that crashed before recording it): publishing the next one
    // then meets it and is refused; the next sync fetches it.
    if (isBmError(e, ErrorCode.equivocation) && this.faultsOn)
      return retry(e.code, `own segment hidden by a faulty listing (${e.message})`);
    if (isBmError(e, ErrorCode.safetyGuard)) {
      this.stats.guardStops++;
      c.forceNext = true;
      return `stopped by the safety guard (${e.message}); the user confirms with force`;
    }
    const detail = describeUnexpectedError(e);
    throw new Error(`${c.name}'s sync failed unexpectedly: ${detail}`);
  }

  private afterCompleted(c: WorldClient, report: SyncReport, before: ReadonlyMap<string, string>, n: number): void {
    this.stats.completed++;
    c.forceNext = false;
    this.stats.eventsPublished += report.eventsPublished;
    this.stats.skipped += report.skipped.length;
    this.stats.integrityFaults += report.faults.length;
    for (const f of report.faults) this.log(`  INTEGRITY FAULT ${f.key}: ${f.error.code} ${f.error.message}`);
    for (const note of report.conflicts)
      if (note.heads.length > 1)
        this.conflictKeys.add(
          `${note.path} ${note.heads
            .map((h) => h.id)
            .sort()
            .join(',')}`,
        );
    this.stats.conflicts = this.conflictKeys.size;
    // What the sync read is protected, unless it said it skipped it or could not read it.
    const passed = new Set([...report.skipped.map((s) => s.path), ...report.notices.map((x) => x.path)]);
    for (const [p, hash] of before)
      if (!isConflictCopyName(p) && !passed.has(p)) this.protectedContent.push({ client: c.name, path: p, hash, step: n });
  }

  /** Syncs every client in turn until two rounds change nothing. Returns the rounds used. */
  async quiesce(maxRounds = 10): Promise<number> {
    let quiet = 0;
    for (let round = 1; round <= maxRounds; round++) {
      let active = false;
      for (const c of this.clients) {
        const [out] = await this.sync([c], { crash: false });
        active ||=
          out!.kind === 'failed' ||
          out!.report.eventsPublished > 0 ||
          out!.report.applied.some((o) => o.kind !== 'record') ||
          out!.report.skipped.length > 0;
      }
      quiet = active ? 0 : quiet + 1;
      if (quiet === 2) return round;
    }
    return maxRounds;
  }

  /** Reads every segment and named blob through the audit store; returns broken invariants. */
  async check(): Promise<WorldCheck> {
    const problems: string[] = [];
    const audit = this.options.auditStore;
    for (const o of await listAll(audit, 'log/')) {
      if (this.segments.has(o.key)) continue;
      const bytes = await audit.get(o.key);
      if (bytes === undefined) continue;
      this.segments.set(o.key, decodeTrustedSegment(bytes));
    }
    const projection: Projection = new Map();
    for (const [key, body] of this.segments) {
      projectVersions(computeSegmentVersions(body), projection);
      for (const e of body.events) {
        if (e.type !== 'put' && e.type !== 'resolve') continue; // tombstones, retire and gc name no blob
        if (e.content === null || (e.content.pack === undefined && this.blobsSeen.has(e.content.hash))) continue;
        // A blob is streamed here; a pack entry (ADR-0022) is read and hash-checked by readContent.
        let stream: AsyncIterable<Uint8Array>;
        try {
          stream = await readContent(audit, e.content);
        } catch (err) {
          if (!isBmError(err, ErrorCode.blobMissing, ErrorCode.blobCorrupt)) throw err;
          problems.push(`event ${e.id} in ${key} (${e.path}) names ${keyOfContent(e.content)}: ${err.message}`);
          continue;
        }
        const h = createHash('sha256');
        for await (const chunk of stream) h.update(chunk);
        if (h.digest('hex') !== e.content.hash) problems.push(`blob ${e.content.hash} does not hold its bytes`);
        else this.blobsSeen.add(e.content.hash);
      }
    }

    // Convergence: every tree is what the projection says.
    const names = new Map(this.clients.map((c) => [c.id as string, c.name]));
    const shown = computeShownHeads(projection, (id) => names.get(id) ?? id.slice(-6));
    const expected = new Map([...shown].map(([p, h]) => [p, h.content!.hash as string]));
    const historyByPath = new Map<string, Set<string>>();
    for (const [p, st] of projection) {
      for (const v of st.versions.values())
        if (v.content && this.blobsSeen.has(v.content.hash)) historyByPath.set(p, (historyByPath.get(p) ?? new Set()).add(v.content.hash));
    }
    const trees = new Map<string, Map<string, string>>();
    let converged = true;
    for (const c of this.clients) {
      const actual = await readTreeHashes(c.root);
      trees.set(c.name, actual);
      const diff: string[] = [];
      for (const [p, want] of expected)
        if (actual.get(p) !== want) diff.push(`${p}: want ${want.slice(0, 8)}, have ${actual.get(p)?.slice(0, 8) ?? 'nothing'}`);
      for (const [p, have] of actual) if (!expected.has(p)) diff.push(`${p}: want nothing, have ${have.slice(0, 8)}`);
      if (diff.length > 0) {
        converged = false;
        problems.push(`${c.name}'s tree differs from the cloud projection:\n  ${diff.join('\n  ')}`);
      }
    }

    // Nothing lost: every protected version is in the history (with its blob) or in a tree.
    let lost = 0;
    const reported = new Set<string>();
    for (const pr of this.protectedContent) {
      if (historyByPath.get(pr.path)?.has(pr.hash)) continue;
      const inTree = [...trees.values()].some((t) => [...t].some(([p, h]) => h === pr.hash && (p === pr.path || isCopyOf(p, pr.path))));
      if (inTree) continue;
      const key = `${pr.path} ${pr.hash}`;
      if (reported.has(key)) continue;
      reported.add(key);
      lost++;
      problems.push(
        `lost: ${pr.client} had ${pr.path} = ${pr.hash.slice(0, 12)} when sync ${pr.step} read it; it is in no tree and not in the cloud history`,
      );
    }
    return { segments: this.segments.size, blobs: this.blobsSeen.size, lost, converged, problems };
  }

  async close(): Promise<void> {
    for (const c of this.clients) {
      await c.store.close();
      await c.index.close();
    }
  }
}
