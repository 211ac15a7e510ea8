import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { VersionId } from '../../src/events/ids.js';
import type { VersionRecord } from '../../src/projections/version-record.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { computeHeads } from '../../src/projections/project-paths.js';
import { isConflictCopyName } from '../../src/reconcile/conflict-copy-name.js';
import { isSubscribed, planSync, type PlanOp } from '../../src/reconcile/plan-sync.js';
import { computeShownHeads } from '../support/expected-tree.js';
import { planByTable } from './support/plan-by-table.js';
import {
  computeBytesHash,
  computeClientName,
  computePlanInput,
  computeTree,
  computeVersionBytes,
  createWorld,
  deleteUserFile,
  mustClient,
  planRound,
  project,
  setIgnoreRules,
  sync,
  syncRound,
  writeUserFile,
  type RoundStop,
  type World,
} from './support/world.js';

// Property tests of reconcile: random scripts of writes, deletes and syncs across three
// clients in the in-memory world (support/world.ts), real planner, executor semantics from
// the world. A failure prints fast-check's seed and the shrunk script; replay it with
// fc.assert(..., { seed, path }).

const CLIENTS = ['a', 'b', 'c'] as const;
type ClientName = (typeof CLIENTS)[number];
/** Paths that never clash as file and folder; 'n.md' and 'N.md' are case twins. */
const PATHS = ['n.md', 'N.md', 'e.md', 'd/x.md', 'd/e/y.md'] as const;
/** The same plus 'd' and 'd/e' as files: file/folder clashes between clients. */
const CLASH_PATHS = [...PATHS, 'd', 'd/e'] as const;
const FOLDERS = ['d', 'd/e'] as const;
/**
 * Names of bm-log's state at any depth (a nested bm-log folder's `.bm-log`, in any case): a
 * user's files there are never uploaded, and nothing is ever written there (ADR-0016).
 */
const STATE_PATHS = ['d/.bm-log/identity.key', '.bm-log/config.json', 'd/e/.BM-Log/x'] as const;
/** True for a path with a segment naming bm-log's state. */
const isStatePath = (p: string) => p.split('/').some((seg) => seg.toLowerCase().replace(/[. ]+$/, '') === '.bm-log');

type Action =
  | { readonly t: 'write'; readonly c: ClientName; readonly p: string; readonly bytes: string | null }
  /** The user deletes one of its files (not a conflict copy), picked by index. */
  | { readonly t: 'delete'; readonly c: ClientName; readonly pick: number }
  /** The user deletes one conflict copy, picked by index: a local choice, not synced while other copies remain. */
  | { readonly t: 'deleteCopy'; readonly c: ClientName; readonly pick: number }
  | { readonly t: 'sync'; readonly c: ClientName }
  /** One round only: a sync cut short (a crash between rounds). */
  | { readonly t: 'round'; readonly c: ClientName }
  /** One round that stops after publishing, or before its manifest commit (a crash, a full disk). */
  | { readonly t: 'stop'; readonly c: ClientName; readonly at: RoundStop }
  /** The user deletes every conflict copy of one path (picked by index), resolving that conflict. */
  | { readonly t: 'dropCopies'; readonly c: ClientName; readonly pick: number }
  /** The user replaces the file at `p` with a folder `p/x.md`, or the folder `p/` (all of it) with a file `p`. */
  | { readonly t: 'swap'; readonly c: ClientName; readonly p: (typeof FOLDERS)[number] };

const clientArb = fc.constantFrom(...CLIENTS);

function actionArb(paths: readonly string[]): fc.Arbitrary<Action> {
  // The first path is picked most often, so edits collide and conflicts (and their resolution) are common.
  const path = fc.oneof({ weight: 3, arbitrary: fc.constant(paths[0]!) }, { weight: 2, arbitrary: fc.constantFrom(...paths) });
  // Where clashes are generated, so are file/folder swaps and files under nested `.bm-log` names.
  const clashes = paths.includes('d');
  return fc.oneof(
    { weight: clashes ? 2 : 0, arbitrary: fc.record({ t: fc.constant('swap' as const), c: clientArb, p: fc.constantFrom(...FOLDERS) }) },
    {
      weight: clashes ? 1 : 0,
      arbitrary: fc.record({
        t: fc.constant('write' as const),
        c: clientArb,
        p: fc.constantFrom(...STATE_PATHS),
        bytes: fc.constant(null),
      }),
    },
    // bytes null: a byte string no one else ever writes; 'x' and 'y' make same-bytes cases.
    {
      weight: 5,
      arbitrary: fc.record({
        t: fc.constant('write' as const),
        c: clientArb,
        p: path,
        bytes: fc.option(fc.constantFrom('x', 'y'), { nil: null }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('delete' as const), c: clientArb, pick: fc.nat(9) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('deleteCopy' as const), c: clientArb, pick: fc.nat(3) }) },
    { weight: 6, arbitrary: fc.record({ t: fc.constant('sync' as const), c: clientArb }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('round' as const), c: clientArb }) },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant('stop' as const),
        c: clientArb,
        at: fc.constantFrom<RoundStop>('after-publish', 'before-commit'),
      }),
    },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('dropCopies' as const), c: clientArb, pick: fc.nat(3) }) },
  );
}

const scriptArb = (paths: readonly string[] = PATHS) => fc.array(actionArb(paths), { minLength: 1, maxLength: 40, size: 'max' });

interface Hooks {
  /** After each full sync of a client. */
  readonly afterSync?: (c: ClientName, before: ReadonlyMap<string, string>) => void | Promise<void>;
  /** After each step, with the index of the journal entries it added. */
  readonly afterStep?: (a: Action, i: number, journalFrom: number) => void;
}

function copiesOf(world: World, c: string, p: string): string[] {
  return [...mustClient(world, c).base.values()].filter((b) => b.copyOf?.path === p).map((b) => b.path);
}

async function runScript(world: World, script: readonly Action[], hooks: Hooks = {}): Promise<void> {
  for (const [i, a] of script.entries()) {
    const journalFrom = world.journal.length;
    switch (a.t) {
      case 'write':
        writeUserFile(world, a.c, a.p, a.bytes ?? `${a.c}${i}`);
        break;
      case 'delete':
      case 'deleteCopy': {
        const files = [...mustClient(world, a.c).tree.files.keys()]
          .filter((p) => isConflictCopyName(p) === (a.t === 'deleteCopy') && !isStatePath(p))
          .sort();
        if (files.length > 0) deleteUserFile(world, a.c, files[a.pick % files.length]!);
        break;
      }
      case 'dropCopies': {
        const owners = [
          ...new Set([...mustClient(world, a.c).base.values()].flatMap((b) => (b.copyOf ? [b.copyOf.path as string] : []))),
        ].sort();
        if (owners.length > 0) for (const cp of copiesOf(world, a.c, owners[a.pick % owners.length]!)) deleteUserFile(world, a.c, cp);
        break;
      }
      case 'swap':
        swapFileAndFolder(world, a.c, a.p, `${a.c}${i}`);
        break;
      case 'round':
        await syncRound(world, a.c);
        break;
      case 'stop':
        await syncRound(world, a.c, a.at);
        break;
      case 'sync': {
        const before = new Map(Object.entries(computeTree(world, a.c)));
        await sync(world, a.c);
        await hooks.afterSync?.(a.c, before);
        break;
      }
    }
    hooks.afterStep?.(a, i, journalFrom);
  }
}

/** A file `p` becomes a folder holding `p/x.md`, or the folder `p/` becomes a file `p` (a user's move). */
function swapFileAndFolder(world: World, c: ClientName, p: string, bytes: string): void {
  const tree = mustClient(world, c).tree.files;
  const inside = [...tree.keys()].filter((f) => f.startsWith(`${p}/`));
  // (A folder holding a nested bm-log folder's state is not the user's to turn into a file.)
  if (inside.some(isStatePath)) return;
  if (inside.length > 0) {
    for (const f of inside) deleteUserFile(world, c, f);
    writeUserFile(world, c, p, bytes);
  } else {
    deleteUserFile(world, c, p);
    writeUserFile(world, c, `${p}/x.md`, bytes);
  }
}

/** Quiescence: every client syncs twice in a row. */
async function quiesce(world: World): Promise<void> {
  for (let pass = 0; pass < 2; pass++) for (const c of CLIENTS) await sync(world, c);
}

/**
 * Where client `c` shows each live head of each path at quiescence: the winner at its path and
 * every other live head as a conflict copy, except where the winner is a file and a folder
 * stands at its name: a live path lies below it in the cloud, or (on `c` only) a folder of
 * `c`'s own unsynced files, a nested bm-log state. Then the folder keeps the name and every
 * live head is a copy (ADR-0016).
 */
function computeShownAt(world: World, c: string): Map<string, VersionRecord> {
  const cloud = project(world);
  const live = [...cloud].filter(([, st]) => computeHeads(st)[0]?.content).map(([p]) => p as string);
  const own = [...mustClient(world, c).tree.files.keys()].filter(isStatePath);
  return computeShownHeads(cloud, computeClientName(world), (path) => [...live, ...own].some((q) => q.startsWith(`${path}/`)));
}

/** What client `c`'s tree must be at quiescence (its `.bm-log` files aside: each client's own). */
function computeExpectedTree(world: World, c: string): Record<string, string> {
  const shown = [...computeShownAt(world, c)].map(([p, v]) => [p, computeVersionBytes(world, v)!] as const);
  return Object.fromEntries(shown.sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** A client's tree as the convergence property compares it: without its own `.bm-log` files. */
function computeUserTree(world: World, c: string): Record<string, string> {
  return Object.fromEntries(Object.entries(computeTree(world, c)).filter(([p]) => !isStatePath(p)));
}

/** A world of the three clients after `script`, synced to quiescence. */
async function runToQuiescence(script: readonly Action[]): Promise<World> {
  const world = createWorld(CLIENTS);
  await runScript(world, script);
  await quiesce(world);
  return world;
}

/** Version id -> the id of the client that published it. */
function computeWriters(world: World): Map<string, string> {
  return new Map(world.cloud.map((v) => [v.id as string, v.client]));
}

/** The ids each published version's writer had in its base for that path when it planned. */
function computeWriterBases(world: World): Map<VersionId, ReadonlySet<VersionId>> {
  const out = new Map<VersionId, ReadonlySet<VersionId>>();
  for (const e of world.journal) if (e.type === 'published') out.set(e.version.id, e.baseIds);
  return out;
}

/** FC_SCALE=20 multiplies every numRuns, for a deep run; the default keeps the file near 5 s. */
const SCALE = Number(process.env['FC_SCALE'] ?? '1');
const runs = (n: number) => ({ numRuns: Math.max(1, Math.round(n * SCALE)) });

const fmt = (script: readonly Action[]) => script.map((a) => JSON.stringify(a)).join('\n');

describe('reconcile in a world of three clients', () => {
  it('plan idempotence: after a sync reaches a no-op plan, planning again yields no ops and another sync publishes no event', async () => {
    await fc.assert(
      fc.asyncProperty(scriptArb(CLASH_PATHS), async (script) => {
        const world = createWorld(CLIENTS);
        await runScript(world, script, {
          afterSync: async (c) => {
            expect(planRound(world, c).ops).toEqual([]);
            const again = await sync(world, c);
            expect(again.rounds).toBe(0);
            expect(again.published).toEqual([]);
          },
        });
      }),
      runs(150),
    );
  });

  it('no data loss: every put version is a live head shown on every client, or was replaced by a writer that had it in its base; every synced byte string is in the cloud', async () => {
    await fc.assert(
      fc.asyncProperty(scriptArb(CLASH_PATHS), async (script) => {
        const world = createWorld(CLIENTS);
        await runScript(world, script, {
          afterSync: (c, before) => {
            // Every file the client had when it synced (its writes included) is now recoverable.
            const inCloud = new Set(world.cloud.flatMap((v) => (v.content ? [v.content.hash as string] : [])));
            for (const [p, bytes] of before) {
              if (p.includes('.conflict-') || isStatePath(p)) continue;
              expect(inCloud.has(computeBytesHash(bytes)), `${c}: ${p} = ${JSON.stringify(bytes)} synced but not in the cloud`).toBe(true);
            }
          },
        });
        await quiesce(world);
        const bases = computeWriterBases(world);
        const cloud = project(world);
        const shownAt = new Map(CLIENTS.map((c) => [c, new Map([...computeShownAt(world, c)].map(([p, h]) => [h.id as string, p]))]));
        for (const v of world.cloud) {
          if (v.content === null) continue;
          const heads = computeHeads(cloud.get(v.path)!);
          const i = heads.findIndex((h) => h.id === v.id);
          if (i >= 0) {
            for (const c of CLIENTS) {
              const at = shownAt.get(c)!.get(v.id)!;
              // A copy its user deleted (others remaining) is still tracked: a choice, not a loss.
              if (
                at !== v.path &&
                !mustClient(world, c).tree.files.has(at) &&
                mustClient(world, c).base.get(at as SyncPath)?.copyOf?.version === v.id
              )
                continue;
              expect(computeTree(world, c)[at], `${c} does not show head ${v.id} at ${at}`).toBe(computeVersionBytes(world, v));
            }
            continue;
          }
          // Replaced by a writer that had it in its base, or by its own writer (recorded or not).
          const by = world.cloud.filter((w) => w.replaces.includes(v.id) && (bases.get(w.id)?.has(v.id) || w.client === v.client));
          expect(
            by.length,
            `${v.path} ${v.id} (${JSON.stringify(computeVersionBytes(world, v))}) was replaced only by writers that never had it`,
          ).toBeGreaterThan(0);
        }
      }),
      runs(150),
    );
  });

  it('convergence: after every client syncs twice in a row, all trees are identical, conflict copies included, and the main paths hold the winners (a folder keeps a name a file claims too)', async () => {
    await fc.assert(
      // Without deleteCopy: one deleted copy among several is a local choice (ADR-0001), so that
      // client's tree keeps differing until the conflict is resolved.
      fc.asyncProperty(
        scriptArb(CLASH_PATHS).map((s) => s.filter((a) => a.t !== 'deleteCopy')),
        async (script) => {
          const world = createWorld(CLIENTS);
          await runScript(world, script);
          await quiesce(world);
          for (const c of CLIENTS) expect(computeUserTree(world, c), `tree of ${c}\n${fmt(script)}`).toEqual(computeExpectedTree(world, c));
          const published = world.cloud.length;
          for (const c of CLIENTS) await sync(world, c);
          expect(world.cloud.length, 'a sync after quiescence published events').toBe(published);
        },
      ),
      runs(150),
    );
  });

  it("bm-log's state is never synced: files under a .bm-log name at any depth are never published, downloaded or written by a sync", async () => {
    await fc.assert(
      fc.asyncProperty(scriptArb(CLASH_PATHS), async (script) => {
        const world = createWorld(CLIENTS);
        // The .bm-log files each user managed to write (a file where a folder is needed refuses one).
        const own = new Map<string, Set<string>>(CLIENTS.map((c) => [c, new Set()]));
        await runScript(world, script, {
          afterStep: (a) => a.t === 'write' && isStatePath(a.p) && mustClient(world, a.c).tree.files.has(a.p) && own.get(a.c)!.add(a.p),
        });
        await quiesce(world);
        for (const e of world.journal) {
          if (e.type === 'published') expect(isStatePath(e.version.path), `${e.client} published ${e.version.path}`).toBe(false);
          else expect(isStatePath(e.op.path), `${e.client}: ${e.op.kind} ${e.op.path}`).toBe(false);
        }
        // Each client still has exactly those, as its user wrote them: no sync touched them.
        for (const c of CLIENTS) expect(Object.keys(computeTree(world, c)).filter(isStatePath).sort()).toEqual([...own.get(c)!].sort());
      }),
      runs(100),
    );
  });

  it('a delete never destroys an edit its writer had not seen: a tombstone (or resolve) replaces only versions its writer had in its base', async () => {
    await fc.assert(
      fc.asyncProperty(scriptArb(CLASH_PATHS), async (script) => {
        const world = await runToQuiescence(script);
        const bases = computeWriterBases(world);
        const writer = computeWriters(world);
        for (const v of world.cloud) {
          if (v.type === 'put') continue;
          const base = bases.get(v.id)!;
          // (A client's own versions are always its own to replace, recorded in its base or not.)
          for (const r of v.replaces)
            expect(
              base.has(r) || writer.get(r) === v.client,
              `${v.type} ${v.id} at ${v.path} replaced ${r}, which its writer never had`,
            ).toBe(true);
        }
      }),
      runs(150),
    );
  });

  it("a client's own successive versions are never concurrent: each version it publishes replaces its own version its file was derived from, also after syncs that stopped between publishing and committing", async () => {
    await fc.assert(
      fc.asyncProperty(scriptArb(CLASH_PATHS), async (script) => {
        const world = await runToQuiescence(script);
        const writer = computeWriters(world);
        for (const e of world.journal) {
          if (e.type !== 'published' || e.derivedFrom === undefined || !e.headsBefore.includes(e.derivedFrom)) continue;
          // (A file derived from another client's version whose download was never committed
          // is not known to be derived from it: that stays a conflict, both kept. ADR-0016.)
          if (writer.get(e.derivedFrom) !== e.version.client) continue;
          expect(
            e.version.replaces,
            `${e.client}: ${e.version.type} ${e.version.id} at ${e.version.path} left ${e.derivedFrom}, which its file was derived from\n${fmt(script)}`,
          ).toContain(e.derivedFrom);
        }
      }),
      runs(150),
    );
  });

  it('no resurrection: a path a client saw deleted is not uploaded again by that client unless it wrote to it again', async () => {
    await fc.assert(
      fc.asyncProperty(scriptArb(CLASH_PATHS), async (script) => {
        const world = createWorld(CLIENTS);
        // client/path -> true once the client's sync removed the path (or published its delete)
        // and the user has not written it since.
        const sawDeleted = new Set<string>();
        const key = (c: string, p: string) => `${c}\u0000${p}`;
        const check = (from: number) => {
          for (const e of world.journal.slice(from)) {
            if (e.type === 'published') {
              const k = key(e.client, e.version.path);
              if (e.version.type === 'put') expect(sawDeleted.has(k), `${e.client} resurrected ${e.version.path}`).toBe(false);
              if (e.version.content === null) sawDeleted.add(k);
            } else if (e.type === 'applied') {
              if (e.op.kind === 'deleteLocal') sawDeleted.add(key(e.client, e.op.path));
              if (e.op.kind === 'download') sawDeleted.delete(key(e.client, e.op.path));
            }
          }
        };
        await runScript(world, script, {
          afterStep: (a, _i, from) => {
            if (a.t === 'write') sawDeleted.delete(key(a.c, a.p));
            // A swap writes `p` or `p/x.md` anew (which one, the tree tells).
            if (a.t === 'swap')
              for (const p of [a.p, `${a.p}/x.md`]) if (mustClient(world, a.c).tree.files.has(p)) sawDeleted.delete(key(a.c, p));
            check(from);
          },
        });
        const from = world.journal.length;
        await quiesce(world);
        check(from);
      }),
      runs(150),
    );
  });

  // (Scopes vary by subscriptions and a file rule, not a folder rule: a client that ignores a folder
  // in which it keeps a file, while a file of that name is live in the cloud, plans a download over
  // its folder, on main too: a gap of its own, reported with ADR-0024, not this property's subject.)
  it("planSync's ops equal the per-path decision table's (decidePath on every path, no fast path) for every client after every step", async () => {
    let asked = 0;
    let inSync = 0;
    await fc.assert(
      fc.asyncProperty(
        scriptArb(CLASH_PATHS),
        fc.constantFrom<readonly string[]>([], ['d/']),
        fc.constantFrom('', '/e.md'),
        async (script, subs, rules) => {
          const world = createWorld(CLIENTS);
          mustClient(world, 'c').subscriptions = [...subs];
          setIgnoreRules(mustClient(world, 'b'), rules);
          await runScript(world, script, {
            afterStep: () => {
              for (const c of CLIENTS) {
                const input = computePlanInput(world, c);
                const table = planByTable(input);
                const plan = planSync(input);
                expect(plan.ops, `${c} after:\n${fmt(script)}`).toEqual(table.ops);
                expect(plan.conflicts).toEqual(table.conflicts);
                asked += table.paths;
                inSync += [...input.base.keys()].filter((p) => !table.ops.some((o) => o.path === p)).length;
              }
            },
          });
        },
      ),
      runs(100),
    );
    // The in-sync fast path (paths with no op) must have been taken, not only the table's other rows.
    expect(inSync).toBeGreaterThan(asked / 10);
  });

  it('missing data never yields a tombstone: paths marked unreadable, ignored or unsubscribed are never tombstoned, deleted, downloaded or resolved', async () => {
    const markArb = fc.record({
      how: fc.constantFrom('unreadable', 'ignored', 'unsubscribed'),
      /** Indices into the folders plus the client's files at marking time (conflict copies included). */
      picks: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
      subscriptions: fc.constantFrom(['d/'], ['d/e/'], ['none/']),
      /** Delete the marked files that are still visible (a user cleaning up an unsubscribed folder). */
      dropVisible: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(scriptArb(), clientArb, markArb, scriptArb(), async (before, x, mark, after) => {
        const world = createWorld(CLIENTS);
        await runScript(world, before);
        for (const c of CLIENTS) await sync(world, c);
        const client = mustClient(world, x);
        const entries = [...FOLDERS, ...client.tree.files.keys()];
        const picked = [...new Set(mark.picks.map((i) => entries[i % entries.length]!))];
        const under = (p: string, e: string) => p === e || p.startsWith(`${e}/`);
        let marked: (p: string) => boolean;
        if (mark.how === 'unreadable') {
          client.unreadable = picked;
          marked = (p) => picked.some((e) => under(p, e));
        } else if (mark.how === 'ignored') {
          setIgnoreRules(client, picked.map((e) => ((FOLDERS as readonly string[]).includes(e) ? `/${e}/` : `/${e}`)).join('\n'));
          marked = (p) => picked.some((e) => under(p, e));
        } else {
          client.subscriptions = [...mark.subscriptions];
          marked = (p) => !isSubscribed(p, mark.subscriptions);
        }
        if (mark.dropVisible) for (const p of [...client.tree.files.keys()]) if (marked(p)) deleteUserFile(world, x, p);

        // A marked path, or a version shown by a marked conflict copy (a resolve may reject the
        // versions whose copies the user deleted, never one whose copy is unknown).
        const touches = (op: PlanOp): boolean => {
          if (marked(op.path)) return true;
          if (op.kind === 'resolve') {
            const hidden = [...mustClient(world, x).base.values()]
              .filter((b) => b.copyOf?.path === op.path && marked(b.path))
              .map((b) => b.copyOf!.version);
            return op.replaces.some((id) => hidden.includes(id));
          }
          return op.kind === 'writeCopy' && marked(op.of);
        };
        const allowed = new Set<PlanOp['kind']>(['record', 'forget']);
        const checkPlan = () => {
          const bad = planRound(world, x).ops.filter((op) => touches(op) && !allowed.has(op.kind));
          expect(
            bad.map((o) => `${o.kind} ${o.path}`),
            `${x} marked ${mark.how}: ${picked.join(', ')}`,
          ).toEqual([]);
        };
        checkPlan();
        const markedAt = world.journal.length;
        await runScript(world, after, { afterStep: (a) => a.c === x && checkPlan() });
        await quiesce(world);
        checkPlan();
        for (const e of world.journal.slice(markedAt)) {
          if (e.client !== x || e.type === 'skipped') continue;
          const op: PlanOp | undefined = e.type === 'applied' ? e.op : undefined;
          if (op && touches(op) && !allowed.has(op.kind))
            expect.fail(`${x} carried out ${op.kind} ${op.path} on a path marked ${mark.how}`);
        }
      }),
      runs(100),
    );
  });
});
