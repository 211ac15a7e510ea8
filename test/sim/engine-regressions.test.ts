import { describe, expect, it } from 'vitest';
import { BmError, ErrorCode } from '../../src/errors.js';
import type { ClientId, VersionId } from '../../src/events/ids.js';
import { MemoryStore } from '../../src/events/store/memory-store.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import type { MemoryIndex } from '../support/memory-index.js';
import type { MemoryTree } from '../support/memory-tree.js';
import { projectVersions } from '../../src/projections/project-paths.js';
import type { VersionRecord } from '../../src/projections/version-record.js';
import type { BaseEntry } from '../../src/reconcile/ports.js';
import { computeConflictCopyPath } from '../../src/reconcile/conflict-copy-name.js';
import type { LocalFile } from '../../src/reconcile/ports.js';
import { NoticeReason, planSync } from '../../src/reconcile/plan-sync.js';
import { runSync } from '../../src/reconcile/run-sync.js';
import { sha256Hex } from '../../src/events/signing.js';
import { createClock, createSimClient, syncContextOf } from '../support/test-world.js';

/** Bugs the simulation found in the engine, each pinned by a direct test. */

const enc = (s: string) => new TextEncoder().encode(s);
const sp = (p: string) => p as SyncPath;

/** `target` with some methods replaced; the others still run on `target` itself. */
function overriding<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(t, key) {
      if (key in overrides) return overrides[key as keyof T];
      const v: unknown = Reflect.get(t, key);
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(t) : v;
    },
  });
}

describe('runSync: a file that vanishes between the scan and its upload (simulation seeds 23, 46, 52)', () => {
  it('skips that file and completes the sync instead of failing on a raw ENOENT', async () => {
    const store = new MemoryStore();
    const clock = createClock();
    const alice = await createSimClient(store, 'alice', '01RGA', clock);
    alice.tree.userWrite('a.txt', enc('deleted before its upload'));
    alice.tree.userWrite('b.txt', enc('kept'));
    // The user deletes a.txt right when the engine opens it for the upload.
    const tree = overriding(alice.tree, {
      openRead: (p: SyncPath) => {
        if (p === 'a.txt') alice.tree.userDelete(p);
        return alice.tree.openRead(p);
      },
    });
    const report = await runSync(syncContextOf(alice, { store, now: clock.now, tree }));
    expect(report.skipped).toEqual([expect.objectContaining({ path: 'a.txt', op: 'upload' })]);
    expect(report.applied.filter((o) => o.kind === 'upload').map((o) => o.path)).toEqual(['b.txt']);
    // The next sync sees the delete as a delete of a file the cloud never had.
    const again = await runSync(syncContextOf(alice, { store, now: clock.now }));
    expect(again.eventsPublished).toBe(0);
    expect(again.skipped).toEqual([]);
  });
});

describe('planSync: a conflict copy left untracked by a crash (simulation seeds 167, 171, 208)', () => {
  const path = sp('notes/plan.md');
  const alice = '01RGA000000000000000000001' as ClientId;
  const bob = '01RGB000000000000000000001' as ClientId;
  const hashOf = (s: string) => sha256Hex(s);
  const version = (id: string, client: ClientId, text: string, replaces: string[] = []): VersionRecord => ({
    id: id as VersionId,
    path,
    type: replaces.length > 1 ? 'resolve' : 'put',
    client,
    seq: 1,
    time: '2024-01-01T00:00:00.000Z',
    replaces: replaces as VersionId[],
    content: { hash: hashOf(text) as never, size: text.length, mode: 0o644 },
    seen: {},
    snapshot: null,
  });
  const file = (p: string, text: string, ino: number): LocalFile => ({
    path: sp(p),
    hash: hashOf(text),
    size: text.length,
    mode: 0o644,
    mtimeMs: 1_700_000_000_000 + ino,
    ino,
  });
  // Alice and Bob edited concurrently; Alice's sync wrote Bob's version as a copy and died
  // before recording it; then Alice (elsewhere) resolved the conflict for good.
  const a = version('01RGA00000000000000000000A', alice, 'alice');
  const b = version('01RGB00000000000000000000B', bob, 'bob');
  const r = version('01RGA00000000000000000000R', alice, 'resolved', [a.id, b.id]);
  const cloud = projectVersions([a, b, r]);
  const copy = computeConflictCopyPath(path, 'bob', b.id);
  const main = file(path, 'resolved', 1);
  const base = new Map<string, BaseEntry>([[path, { ...main, heads: [r.id], version: r.id }]]);
  const plan = (copyText: string) =>
    planSync({
      base,
      local: {
        files: new Map([
          [path, main],
          [copy, file(copy, copyText, 2)],
        ]),
        dirs: new Set(['notes']),
        unreadable: [],
      },
      cloud,
      options: { subscriptions: [], isIgnored: () => false, clientName: (c) => (c === bob ? 'bob' : 'alice'), self: alice },
    });

  it('removes the copy once its version is no longer a losing head', () => {
    const p = plan('bob');
    expect(p.ops).toEqual([{ kind: 'removeCopy', path: copy, expect: file(copy, 'bob', 2) }]);
    expect(p.notices.filter((n) => n.reason === NoticeReason.untrackedConflictCopy)).toEqual([]);
  });

  it('leaves a file with that name but other bytes alone', () => {
    const p = plan('bob, then edited by hand');
    expect(p.ops).toEqual([]);
    expect(p.notices).toEqual([expect.objectContaining({ path: copy, reason: NoticeReason.untrackedConflictCopy })]);
  });

  it('end to end: the copy goes at the next sync after the crash', async () => {
    const store = new MemoryStore();
    const clock = createClock();
    const [al, bo] = [await createSimClient(store, 'alice', '01RGA', clock), await createSimClient(store, 'bob', '01RGB', clock)];
    al.tree.userWrite('f.txt', enc('alice'));
    bo.tree.userWrite('f.txt', enc('bob'));
    await runSync(syncContextOf(al, { store, now: clock.now }));
    await runSync(syncContextOf(bo, { store, now: clock.now }));
    // Alice's sync writes the conflict copy, then dies at its final manifest commit.
    const dying = overriding(al.index, {
      commitBatch: async (ops: Parameters<MemoryIndex['commitBatch']>[0]) => {
        if (ops.manifestPut?.some((e) => e.copyOf)) throw new Error('killed');
        return al.index.commitBatch(ops);
      },
    });
    await expect(runSync(syncContextOf(al, { store, now: clock.now, index: dying }))).rejects.toThrow('killed');
    const copies = () => [...al.tree.files.keys()].filter((p) => p.includes('.conflict-'));
    expect(copies()).toHaveLength(1);
    // Bob resolves the conflict by deleting his copy of it.
    await runSync(syncContextOf(bo, { store, now: clock.now }));
    for (const p of [...bo.tree.files.keys()]) if (p.includes('.conflict-')) bo.tree.userDelete(p);
    await runSync(syncContextOf(bo, { store, now: clock.now }));
    await runSync(syncContextOf(al, { store, now: clock.now }));
    expect(copies()).toEqual([]);
    expect([...al.tree.files.keys()]).toEqual([...bo.tree.files.keys()]);
  });
});

describe('deleting the conflict copies while a sync writes a new one (simulation seeds 3970, 8865, 27852, 29261, 33720, 36218, 38943)', () => {
  // The user deletes every conflict copy of f.txt they can see, while the sync in flight writes
  // a copy of a newer concurrent version. The deleted copy's version is still a losing head and
  // the new copy is there, so "every copy gone" does not hold. Fixed by the partial resolve
  // (ADR-0001): a deleted copy rejects its version even while other copies remain.
  it('the client converges with the others', async () => {
    const store = new MemoryStore();
    const clock = createClock();
    const [al, bo, ca] = [
      await createSimClient(store, 'alice', '01RGA', clock),
      await createSimClient(store, 'bob', '01RGB', clock),
      await createSimClient(store, 'carol', '01RGC', clock),
    ];
    const sync = (c: typeof al, tree?: typeof al.tree) => runSync(syncContextOf(c, { store, now: clock.now, ...(tree ? { tree } : {}) }));
    const copies = (c: typeof al) => [...c.tree.files.keys()].filter((p) => p.includes('.conflict-')).sort();
    al.tree.userWrite('f.txt', enc('alice'));
    bo.tree.userWrite('f.txt', enc('bob'));
    await sync(al);
    await sync(bo);
    await sync(al); // alice now shows the winner and one conflict copy
    expect(copies(al)).toHaveLength(1);
    ca.tree.userWrite('f.txt', enc('carol'));
    await sync(ca); // a third concurrent version
    const seen = copies(al);
    const racing = overriding(al.tree, {
      writeFile: (p: SyncPath, ...rest: Parameters<MemoryTree['writeFile']> extends [unknown, ...infer R] ? R : never) => {
        if (p.includes('.conflict-')) for (const cp of seen) al.tree.userDelete(cp); // "delete all the copies"
        return al.tree.writeFile(p, ...rest);
      },
    });
    await sync(al, racing);
    for (let i = 0; i < 3; i++) for (const c of [al, bo, ca]) await sync(c);
    const files = (c: typeof al) => [...c.tree.files].map(([p, f]) => `${p} ${f.hash}`).sort();
    expect(files(al)).toEqual(files(bo));
  });
});

describe('runSync: a local step that fails is tried once per sync, not once per round', () => {
  it('a corrupt blob is skipped once and the sync ends after the round that published nothing', async () => {
    const store = new MemoryStore();
    const clock = createClock();
    const alice = await createSimClient(store, 'alice', '01RGC', clock);
    const bob = await createSimClient(store, 'bob', '01RGD', clock);
    alice.tree.userWrite('n.md', enc('good bytes'));
    await runSync(syncContextOf(alice, { store, now: clock.now }));
    // Tamper with the blob on the remote: the download must be refused, once.
    const key = [...store.objects.keys()].find((k) => k.startsWith('blobs/'))!;
    store.objects.set(key, enc('evil bytes'));
    const report = await runSync(syncContextOf(bob, { store, now: clock.now }));
    expect(report.skipped.map((s) => [s.path, s.op])).toEqual([['n.md', 'download']]);
    expect(report.rounds).toBe(1);
  });
});

describe('runSync: its own segment stored but unacknowledged, then missed by a listing (reliability run, about 1 in 10)', () => {
  it('is found by the direct probe and folded, never reported as equivocation', async () => {
    const store = new MemoryStore();
    const clock = createClock();
    const alice = await createSimClient(store, 'alice', '01RGE', clock);
    alice.tree.userWrite('a.md', enc('one'));
    // The segment write lands but its acknowledgement is lost.
    const lossy = overriding(store, {
      putIfAbsent: async (key: string, body: Parameters<MemoryStore['putIfAbsent']>[1]) => {
        const r = await store.putIfAbsent(key, body);
        if (key.startsWith('log/')) throw new BmError(ErrorCode.remoteUnavailable, 'lost acknowledgement', 'retry');
        return r;
      },
    });
    await expect(runSync(syncContextOf(alice, { store: lossy, now: clock.now }))).rejects.toMatchObject({ code: 'remote-unavailable' });
    // A listing that lags behind the write: the own log looks empty.
    const lagging = overriding(store, {
      list: async (prefix: string, o?: { startAfter?: string; limit?: number }) =>
        prefix.startsWith('log/') ? { objects: [], truncated: false } : store.list(prefix, o),
    });
    const report = await runSync(syncContextOf(alice, { store: lagging, now: clock.now }));
    expect(report.faults).toEqual([]);
    expect(report.eventsPublished).toBe(0); // the earlier segment already says a.md
    expect([...store.objects.keys()].filter((k) => k.startsWith('log/'))).toHaveLength(1);
  });
});
