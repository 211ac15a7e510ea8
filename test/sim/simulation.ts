import { isDeepStrictEqual } from 'node:util';
import { describeUnexpectedError } from '../support/describe-error.js';
import { ErrorCode, isBmError } from '../../src/errors.js';
import { decodeMsgpack, decodeTrustedSegment } from '../../src/events/codec.js';
import { keyOfIdentity, PACKS_PREFIX, parseSegmentKey } from '../../src/events/layout.js';
import { keyOfContent } from '../../src/events/packs.js';
import type { VersionId } from '../../src/events/ids.js';
import type { ContentRef, PutEvent, SegmentBody } from '../../src/events/schema.js';
import { sha256Hex } from '../../src/events/signing.js';
import { computeMerge, type MergeHead } from '../../src/merge/compute-merge.js';
import type { MergeAlgo } from '../../src/merge/merge-policy.js';
import { computeText } from '../../src/merge/text-content.js';
import { MemoryStore, type MemoryFaults } from '../../src/events/store/memory-store.js';
import { bytesEqual, type Body } from '../../src/events/store/object-store.js';
import { isSyncPath, type SyncPath } from '../../src/events/sync-path.js';
import type { MemoryTree } from '../support/memory-tree.js';
import { computePathKey, FS_SEMANTICS } from '../support/name-semantics.js';
import { computeSegmentVersions, projectVersions, type Projection } from '../../src/projections/project-paths.js';
import { computeConflictCopyOwner, isConflictCopyName } from '../../src/reconcile/conflict-copy-name.js';
import {
  computeFocusTargets,
  ConflictKind,
  planSync,
  type ConflictNote,
  type Plan,
  type PlanInput,
} from '../../src/reconcile/plan-sync.js';
import { readLogState } from '../../src/reconcile/sync-log.js';
import type { BaseEntry } from '../../src/reconcile/ports.js';
import type { LocalFile } from '../../src/reconcile/ports.js';
import type { LocalTree, ScanBase, ScanResult } from '../../src/reconcile/ports.js';
import type { Chunks } from '../../src/events/store/lent-chunks.js';
import { runSync, type ResolveRequest, type SyncReport } from '../../src/reconcile/run-sync.js';
import { executeGc } from '../../src/gc/execute-gc.js';
import { executeSetMergePolicy, type MergePolicyChange } from '../../src/client/vault-config.js';
import { computeVaultMergePolicy } from '../../src/reconcile/sync/merge-stage.js';
import { computeBlobViolations } from '../gc/support/race-world.js';
import { CrashError, GatedIndex, GatedStore, GatedTree, SyncGate } from '../support/gated-ports.js';
import { MemorySnapshots } from '../support/memory-snapshots.js';
import { computeShownHeads } from '../support/expected-tree.js';
import { chance, mulberry32, pick, pickWeighted, randomInt, type Rng } from './prng.js';
import {
  CLIENT_NAMES,
  createClock,
  createSimClient,
  describeReport,
  isCopyOf,
  syncContextOf,
  type ProtectedContent,
  type SimClient,
} from '../support/test-world.js';
import { forgeCheckpoint, SIM_CHECKPOINT_EVERY } from './sim-checkpoints.js';

/**
 * A deterministic multi-client simulation of the real sync engine (`runSync`) on in-memory
 * parts: N clients, each with its own MemoryTree, MemoryIndex, key pair and counter id
 * factory, share one MemoryStore. One seed drives everything (user edits, which client
 * syncs, store faults, crashes, edits racing a sync), so a seed replays exactly.
 *
 * The user model: users write, delete, rename and chmod files among a small pool of paths
 * (so clients collide), and resolve conflicts either by deleting all conflict copies of a
 * path at once or with `bm-log resolve`. Users never edit a conflict copy nor delete only
 * some copies of a path: by design those changes are not synced (the copy stays apart on
 * that one client), so they could not converge. The pool has no file/folder clashes for
 * the same reason.
 */

export const SIM_PATHS = ['a.txt', 'b.md', 'notes/c.txt', 'notes/d.txt', 'notes/deep/e.txt', 'x/y/z.bin'] as const;
/**
 * With `fs`: other spellings of pool names (case, and café in NFC and NFD), so that clients
 * on case- and normalisation-insensitive volumes meet names their volume takes for one.
 */
export const SIM_FS_PATHS = ['A.txt', 'Notes/C.txt', 'caf\u00e9.md', 'cafe\u0301.md'] as const;
const SIM_FOLDERS = ['notes', 'notes/deep', 'x', 'x/y'] as const;
const NAMES = CLIENT_NAMES;
const ID_LETTERS = 'ABCDEFGH';
const QUIESCENCE_MAX_ROUNDS = 10;
/** Share of steps in which an object vanishes from the store (ADR-0015). */
const VANISH_RATE = 0.04;
/**
 * A crash or a racing edit is scheduled at a port call in 1..(the client's last sync's
 * call count + this slack); a point past the end of a shorter sync means none happens.
 */
const CALL_SLACK = 6;
/** How often a step is a config event (ADR-0037), and the policy changes it draws from. */
const CONFIG_RATE = 0.04;
const SIM_POLICY_CHANGES: readonly MergePolicyChange[] = [
  { enabled: false },
  { reset: true, patterns: ['*.txt'] },
  { reset: true, maxBytes: 16 },
  { reset: true },
];

export interface ScenarioOptions {
  readonly clients?: number;
  /** Random steps before quiescence (default: 20..40 drawn from the seed). */
  readonly steps?: number;
  /**
   * Garbage collection runs among the steps (ADR-0007): a random client runs `executeGc`
   * (retention 0, grace 0: steps never overlap, so no writer is in flight), crashable like a
   * sync. Blobs may then go: the blob check becomes "no version a client may still need
   * names a missing blob", and content a GC collected counts as history.
   */
  readonly gc?: boolean;
  /**
   * Clients on macOS and Windows volumes (ADR-0017): each client's tree gets a name semantics
   * drawn from the seed (posix, apfs, hfs, ntfs; name-semantics.ts) and the pool adds
   * SIM_FS_PATHS. A client on an insensitive volume cannot hold twins (names its volume takes
   * for one): it must hold one of them, and its syncs may keep skipping the others.
   */
  readonly fs?: boolean;
  /**
   * Checkpoints (ADR-0014): clients checkpoint their own logs every few events, new clients
   * join from the checkpoints mid-scenario, and now and then a client signs a checkpoint with
   * a false claim about another writer's live version (`forgeCheckpoint`). Every client must
   * still converge on the log. Not with `gc` (a client that joined cannot run GC).
   */
  readonly checkpoints?: boolean;
  /**
   * Small contents go into packs (ADR-0022), as the CLI syncs. Default: on for odd seeds, so
   * half the scenarios prove the blob rules and half the pack ones (faults, crashes and racing
   * edits land while packs are written too), and a seed replays the same either way.
   */
  readonly packs?: boolean;
  /**
   * The store takes bucket snapshots (ADR-0034, `MemorySnapshots`): syncs take baselines, and
   * vanished keys and segments may come back from them. Default: on for seeds divisible by 3
   * (no generator draw, as for `packs`).
   */
  readonly snapshots?: boolean;
}

export interface ScenarioStats {
  steps: number;
  syncs: number;
  completedSyncs: number;
  crashes: number;
  /** Syncs that ran with store faults switched on. */
  faultSyncs: number;
  /** Store calls that failed by injection, and listings cut short. */
  injectedErrors: number;
  truncatedLists: number;
  /** Syncs that ended on remote-unavailable (or equivocation after a faulty listing) and were retried later. */
  remoteFailures: number;
  unreadableMarks: number;
  /** User edits racing a sync. */
  racingEdits: number;
  guardStops: number;
  resolves: number;
  /** Distinct open conflicts (path and set of heads) that syncs reported. */
  conflicts: number;
  quiescenceRounds: number;
  /** Scenarios with bucket snapshots on, and snapshots their syncs took. */
  snapshotScenarios: number;
  snapshotsTaken: number;
  /** Scenarios with packs on, pack puts tried, and of those the ones tried with store faults on (they may fail). */
  packScenarios: number;
  packsWritten: number;
  packsInFaultSyncs: number;
  /** Config events published (ADR-0037): the merge policy changed mid-scenario. */
  configs: number;
  /** With `gc`: completed GC runs, blobs they deleted, paths they collected. */
  gcRuns: number;
  blobsCollected: number;
  pathsCollected: number;
  /** Syncs that took the clean-state shortcut (ADR-0008), each checked against a full plan. */
  cleanSyncs: number;
  /** Plans made focused (ADR-0009), each checked against a full plan. */
  focusedPlans: number;
  /** Of those, plans of a lazy sync (partial state read from the index), checked against the whole index. */
  lazyPlans: number;
  /** Plans of one stage of a first sync in stages (ADR-0011), checked against the full plan of the whole index on their paths. */
  stagePlans: number;
  /** With `fs`: clients on each kind of volume, and twin groups an insensitive client held one of at the end. */
  fsClients: number;
  twinGroups: number;
  /** With `fs`: scenarios that never settled, or settled apart from the projection (known gaps, counted, not failed). */
  fsUnsettled: number;
  fsDiverged: number;
  /** Objects that vanished from the store (a client's own segment or key), and how many its syncs put back (ADR-0015). */
  vanished: number;
  restored: number;
  /** With `checkpoints`: syncs that joined from checkpoints, checkpoints syncs wrote, forged ones, syncs that reported one. */
  joins: number;
  ownCheckpoints: number;
  forgedCheckpoints: number;
  checkpointFaults: number;
  /** Line edits users made, and merge events in the store at the end (ADR-0020), each checked by `checkMerges`. */
  lineEdits: number;
  merges: number;
  /** Move puts in the store at the end (ADR-0020), and those that sent an edit on merged with the new name's head, each checked by `checkMoves`. */
  moves: number;
  mergedFollows: number;
}

export function emptyStats(): ScenarioStats {
  return {
    steps: 0,
    syncs: 0,
    completedSyncs: 0,
    crashes: 0,
    faultSyncs: 0,
    injectedErrors: 0,
    truncatedLists: 0,
    remoteFailures: 0,
    unreadableMarks: 0,
    racingEdits: 0,
    guardStops: 0,
    resolves: 0,
    conflicts: 0,
    quiescenceRounds: 0,
    configs: 0,
    gcRuns: 0,
    snapshotScenarios: 0,
    snapshotsTaken: 0,
    packScenarios: 0,
    packsWritten: 0,
    packsInFaultSyncs: 0,
    blobsCollected: 0,
    pathsCollected: 0,
    cleanSyncs: 0,
    focusedPlans: 0,
    lazyPlans: 0,
    stagePlans: 0,
    fsClients: 0,
    twinGroups: 0,
    fsUnsettled: 0,
    fsDiverged: 0,
    vanished: 0,
    lineEdits: 0,
    merges: 0,
    moves: 0,
    mergedFollows: 0,
    restored: 0,
    joins: 0,
    ownCheckpoints: 0,
    forgedCheckpoints: 0,
    checkpointFaults: 0,
  };
}

export function addStats(into: ScenarioStats, s: ScenarioStats): void {
  for (const k of Object.keys(into) as (keyof ScenarioStats)[]) into[k] += s[k];
}

export function replayCommand(seed: number, options: ScenarioOptions = {}): string {
  const extra = [
    options.clients !== undefined ? `SIM_CLIENTS=${options.clients} ` : '',
    options.steps !== undefined ? `SIM_STEPS=${options.steps} ` : '',
    options.gc ? 'SIM_GC=1 ' : '',
    options.fs ? 'SIM_FS=1 ' : '',
    options.checkpoints ? 'SIM_CHECKPOINTS=1 ' : '',
  ].join('');
  return `${extra}SIM_SEED=${seed} npx vitest run test/sim`;
}

/** True when `f` is about lost content (a data-loss or destroyed-content failure), not another broken invariant. */
export function isLoss(f: SimFailure): boolean {
  return f.what.startsWith('data loss') || f.what.includes('unsynced content destroyed');
}

/** A broken invariant: says which, with the seed, the replay command and the step trace. */
export class SimFailure extends Error {
  constructor(
    readonly seed: number,
    /** The broken invariant, one line or a few (without the trace). */
    readonly what: string,
    trace: readonly string[],
    options: ScenarioOptions = {},
  ) {
    super(`simulation invariant broken (seed ${seed}): ${what}\nreplay: ${replayCommand(seed, options)}\ntrace:\n${trace.join('\n')}`);
    this.name = 'SimFailure';
  }
}

interface ScenarioClient extends SimClient {
  readonly concurrency: number;
  /** The user confirmed a safety-guard stop: the next sync runs with --force. */
  forceNext: boolean;
  openConflicts: readonly ConflictNote[];
  /** Port calls of this client's last sync (to place crashes and racing edits inside one). */
  lastCalls: number;
  /** Length of the tree's change log when the client's last sync had settled. */
  settled: number;
}

/** Content a user had at a path when a sync that completed read it: it must never be lost. */
type Protected = ProtectedContent;

interface SyncSetup {
  readonly crashAt: number | null;
  readonly meddleAt: number | null;
  readonly faults: MemoryFaults | null;
  readonly unreadable: string | null;
  readonly resolve: ResolveRequest | null;
}

const QUIET: SyncSetup = { crashAt: null, meddleAt: null, faults: null, unreadable: null, resolve: null };

type SyncOutcome = { readonly kind: 'ok'; readonly report: SyncReport } | { readonly kind: 'interrupted'; readonly why: string };

function drain(): Promise<void> {
  // Lets work still in flight after a crash settle (it all fails at the gate) before the next step.
  return new Promise((resolve) => setImmediate(resolve));
}

/** The lines of a text (an empty list for bytes that are not text). */
function linesOf(bytes: Uint8Array): string[] {
  return (computeText(bytes) ?? '').split('\n');
}

function textBytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export interface ScenarioResult {
  readonly stats: ScenarioStats;
  /** One line a step, with every sync's outcome: equal traces mean an exact replay. */
  readonly trace: readonly string[];
}

/** Runs one scenario: random steps, then quiescence and the end invariants. Throws SimFailure. */
export async function runScenario(seed: number, options: ScenarioOptions = {}): Promise<ScenarioResult> {
  const sim = new Scenario(seed, options);
  await sim.run();
  return { stats: sim.stats, trace: sim.trace };
}

class Scenario {
  readonly stats = emptyStats();
  private readonly packs: boolean;
  private readonly snapshots: MemorySnapshots | undefined;
  private readonly rng: Rng;
  private readonly store: MemoryStore;
  private readonly clients: ScenarioClient[] = [];
  readonly trace: string[] = [];
  private readonly protectedContent: Protected[] = [];
  private readonly segments = new Map<string, SegmentBody>();
  /** Objects a vanish step deleted: key -> the bytes first there (ADR-0015 puts them back). */
  private readonly vanishedObjects = new Map<string, Uint8Array>();
  private readonly conflictKeys = new Set<string>();
  /**
   * Made-up bytes of forged checkpoints: a client may show them for a while (a writer's
   * checkpoint speaks for its own versions, ADR-0014) and drops them once it checks the claim;
   * they are never user content.
   */
  private readonly forgedContent = new Set<string>();
  /** Forged checkpoints' keys: reported as faults at every sync that reads them, by design (ADR-0014). */
  private readonly forgedCheckpoints = new Set<string>();
  private readonly clock = createClock();
  private step = 0;
  private contentCounter = 0;
  private readonly paths: readonly string[];

  constructor(
    private readonly seed: number,
    private readonly options: ScenarioOptions,
  ) {
    this.rng = mulberry32(seed);
    this.paths = options.fs ? [...SIM_PATHS, ...SIM_FS_PATHS] : SIM_PATHS;
    this.store = new MemoryStore({ random: mulberry32(seed ^ 0x5bd1e995) });
    this.packs = options.packs ?? seed % 2 === 1; // drawn from no generator: every seed replays its steps
    if (this.packs) this.stats.packScenarios++;
    this.snapshots = undefined;
    if (options.snapshots ?? seed % 3 === 0) {
      const snaps = new MemorySnapshots(this.store);
      const take = snaps.take.bind(snaps);
      snaps.take = () => (this.stats.snapshotsTaken++, take());
      this.snapshots = snaps;
      this.stats.snapshotScenarios++;
    }
  }

  private fail(what: string): never {
    throw new SimFailure(this.seed, what, this.trace, this.options);
  }

  private log(line: string): void {
    this.trace.push(`${String(this.step).padStart(3)} ${line}`);
  }

  async run(): Promise<void> {
    await this.setup();
    const steps = this.options.steps ?? randomInt(this.rng, 20, 40);
    for (this.step = 1; this.step <= steps; this.step++) {
      this.clock.advance(1000);
      await this.randomStep();
      this.stats.steps++;
      this.checkStoreBlobs();
    }
    const settled = await this.quiesce();
    const converged = settled && this.onKnownGaps(() => this.checkConvergence());
    this.checkNoDataLoss();
    this.checkRestored();
    if (converged) await this.onKnownGapsAsync(() => this.checkIdempotence());
    if (settled) await this.checkConfigs();
    this.checkEngineWrites();
    this.checkMerges();
    this.checkMoves();
    this.stats.conflicts = this.conflictKeys.size;
  }

  private async setup(): Promise<void> {
    const n = this.options.clients ?? 3;
    for (let i = 0; i < n; i++) {
      const name = `${NAMES[i % NAMES.length]!}${i < NAMES.length ? '' : Math.floor(i / NAMES.length)}`;
      const fs = this.options.fs ? pick(this.rng, FS_SEMANTICS)! : 'posix';
      if (fs !== 'posix') this.stats.fsClients++;
      const client = await createSimClient(
        this.store,
        name,
        `01SM${ID_LETTERS[i % ID_LETTERS.length]}${Math.floor(i / ID_LETTERS.length)}`,
        this.clock,
        fs,
      );
      this.clients.push({
        ...client,
        concurrency: chance(this.rng, 0.5) ? 1 : 8,
        forceNext: false,
        openConflicts: [],
        lastCalls: 12,
        settled: 0,
      });
    }
    this.log(
      `setup: ${this.clients.map((c) => `${c.name}=${c.id} (concurrency ${c.concurrency}${c.tree.fs === 'posix' ? '' : `, ${c.tree.fs}`})`).join(', ')}`,
    );
  }

  // ---- steps

  private async randomStep(): Promise<void> {
    if (this.options.gc && chance(this.rng, 0.12)) return this.gcStep();
    if (this.options.checkpoints && chance(this.rng, 0.12)) return this.checkpointStep();
    if (chance(this.rng, VANISH_RATE)) return this.vanishStep();
    if (chance(this.rng, CONFIG_RATE)) return this.configStep();
    const c = pick(this.rng, this.clients)!;
    const kind = pickWeighted(this.rng, [
      ['user', 55],
      ['sync', 45],
    ] as const);
    if (kind === 'user') {
      this.log(`${c.name}: ${this.userAct(c, new Map())}`);
      return;
    }
    const setup: SyncSetup = {
      crashAt: chance(this.rng, 0.2) ? randomInt(this.rng, 1, c.lastCalls + CALL_SLACK) : null,
      meddleAt: chance(this.rng, 0.15) ? randomInt(this.rng, 1, c.lastCalls + CALL_SLACK) : null,
      faults: chance(this.rng, 0.25) ? this.randomFaults() : null,
      unreadable: chance(this.rng, 0.1) ? this.randomUnreadable(c) : null,
      resolve: chance(this.rng, 0.3) ? this.randomResolve(c) : null,
    };
    await this.sync(c, setup);
  }

  private randomFaults(): MemoryFaults {
    const rate = () => 0.02 + this.rng() * 0.2;
    const f: MemoryFaults = {};
    const kinds = ['writeFailRate', 'writeLostAckRate', 'listTruncateRate', 'readFailRate'] as const;
    for (const k of kinds) if (chance(this.rng, 0.4)) f[k] = rate();
    if (Object.keys(f).length === 0) f[pick(this.rng, kinds)!] = rate();
    return f;
  }

  private randomUnreadable(c: ScenarioClient): string | null {
    const present = [...c.tree.files.keys()];
    return pick(this.rng, [...present, ...SIM_FOLDERS]) ?? null;
  }

  private randomResolve(c: ScenarioClient): ResolveRequest | null {
    const note = pick(
      this.rng,
      c.openConflicts.filter((n) => n.heads.length > 1),
    );
    if (note === undefined) return null;
    if (chance(this.rng, 0.5)) return { path: note.path, keep: 'local' };
    const head = pick(this.rng, note.heads)!;
    return { path: note.path, keep: chance(this.rng, 0.5) ? head.id : head.id.slice(-8) };
  }

  private newContent(c: ScenarioClient): string {
    const r = this.rng();
    if (r < 0.08) return '';
    if (r < 0.3) return `shared-${randomInt(this.rng, 0, 3)}`;
    return `${c.name}-${++this.contentCounter}-${'x'.repeat(randomInt(this.rng, 0, 12))}`;
  }

  /** `text` with one line changed, inserted or removed (short texts first grow to a few lines). */
  private editLines(c: ScenarioClient, text: string): string {
    const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
    while (lines.length < 4) lines.push(`line ${lines.length}`);
    const at = randomInt(this.rng, 0, lines.length - 1);
    const mine = `${c.name}-${++this.contentCounter}`;
    const r = this.rng();
    if (r < 0.5) lines[at] = mine;
    else if (r < 0.8) lines.splice(at, 0, mine);
    else lines.splice(at, 1);
    return `${lines.join('\n')}\n`;
  }

  /**
   * One random user action on `c`'s tree; `changes` collects what it did to main paths
   * (path -> new hash, or null for gone). Returns a description for the trace.
   */
  private userAct(c: ScenarioClient, changes: Map<string, string | null>): string {
    const tree = c.tree;
    const main = [...tree.files.keys()].filter((p) => !isConflictCopyName(p));
    const withCopies = this.paths.filter((p) => copiesOf(tree, p).length > 0);
    const editable = main.filter((p) => !p.endsWith('.bin') && computeText(tree.files.get(p)!.bytes) !== null);
    const action = pickWeighted(this.rng, [
      ['write', 45],
      ['edit', editable.length > 0 ? 25 : 0],
      ['delete', main.length > 0 ? 15 : 0],
      ['rename', main.length > 0 ? 10 : 0],
      ['chmod', main.length > 0 ? 5 : 0],
      ['deleteCopies', withCopies.length > 0 ? 15 : 0],
    ] as const);
    switch (action) {
      case 'write': {
        const path = pick(this.rng, this.paths)!;
        const text = this.newContent(c);
        const inPlace = chance(this.rng, 0.5);
        if (!tree.userWrite(path, textBytes(text), { inPlace })) return `write ${path} refused`;
        changes.set(tree.resolve(path)!, tree.files.get(tree.resolve(path)!)!.hash);
        return `write ${path} ${JSON.stringify(text)}${inPlace ? ' in place' : ''}`;
      }
      case 'edit': {
        // One line changed, added or removed (ADR-0020): concurrent edits of different lines merge.
        const path = pick(this.rng, editable)!;
        const text = this.editLines(c, computeText(tree.files.get(path)!.bytes)!);
        tree.userWrite(path, textBytes(text), { inPlace: true });
        this.stats.lineEdits++;
        changes.set(tree.resolve(path)!, tree.files.get(tree.resolve(path)!)!.hash);
        return `edit ${path} ${JSON.stringify(text)}`;
      }
      case 'delete': {
        const path = pick(this.rng, main)!;
        tree.userDelete(path);
        changes.set(path, null);
        return `delete ${path}`;
      }
      case 'rename': {
        const from = pick(this.rng, main)!;
        const to = pick(
          this.rng,
          this.paths.filter((p) => p !== from),
        )!;
        if (!tree.userRename(from, to)) return `rename ${from} -> ${to} refused`;
        changes.set(from, null);
        changes.set(tree.resolve(to)!, tree.files.get(tree.resolve(to)!)!.hash);
        return `rename ${from} -> ${to}`;
      }
      case 'chmod': {
        const path = pick(this.rng, main)!;
        const mode = tree.files.get(path)!.mode === 0o755 ? 0o644 : 0o755;
        tree.userChmod(path, mode);
        changes.set(path, tree.files.get(path)!.hash);
        return `chmod ${path} ${mode.toString(8)}`;
      }
      case 'deleteCopies': {
        const path = pick(this.rng, withCopies)!;
        const copies = copiesOf(tree, path);
        for (const cp of copies) tree.userDelete(cp);
        return `delete the conflict copies of ${path}: ${copies.join(', ')}`;
      }
    }
  }

  private async sync(c: ScenarioClient, setup: SyncSetup): Promise<SyncOutcome> {
    this.stats.syncs++;
    this.checkOnlyUserChanges(c);
    const before = mainFiles(c.tree);
    const racing = new Map<string, string | null>();
    const changesBefore = c.tree.changes.length;
    const gate = new SyncGate(setup.crashAt, setup.meddleAt, () => {
      this.stats.racingEdits++;
      this.log(`  ${c.name} racing the sync: ${this.userAct(c, racing)}`);
    });
    const ctx = {
      ...syncContextOf(c, {
        store: new GatedStore(this.store, gate, (key, body) => this.checkSegmentPut(key, body)),
        index: new GatedIndex(c.index, gate),
        tree: new CheckedCleanTree(new GatedTree(c.tree, gate), () => this.checkCleanClaim(c)),
        now: this.clock.now,
        concurrency: c.concurrency,
      }),
      // Without checkpoint scenarios every client holds the whole history (its GC steps need it).
      joinFromCheckpoint: this.options.checkpoints === true,
      packs: this.packs,
      ...(this.snapshots === undefined ? {} : { snapshots: this.snapshots }),
      ...(this.options.checkpoints ? { checkpointEvery: SIM_CHECKPOINT_EVERY } : {}),
      onPlan: (input: PlanInput, plan: Plan, part: 'all' | 'stage') => this.checkFocusedPlan(c, input, plan, part),
    };
    if (setup.unreadable !== null) {
      c.tree.markUnreadable(setup.unreadable);
      this.stats.unreadableMarks++;
    }
    if (setup.faults !== null) {
      this.store.faults = { ...setup.faults };
      this.stats.faultSyncs++;
    }
    if (setup.resolve !== null) this.stats.resolves++;
    const force = c.forceNext;
    const what = [
      setup.crashAt !== null ? `crash@${setup.crashAt}` : '',
      setup.meddleAt !== null ? `race@${setup.meddleAt}` : '',
      setup.faults !== null ? `faults ${JSON.stringify(setup.faults)}` : '',
      setup.unreadable !== null ? `unreadable ${setup.unreadable}` : '',
      setup.resolve !== null ? `resolve ${setup.resolve.path} keep ${setup.resolve.keep}` : '',
      force ? 'force' : '',
    ]
      .filter((s) => s !== '')
      .join(', ');
    this.log(`${c.name}: sync${what ? ` (${what})` : ''}`);
    let outcome: SyncOutcome;
    try {
      const report = await runSync(ctx, { ...(force ? { force: true } : {}), ...(setup.resolve ? { resolve: setup.resolve } : {}) });
      outcome = { kind: 'ok', report };
    } catch (e) {
      outcome = { kind: 'interrupted', why: this.classify(c, e, setup, gate) };
    } finally {
      this.store.faults = {};
      c.tree.clearUnreadable(); // the fault lasts one sync, even one that stopped before its scan
      gate.dead = true; // the sync is over: nothing of it may act any more
    }
    await drain();
    c.settled = c.tree.changes.length;
    c.lastCalls = Math.max(c.lastCalls, gate.counts.calls);
    this.stats.injectedErrors += gate.counts.injectedErrors;
    this.stats.truncatedLists += gate.counts.truncatedLists;
    this.log(`  -> ${outcome.kind === 'ok' ? describeReport(outcome.report) : outcome.why} [${gate.counts.calls} calls]`);
    this.checkEngineOverwrites(c, changesBefore);
    if (outcome.kind === 'ok') this.stats.restored += outcome.report.restored.length;
    if (outcome.kind === 'ok') this.afterCompletedSync(c, outcome.report, before, racing, setup);
    return outcome;
  }

  /**
   * The tree told a sync that nothing changed since its clean-state record: then a full fold
   * and plan of this client's index and tree, right now (no gate runs in between, so no racing
   * edit or other client acts), must have nothing to do.
   */
  private async checkCleanClaim(c: ScenarioClient): Promise<void> {
    this.stats.cleanSyncs++;
    const { state } = await readLogState(c.index);
    const manifest = await c.index.getManifest();
    const scan = await c.tree.scan(manifest, () => false);
    const names = new Map([...(await c.index.getPinnedKeys())].map(([id, k]) => [id as string, k.name]));
    names.set(c.id, c.name);
    const plan = planSync({
      base: manifest,
      local: scan,
      cloud: state.paths,
      options: { subscriptions: [], isIgnored: () => false, clientName: (id) => names.get(id) ?? id.slice(-6), self: c.id },
    });
    if (plan.ops.length > 0)
      this.fail(
        `${c.name}'s sync took the clean-state shortcut, but a full plan would do: ${plan.ops.map((o) => `${o.kind} ${o.path}`).join(', ')}`,
      );
  }

  /**
   * A plan made focused (ADR-0009) must equal the full plan of the same inputs; a stage's plan
   * (ADR-0011) must equal what the full plan says of the stage's paths.
   */
  // (The merge stage's outcomes are an input of the plan like the cloud: the full plan takes them too.)
  private async checkFocusedPlan(c: ScenarioClient, input: PlanInput, plan: Plan, part: 'all' | 'stage'): Promise<void> {
    if (input.focus === undefined) return;
    this.stats.focusedPlans++;
    let full: Plan;
    if (part === 'stage') {
      this.stats.stagePlans++;
      const { state } = await readLogState(c.index);
      const whole = planSync({
        base: await c.index.getManifest(),
        local: input.local,
        cloud: state.paths,
        options: input.options,
        ...merges(input),
      });
      const targets = computeFocusTargets(input.focus, input.base, input.local);
      if (targets === undefined) this.fail(`${c.name}'s stage plan had no focus to plan from`);
      const a = restrictPlan(whole, targets!);
      const b = restrictPlan(plan, targets!);
      if (!isDeepStrictEqual(a, b))
        this.fail(
          `${c.name}'s stage plan differs from the full plan on its paths\n  full: ${JSON.stringify(a)}\n  stage: ${JSON.stringify(b)}`,
        );
      return;
    }
    if (input.cloudOnly === undefined) {
      const { focus: _focus, ...whole } = input;
      full = planSync(whole);
    } else {
      // A lazy plan (ADR-0009) saw only some paths: plan in full from the whole index instead
      // (it holds every commit this sync made; no gate runs in between).
      this.stats.lazyPlans++;
      const { state } = await readLogState(c.index);
      full = planSync({
        base: await c.index.getManifest(),
        local: input.local,
        cloud: state.paths,
        options: input.options,
        ...merges(input),
      });
    }
    if (!isDeepStrictEqual(full, plan))
      this.fail(`${c.name}'s focused plan differs from the full plan\n  full: ${JSON.stringify(full)}\n  focused: ${JSON.stringify(plan)}`);
  }

  /**
   * An object vanishes from the store (issue 20; deleted by someone, or lost by the store): one
   * of a random client's own segments that its index holds, or its key once every other client
   * has pinned it. Its next completed sync must put it back (ADR-0015); until then the others may
   * report it, and must not stop at a gap. With GC, not the newest segment of a log: a GC run
   * that never saw it cannot know it existed (ADR-0015 says what that costs); a key or an older
   * segment missing is a fault at its fetch, and GC then collects nothing.
   */
  private async vanishStep(): Promise<void> {
    const c = pick(this.rng, this.clients)!;
    const candidates: string[] = [];
    const others = this.clients.filter((o) => o !== c);
    if ((await Promise.all(others.map((o) => o.index.getPinnedKeys()))).every((p) => p.has(c.id))) candidates.push(keyOfIdentity(c.id));
    const own = [...this.store.objects.keys()].filter((k) => parseSegmentKey(c.id, k) !== undefined).sort();
    for (const key of this.options.gc ? own.slice(0, -1) : own) {
      if ((await c.index.getSegment(c.id, parseSegmentKey(c.id, key)!)) !== undefined) candidates.push(key);
    }
    const key = pick(this.rng, candidates.filter((k) => this.store.objects.has(k)).sort());
    if (key === undefined) return;
    if (!this.vanishedObjects.has(key)) this.vanishedObjects.set(key, this.store.objects.get(key)!);
    this.store.objects.delete(key);
    this.stats.vanished++;
    this.log(`${key} (${c.name}'s) vanishes from the store`);
  }

  /** Every object that vanished is back: a segment byte for byte, a key with the same public key. */
  private checkRestored(): void {
    for (const [key, before] of this.vanishedObjects) {
      const now = this.store.objects.get(key);
      if (now === undefined) this.fail(`${key} vanished from the store and was never put back`);
      if (key.startsWith('log/') && !bytesEqual(now!, before)) this.fail(`${key} was put back with other bytes`);
      if (key.startsWith('keys/') && decodeMsgpackKey(now!) !== decodeMsgpackKey(before))
        this.fail(`${key} was put back with another public key`);
    }
  }

  /** A new client joins (from the checkpoints there are), or a client forges a checkpoint. */
  private async checkpointStep(): Promise<void> {
    const n = this.options.clients ?? 3;
    if (this.clients.length < n + 2 && chance(this.rng, 0.4)) {
      const i = this.clients.length;
      const prefix = `01SM${ID_LETTERS[i % ID_LETTERS.length]}${Math.floor(i / ID_LETTERS.length)}`;
      const client = await createSimClient(this.store, NAMES[i % NAMES.length]!, prefix, this.clock);
      const c: ScenarioClient = { ...client, concurrency: 8, forceNext: false, openConflicts: [], lastCalls: 12, settled: 0 };
      this.clients.push(c);
      this.log(`${c.name} joins as ${c.id}`);
      await this.sync(c, QUIET);
      return;
    }
    const c = pick(this.rng, this.clients)!;
    const f = await forgeCheckpoint(c, this.store, this.rng, this.clock.now, c.newId() as VersionId);
    if (f.forged) this.stats.forgedCheckpoints++;
    if (f.hash !== undefined) this.forgedContent.add(f.hash);
    if (f.key !== undefined) this.forgedCheckpoints.add(f.key);
    this.log(`${c.name}: ${f.what}`);
  }

  /**
   * A random client publishes a merge policy (ADR-0037): merging off, only `*.txt`, a small size
   * limit, or the default again. Every client must end with the same policy (`checkConfigs`) and
   * every merge in the store must still be its recorded algorithm's (`checkMerges`).
   */
  private async configStep(): Promise<void> {
    const c = pick(this.rng, this.clients)!;
    const change = pick(this.rng, SIM_POLICY_CHANGES)!;
    const gate = new SyncGate(null, null, () => undefined);
    const ctx = {
      ...syncContextOf(c, {
        store: new GatedStore(this.store, gate, (key, body) => this.checkSegmentPut(key, body)),
        index: c.index,
        now: this.clock.now,
      }),
      joinFromCheckpoint: false,
    };
    try {
      const r = await executeSetMergePolicy(ctx, change);
      if (r.published !== null) this.stats.configs++;
      this.log(
        `${c.name}: config merge ${JSON.stringify(change)} -> ${r.published === null ? 'unchanged' : `published ${r.published.id}`}`,
      );
    } catch (e) {
      // A vanished object not put back yet, or store faults: the fetch refuses; nothing is published.
      if (!isBmError(e)) this.fail(`${c.name}'s config failed unexpectedly: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      this.log(`${c.name}: config merge refused (${e instanceof Error ? e.message : String(e)})`);
    }
  }

  /** Every settled client folds the same config event, so it merges under the same policy (ADR-0037). */
  private async checkConfigs(): Promise<void> {
    const seen = new Map<string, string>();
    for (const c of this.clients) {
      const { state } = await readLogState(c.index);
      seen.set(c.name, JSON.stringify(computeVaultMergePolicy(state.vault)));
    }
    if (new Set(seen.values()).size > 1) this.fail(`clients hold different merge policies: ${JSON.stringify(Object.fromEntries(seen))}`);
  }

  /** A GC run by a random client, crashed at a random port call now and then. */
  private async gcStep(): Promise<void> {
    const c = pick(this.rng, this.clients)!;
    const crashAt = chance(this.rng, 0.25) ? randomInt(this.rng, 1, 30) : null;
    const checkpoint = chance(this.rng, 0.3);
    const gate = new SyncGate(crashAt, null, () => undefined);
    const ctx = {
      ...syncContextOf(c, {
        store: new GatedStore(this.store, gate, (key, body) => this.checkSegmentPut(key, body)),
        index: new GatedIndex(c.index, gate),
        now: this.clock.now,
      }),
      joinFromCheckpoint: false,
    };
    let what: string;
    try {
      const r = await executeGc(ctx, { retentionMs: 0, graceMs: 0, checkpoint });
      const deleted = r.passes.reduce((n, p) => n + p.deleted.length, 0);
      const collected = r.passes.reduce((n, p) => n + p.plan.collect.length, 0);
      this.stats.gcRuns++;
      this.stats.blobsCollected += deleted;
      this.stats.pathsCollected += collected;
      what = `collected ${collected} path(s), condemned ${r.passes.reduce((n, p) => n + p.plan.condemn.length, 0)}, deleted ${deleted} blob(s)${r.checkpoint ? `, checkpoint ${r.checkpoint.seq}` : ''}`;
    } catch (e) {
      if (isBmError(e) && typeof e.details['faults'] === 'number' && !gate.dead) {
        // A vanished object not put back yet: GC collects nothing from a damaged log (ADR-0015).
        what = `refused (${e.message})`;
      } else {
        if (!(e instanceof CrashError || gate.dead))
          this.fail(`${c.name}'s gc failed unexpectedly: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        this.stats.crashes++;
        what = `crashed (${e instanceof Error ? e.message : String(e)})`;
      }
    } finally {
      gate.dead = true;
    }
    await drain();
    this.log(
      `${c.name}: gc${crashAt !== null ? ` (crash@${crashAt})` : ''}${checkpoint ? ' +checkpoint' : ''} -> ${what} [${gate.counts.calls} calls]`,
    );
  }

  /** Says why a sync stopped, or fails the scenario when the stop was not an expected one. */
  private classify(c: ScenarioClient, e: unknown, setup: SyncSetup, gate: SyncGate): string {
    const counts = gate.counts;
    if (e instanceof SimFailure) throw e;
    if (e instanceof CrashError || gate.dead) {
      // After the kill, whatever surfaces is a consequence of it.
      this.stats.crashes++;
      return `crashed (${e instanceof Error ? e.message : String(e)})`;
    }
    const faulty = setup.faults !== null;
    if (faulty && isBmError(e, ErrorCode.remoteUnavailable)) {
      this.stats.remoteFailures++;
      return `remote failure (${e.message}), retried later`;
    }
    // A listing cut short or a failed read can hide this client's own last segment (written
    // by a sync whose acknowledgement was lost): the next segment then meets it and is refused.
    if (faulty && isBmError(e, ErrorCode.equivocation) && counts.injectedErrors + counts.truncatedLists > 0) {
      this.stats.remoteFailures++;
      return `equivocation after a faulty listing (${e.message}), retried later`;
    }
    if (isBmError(e, ErrorCode.safetyGuard)) {
      this.stats.guardStops++;
      c.forceNext = true;
      return `stopped by the safety guard (${e.message}); the user confirms with --force`;
    }
    if (setup.resolve !== null && isBmError(e, ErrorCode.usage)) return `resolve refused (${e.message})`;
    // `bm-log resolve --keep local` uploads the file first; an edit racing it fails the command, typed.
    if (setup.resolve?.keep === 'local' && setup.meddleAt !== null && isBmError(e, ErrorCode.localIo))
      return `resolve failed, the file changed meanwhile (${e.message})`;
    const detail = describeUnexpectedError(e);
    this.fail(`${c.name}'s sync failed unexpectedly: ${detail}`);
  }

  private afterCompletedSync(
    c: ScenarioClient,
    report: SyncReport,
    before: Map<string, string>,
    racing: Map<string, string | null>,
    setup: SyncSetup,
  ): void {
    this.stats.completedSyncs++;
    if (report.joinedFromCheckpoint) this.stats.joins++;
    if (report.checkpoint !== null) this.stats.ownCheckpoints++;
    if (report.faults.some((f) => f.error.code === ErrorCode.unsupportedCheckpoint)) this.stats.checkpointFaults++;
    c.forceNext = false;
    c.openConflicts = report.conflicts.filter((n) => n.kind === ConflictKind.concurrentEdits || n.kind === ConflictKind.editVersusDelete);
    for (const n of c.openConflicts)
      this.conflictKeys.add(
        `${n.path} ${n.heads
          .map((h) => h.id)
          .sort()
          .join(',')}`,
      );
    // What this sync read is now protected, unless the sync could not read it, skipped it, or the
    // user changed it while the sync ran. An edit racing the sync is not protected here: the sync
    // may have scanned before it, and the user may still overwrite it before the next sync. What
    // protects it is that the engine never destroys content the cloud lacks (checkEngineOverwrites).
    const skipped = new Set(report.skipped.map((s) => s.path));
    const hidden = (p: string) => setup.unreadable !== null && (p === setup.unreadable || p.startsWith(`${setup.unreadable}/`));
    for (const [path, hash] of before) {
      if (!racing.has(path) && !skipped.has(path) && !hidden(path))
        this.protectedContent.push({ client: c.name, path, hash, step: this.step });
    }
  }

  // ---- invariants

  /** Blobs before events: when a segment is written, every blob it names must be in the store already. */
  private checkSegmentPut(key: string, body: Body): void {
    if (key.startsWith(PACKS_PREFIX)) {
      this.stats.packsWritten++;
      if (Object.keys(this.store.faults).length > 0) this.stats.packsInFaultSyncs++;
    }
    if (!key.startsWith('log/') || !(body instanceof Uint8Array)) return;
    // A segment that vanished, put back (ADR-0015): the same bytes, never another segment.
    const before = this.vanishedObjects.get(key);
    if (before !== undefined) {
      if (!bytesEqual(before, body)) this.fail(`segment ${key} vanished and was written again with other bytes`);
      return;
    }
    for (const e of missingBlobs(decodeTrustedSegment(body), this.store))
      this.fail(`segment ${key} was written naming blob ${e.hash} (${e.path}) before the blob was stored`);
  }

  /**
   * After every step: no event in the store names a missing blob. With GC, blobs go: then no
   * version a client may still need (a head, one not acknowledged or not yet replaced for
   * every active client) names a missing blob.
   */
  private checkStoreBlobs(): void {
    for (const [key, bytes] of this.store.objects) {
      if (!key.startsWith('log/') || this.segments.has(key)) continue;
      const body = decodeTrustedSegment(bytes);
      this.segments.set(key, body);
      if (!this.options.gc)
        for (const e of missingBlobs(body, this.store))
          this.fail(`event ${e.id} in ${key} names blob ${e.hash} (${e.path}), which is not in the store`);
    }
    if (this.options.gc) {
      const broken = computeBlobViolations(this.storeWithVanished(), this.clock.now().getTime(), 0, () => 0, 0);
      if (broken.length > 0) this.fail(`GC deleted a blob still needed:\n  ${broken.join('\n  ')}`);
    }
  }

  /**
   * The store as its history stands: with the objects that vanished and are not back yet (their
   * owners put them back; the GC invariant is about the log, not about the store's gaps).
   */
  private storeWithVanished(): MemoryStore {
    if (this.vanishedObjects.size === 0) return this.store;
    const view = new MemoryStore();
    for (const [k, v] of this.store.objects) view.objects.set(k, v);
    for (const [k, v] of this.vanishedObjects) if (!view.objects.has(k)) view.objects.set(k, v);
    return view;
  }

  /** The cloud as every segment in the store says it is. */
  private cloud(): Projection {
    this.checkStoreBlobs();
    const projection: Projection = new Map();
    for (const body of this.segments.values()) projectVersions(computeSegmentVersions(body), projection);
    return projection;
  }

  /** Content hashes present in the cloud history (with their blob), by path and overall. */
  private cloudContent(): { byPath: Map<string, Set<string>>; all: Set<string> } {
    const byPath = new Map<string, Set<string>>();
    const all = new Set<string>();
    for (const [p, st] of this.cloud()) {
      for (const v of st.versions.values()) {
        // A blob GC deleted was one no client needed (checkStoreBlobs): its content counts as history.
        if (v.content === null || (!this.options.gc && contentIn(this.store.objects, v.content) === undefined)) continue;
        const set = byPath.get(p) ?? new Set<string>();
        set.add(v.content.hash);
        byPath.set(p, set);
        all.add(v.content.hash);
      }
    }
    return { byPath, all };
  }

  /**
   * The guards, checked after every sync (completed or crashed): whatever the engine
   * overwrote or removed was in the cloud history already, so no unsynced user content was
   * destroyed by it.
   */
  private checkEngineOverwrites(c: ScenarioClient, from: number): void {
    const changes = c.tree.changes.slice(from).filter((ch) => ch.by === 'engine' && ch.before !== undefined && ch.before !== ch.after);
    if (changes.length === 0) return;
    const { all } = this.cloudContent();
    for (const ch of changes) {
      if (!all.has(ch.before!) && !this.forgedContent.has(ch.before!))
        this.fail(
          `${c.name}'s sync ${ch.kind === 'write' ? 'overwrote' : 'removed'} ${ch.path} holding ${ch.before}, which is nowhere in the cloud history: unsynced content destroyed`,
        );
    }
  }

  /** Syncs every client in turn until two rounds change nothing; false (with `fs` only) when that never came. */
  private async quiesce(): Promise<boolean> {
    this.log('quiescence: faults off, every client syncs in turn');
    let quietRounds = 0;
    for (let round = 1; round <= QUIESCENCE_MAX_ROUNDS; round++) {
      this.step++;
      this.stats.quiescenceRounds++;
      let active = false;
      for (const c of this.clients) {
        const out = await this.sync(c, QUIET);
        // Downloads of twins an insensitive volume cannot hold apart are skipped at every sync.
        const twins = this.twinPaths(c);
        active ||=
          out.kind === 'interrupted' ||
          out.report.eventsPublished > 0 ||
          out.report.applied.length > 0 ||
          out.report.skipped.some((k) => !twins.has(k.path));
      }
      this.checkStoreBlobs();
      quietRounds = active ? 0 : quietRounds + 1;
      if (quietRounds === 2) return true;
    }
    if (this.options.fs) {
      this.stats.fsUnsettled++;
      this.log('not settled (a known gap of insensitive volumes: see ADR-0017)');
      return false;
    }
    this.fail(`no convergence: clients still publish or change files after ${QUIESCENCE_MAX_ROUNDS} rounds of syncs without faults`);
  }

  /**
   * Runs a convergence check. With `fs`, a failure is one of the known gaps of insensitive
   * volumes (twins, NFD names; ADR-0017): counted and logged, not thrown; the safety checks
   * (no data loss, nothing unsynced destroyed, writes inside the tree) still run and throw.
   */
  private onKnownGaps(check: () => void): boolean {
    if (!this.options.fs) {
      check();
      return true;
    }
    try {
      check();
      return true;
    } catch (e) {
      if (!(e instanceof SimFailure)) throw e;
      this.stats.fsDiverged++;
      this.log(`diverged (a known gap of insensitive volumes: see ADR-0017): ${e.what.split('\n')[0]}`);
      return false;
    }
  }

  private async onKnownGapsAsync(check: () => Promise<void>): Promise<void> {
    if (!this.options.fs) return check();
    try {
      await check();
    } catch (e) {
      if (!(e instanceof SimFailure)) throw e;
      this.stats.fsDiverged++;
      this.log(`not idempotent (a known gap of insensitive volumes: see ADR-0017): ${e.what.split('\n')[0]}`);
    }
  }

  /** Every tree is exactly what the projection says: winners at their paths, losing heads as copies. */
  /** The files every tree should hold, as the projection says: path -> "hash mode". */
  private expectedFiles(): Map<string, string> {
    const shown = computeShownHeads(this.cloud(), (id) => this.nameOf(id));
    return new Map([...shown].map(([p, h]) => [p, `${h.content!.hash} ${h.content!.mode.toString(8)}`]));
  }

  /**
   * Every tree is exactly what the projection says: winners at their paths, losing heads as
   * copies. On an insensitive volume, of twins (expected paths its volume takes for one name)
   * the tree holds exactly one, and nothing else differs.
   */
  private checkConvergence(): void {
    const expected = this.expectedFiles();
    for (const c of this.clients) {
      const actual = new Map([...c.tree.files].map(([p, f]) => [p, `${f.hash} ${f.mode.toString(8)}`]));
      const diff: string[] = [];
      const key = (p: string) => computePathKey(c.tree.fs, p);
      const groups = new Map<string, string[]>();
      for (const p of expected.keys()) groups.set(key(p), [...(groups.get(key(p)) ?? []), p]);
      for (const [k, paths] of groups) {
        const held = paths.filter((p) => actual.get(p) === expected.get(p));
        if (paths.length > 1 && held.length === 1 && [...actual.keys()].filter((a) => key(a) === k).length === 1) this.stats.twinGroups++;
        else
          for (const p of paths)
            if (actual.get(p) !== expected.get(p)) diff.push(`${p}: want ${expected.get(p)}, have ${actual.get(p) ?? 'nothing'}`);
      }
      for (const [p, have] of actual) if (!expected.has(p)) diff.push(`${p}: want nothing, have ${have}`);
      if (diff.length > 0)
        this.fail(
          `no convergence: ${c.name}'s tree${c.tree.fs === 'posix' ? '' : ` (${c.tree.fs})`} differs from the cloud projection:\n  ${diff.join('\n  ')}`,
        );
    }
  }

  /** Paths `c`'s volume cannot hold apart from another expected path (twins); none on posix. */
  private twinPaths(c: ScenarioClient): Set<string> {
    if (c.tree.fs === 'posix') return new Set();
    const groups = new Map<string, string[]>();
    for (const p of this.expectedFiles().keys()) {
      const k = computePathKey(c.tree.fs, p);
      groups.set(k, [...(groups.get(k) ?? []), p]);
    }
    return new Set([...groups.values()].filter((g) => g.length > 1).flat());
  }

  /** Everything a completed sync read is still somewhere: in a tree (at the path or a copy of it) or in the cloud history. */
  /**
   * Every merge event in the store (ADR-0020): its bytes are the merge of its recorded base and
   * parents (recomputed: deterministic, whoever wrote it), and no line is lost: every line a
   * parent added to the base is in the merge. Parents whose blobs a GC collected are skipped.
   */
  private checkMerges(): void {
    const contents = new Map<string, ContentRef | null>();
    const merges: PutEvent[] = [];
    for (const body of this.segments.values()) {
      for (const e of body.events) {
        if (e.type === 'put' || e.type === 'resolve') contents.set(e.id, e.content);
        if (e.type === 'tombstone') contents.set(e.id, null);
        if (e.type === 'put' && e.merge !== undefined) merges.push(e);
      }
    }
    this.stats.merges += merges.length;
    const bytesOf = (id: string | null): Uint8Array | null | undefined => {
      if (id === null) return null;
      const c = contents.get(id);
      if (c === undefined) return undefined;
      return c === null ? null : (contentIn(this.store.objects, c) ?? contentIn(this.vanishedObjects, c));
    };
    for (const m of merges) {
      const { base, parents, algo } = m.merge!;
      const baseBytes = bytesOf(base);
      const heads = parents.map((p) => ({ version: p, bytes: bytesOf(p) }));
      if (baseBytes === undefined || heads.some((h) => h.bytes == null)) continue;
      const out = computeMerge(algo as MergeAlgo, baseBytes, heads as MergeHead[]);
      if (out.kind !== 'merged' || sha256Hex(out.bytes) !== m.content.hash)
        this.fail(`merge ${m.id} of ${m.path}: its bytes are not the merge of its base and parents (${out.kind})`);
      const merged = new Set(linesOf(out.kind === 'merged' ? out.bytes : new Uint8Array()));
      const baseLines = new Set(linesOf(baseBytes ?? new Uint8Array()));
      for (const h of heads)
        for (const line of linesOf(h.bytes!))
          if (!baseLines.has(line) && !merged.has(line))
            this.fail(`merge ${m.id} of ${m.path} lost the line ${JSON.stringify(line)} of ${h.version}`);
    }
  }

  /**
   * Every move in the store (ADR-0020): a put `from` an old name that also replaces a live
   * version at its own name sent an edit of the old name on, merged with that version; no line
   * the edit added (over the versions it replaced) is lost in it.
   */
  private checkMoves(): void {
    const versions = new Map<string, { content: ContentRef | null; replaces: readonly string[] }>();
    const moved: PutEvent[] = [];
    for (const body of this.segments.values()) {
      for (const e of body.events) {
        if (e.type === 'put' || e.type === 'resolve') versions.set(e.id, { content: e.content, replaces: e.replaces });
        if (e.type === 'tombstone') versions.set(e.id, { content: null, replaces: e.replaces });
        if (e.type === 'put' && e.from !== undefined) moved.push(e);
      }
    }
    this.stats.moves += moved.length;
    const bytesOf = (c: ContentRef | null | undefined) =>
      c == null ? undefined : (contentIn(this.store.objects, c) ?? contentIn(this.vanishedObjects, c));
    for (const m of moved) {
      if (!m.replaces.some((id) => versions.get(id)?.content != null)) continue; // a plain move, or an edit put beside
      const edit = versions.get(m.from!.version);
      const [editBytes, putBytes] = [bytesOf(edit?.content), bytesOf(m.content)];
      if (edit === undefined || editBytes === undefined || putBytes === undefined) continue;
      this.stats.mergedFollows++;
      const before = new Set(edit.replaces.flatMap((id) => linesOf(bytesOf(versions.get(id)?.content) ?? new Uint8Array())));
      const kept = new Set(linesOf(putBytes));
      for (const line of linesOf(editBytes))
        if (!before.has(line) && !kept.has(line))
          this.fail(`move ${m.id} to ${m.path} lost the line ${JSON.stringify(line)} of the edit ${m.from!.version} of ${m.from!.path}`);
    }
  }

  private checkNoDataLoss(): void {
    const { byPath } = this.cloudContent();
    for (const pr of this.protectedContent) {
      if (byPath.get(pr.path)?.has(pr.hash) || this.forgedContent.has(pr.hash)) continue;
      const inTree = this.clients.some((c) =>
        [pr.path, ...copiesOf(c.tree, pr.path)].some((p) => c.tree.files.get(c.tree.resolve(p) ?? p)?.hash === pr.hash),
      );
      if (!inTree)
        this.fail(
          `data loss: ${pr.client} had ${pr.path} = ${pr.hash} when its sync at step ${pr.step} read it; it is in no tree and not in the cloud history`,
        );
    }
  }

  private async checkIdempotence(): Promise<void> {
    this.step++;
    for (const c of this.clients) {
      const out = await this.sync(c, QUIET);
      if (out.kind !== 'ok') this.fail(`idempotence: ${c.name}'s sync after quiescence did not complete: ${out.why}`);
      const r = out.report;
      // Nothing new was fetched: not even an acknowledgement may be written.
      const twins = this.twinPaths(c);
      if (r.segmentsPublished > 0 || r.applied.length > 0 || r.plan.ops.some((o) => !twins.has(o.path)))
        this.fail(`idempotence: ${c.name}'s sync after quiescence still did something: ${describeReport(r)}`);
      const faults = r.faults.filter((f) => !this.forgedCheckpoints.has(f.key));
      const damage = [...faults.map((f) => `${f.key}: ${f.error.message}`), ...r.restored.map((k) => `${k} put back`)];
      if (damage.length > 0)
        this.fail(`idempotence: ${c.name}'s sync after quiescence still finds the store damaged: ${damage.join('; ')}`);
    }
  }

  /** Between its syncs, a client's tree changes only by its user: nothing of a finished or killed sync acts later. */
  private checkOnlyUserChanges(c: ScenarioClient): void {
    const late = c.tree.changes.slice(c.settled).find((ch) => ch.by !== 'user');
    if (late !== undefined) this.fail(`${c.name}'s tree was changed by the engine outside a sync: ${late.kind} ${late.path}`);
  }

  /** The engine only ever wrote inside the tree: valid sync paths, each a pool path or a conflict copy of one. */
  private checkEngineWrites(): void {
    for (const c of this.clients) {
      // On an insensitive volume a path lands in the folder of another spelling (notes/d.txt in Notes/), and
      // its scan then publishes that spelling, which other clients write: any spelling of a pool path is allowed.
      const key = (p: string) => (this.options.fs ? computePathKey('apfs', p) : p);
      const inFolderOf = (p: string, m: string) => `${m.slice(0, m.lastIndexOf('/') + 1)}${p.slice(p.lastIndexOf('/') + 1)}`;
      const allowed = (p: string) =>
        isSyncPath(p) && this.paths.some((m) => key(p) === key(m) || (key(inFolderOf(p, m)) === key(p) && isCopyOf(inFolderOf(p, m), m)));
      this.checkOnlyUserChanges(c);
      for (const ch of c.tree.changes)
        if (ch.by === 'engine' && !allowed(ch.path))
          this.fail(`${c.name}'s sync wrote ${ch.path}, which is neither a synced path nor a conflict copy of one`);
    }
  }

  private nameOf(client: string): string {
    return this.clients.find((c) => c.id === client)?.name ?? client.slice(-6);
  }
}

/**
 * The bytes of `ref` in `objects`: its blob, or its entry of its pack (ADR-0022); undefined when
 * the object is not there or does not hold those bytes at that place.
 */
function contentIn(objects: ReadonlyMap<string, Uint8Array>, ref: ContentRef): Uint8Array | undefined {
  const whole = objects.get(keyOfContent(ref));
  if (whole === undefined || ref.pack === undefined) return whole;
  const bytes = whole.subarray(ref.pack.offset, ref.pack.offset + ref.pack.length);
  return bytes.byteLength === ref.size && sha256Hex(bytes) === ref.hash ? bytes : undefined;
}

/** The events of `body` naming content whose blob or pack entry `store` does not hold. */
function missingBlobs(body: SegmentBody, store: MemoryStore): { id: string; path: string; hash: string }[] {
  const out: { id: string; path: string; hash: string }[] = [];
  for (const e of body.events) {
    if ('content' in e && e.content && contentIn(store.objects, e.content) === undefined)
      out.push({ id: e.id, path: e.path, hash: e.content.hash });
  }
  return out;
}

/** The public key an identity object publishes (the test reads its own fixture, unverified). */
function decodeMsgpackKey(bytes: Uint8Array): string {
  const env = decodeMsgpack(bytes, 'identity') as { body: Uint8Array };
  return (decodeMsgpack(env.body, 'identity') as { publicKey: string }).publicKey;
}

/** Main files of a tree (conflict copies left out): path -> hash. */
function mainFiles(tree: MemoryTree): Map<string, string> {
  const out = new Map<string, string>();
  for (const [p, f] of tree.files) if (!isConflictCopyName(p)) out.set(p, f.hash);
  return out;
}

function copiesOf(tree: MemoryTree, main: string): string[] {
  return [...tree.files.keys()].filter((p) => isCopyOf(p, main)).sort();
}

/** Delegates to `inner`; when it answers that the tree is unchanged, `check` runs first. */
class CheckedCleanTree implements LocalTree {
  constructor(
    private readonly inner: LocalTree,
    private readonly check: () => Promise<void>,
  ) {}

  get root(): string {
    return this.inner.root;
  }

  scan(manifest: ReadonlyMap<string, BaseEntry>, isIgnored: (path: string) => boolean): Promise<ScanResult> {
    return this.inner.scan(manifest, isIgnored);
  }

  rescan(
    prev: ScanResult,
    touched: readonly SyncPath[],
    manifest: ReadonlyMap<string, BaseEntry>,
    isIgnored: (path: string) => boolean,
  ): Promise<ScanResult> {
    return this.inner.rescan(prev, touched, manifest, isIgnored);
  }

  diffWitness(witness: Uint8Array, scan: ScanResult): Set<string> | undefined {
    return this.inner.diffWitness(witness, scan);
  }

  witnessBase(witness: Uint8Array): ScanBase | undefined {
    return this.inner.witnessBase(witness);
  }

  async unchanged(witness: Uint8Array): Promise<boolean> {
    const yes = await this.inner.unchanged(witness);
    if (yes) await this.check();
    return yes;
  }

  openRead(path: SyncPath): Chunks {
    return this.inner.openRead(path);
  }

  writeFile(
    path: SyncPath,
    content: AsyncIterable<Uint8Array>,
    hash: string,
    mode: number,
    expect: LocalFile | null,
  ): Promise<LocalFile | 'changed'> {
    return this.inner.writeFile(path, content, hash, mode, expect);
  }

  removeFile(path: SyncPath, expect: LocalFile): Promise<'done' | 'changed'> {
    return this.inner.removeFile(path, expect);
  }

  statFile(path: SyncPath): Promise<LocalFile | undefined> {
    return this.inner.statFile(path);
  }
}

/** What `plan` says of `paths` (ops, conflicts and notices by the path they belong to; twins aside). */
function restrictPlan(plan: Plan, paths: ReadonlySet<string>): Pick<Plan, 'ops' | 'conflicts' | 'notices'> {
  const owns = (p: string) => paths.has(p) || paths.has(computeConflictCopyOwner(p));
  return {
    ops: plan.ops.filter((o) => owns(o.path) || (o.kind === 'writeCopy' && paths.has(o.of))),
    conflicts: plan.conflicts.filter((k) => k.kind !== ConflictKind.twins && owns(k.path)),
    notices: plan.notices.filter((n) => owns(n.path)),
  };
}

/** The merge and move stages' outcomes a plan was made with (ADR-0020), for a plan made again from the same inputs. */
function merges(input: PlanInput): Pick<PlanInput, 'merges' | 'moves' | 'follows'> {
  const { merges: m, moves, follows } = input;
  return {
    ...(m === undefined ? {} : { merges: m }),
    ...(moves === undefined ? {} : { moves }),
    ...(follows === undefined ? {} : { follows }),
  };
}
