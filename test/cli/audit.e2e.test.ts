/**
 * Audit and restore end to end (issue 5), with the built CLI in child processes on a
 * local-directory remote. A three-client history is built by real syncs (puts, edits, a
 * conflict and its resolve, a delete, a rename), then `log`, `show`, `ls --at` and
 * `restore` are checked against it; `verify` is checked against each kind of tampering done
 * directly on the remote's objects, each in a fresh world. Last, one in-process check on a
 * real LocalIndex that `log PATH` reads only what its move detection needs.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readPathHistory } from '../../src/api/folder-log.js';
import { computeRecordedMove } from '../../src/cli/log-lines.js';
import type { ClientSession } from '../../src/client/client-session.js';
import { encodeSegment } from '../../src/events/codec.js';
import { counterIdFactory, type ClientId, type VaultId, type VersionId } from '../../src/events/ids.js';
import { computeSegmentFormat, type Event, type SegmentBody } from '../../src/events/schema.js';
import { generateKeyPair } from '../../src/events/signing.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { LocalIndex } from '../../src/local/local-index.js';
import {
  BIN,
  EXIT,
  expectExit,
  findPackedContent,
  flipByte,
  sha256,
  sortedObject,
  useWorlds,
  type Client,
  type World,
} from './support/cli.js';

const { world } = useWorlds();

/** The dist/ that BIN runs, for building forged objects with bm-log's own codec. */
const DIST = path.join(path.dirname(BIN), '..', 'dist');
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const HEX64 = /^[0-9a-f]{64}$/;
/** Bytes that are not valid UTF-8: `show` must print them unchanged. */
const BINARY = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x61, 0x0a, 0xc3, 0x28, 0xe2, 0x82]);
/** 33 versions in one segment: two of them share their last character (pigeonhole), for an ambiguous id. */
const BULK = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`bulk/f${String(i).padStart(2, '0')}.md`, `bulk ${i}\n`]));

interface LogEvent {
  readonly path: string;
  readonly version: string;
  readonly type: 'put' | 'tombstone' | 'resolve';
  readonly client: string;
  readonly clientName: string | null;
  readonly time: string;
  readonly hash: string | null;
  readonly size: number | null;
  readonly replaces: string[];
  readonly seen: Record<string, number>;
  readonly snapshot: string | null;
  readonly seq: number;
  readonly move: { from: string; to: string } | null;
  readonly change: 'created' | 'edited' | 'deleted' | 'restored' | 'resolved' | 'moved';
}

async function logOf(c: Client, ...args: string[]): Promise<LogEvent[]> {
  return (expectExit(await c.run('log', '--json', ...args), EXIT.ok).json as { events: LogEvent[] }).events;
}

/** `bm-log ...args --dir DIR` with stdout as raw bytes (`show` prints any bytes). */
function runRaw(c: Client, ...args: string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, ...args, '--dir', c.dir],
      { encoding: 'buffer', env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (error as { code?: unknown }).code : 0;
        if (typeof code !== 'number') return reject(error ?? new Error('no exit code'));
        resolve({ code, stdout, stderr: stderr.toString('utf8') });
      },
    );
  });
}

/** An ISO time strictly between two event times. */
function between(t1: string, t2: string): string {
  const a = Date.parse(t1);
  const b = Date.parse(t2);
  expect(b - a, `${t1} .. ${t2}`).toBeGreaterThanOrEqual(2);
  return new Date(Math.floor((a + b) / 2)).toISOString();
}

/** The file paths and hashes `ls --json` lists. */
async function lsOf(c: Client, ...args: string[]): Promise<Record<string, string>> {
  const files = (expectExit(await c.run('ls', '--json', ...args), EXIT.ok).json as { files: { path: string; hash: string }[] }).files;
  return Object.fromEntries(files.map((f) => [f.path, f.hash]));
}

function without(tree: Record<string, string>, prefix: string): Record<string, string> {
  return Object.fromEntries(Object.entries(tree).filter(([p]) => !p.startsWith(prefix)));
}

/**
 * A history made by real syncs of three clients:
 *   alice creates readme.md, notes/{plan,old,keep}.md, bin.dat (and, `full`, bulk/*); bob and carol join;
 *   alice edits plan.md (v2); bob edits it (v3);
 *   (`full`) carol and alice edit readme.md concurrently (a conflict), alice resolves it;
 *   carol deletes notes/old.md; bob renames notes/keep.md to notes/kept.md;
 *   carol adds notes/new.md; everyone syncs.
 * T is a time after plan v3 and before anything later.
 */
async function buildHistory(full: boolean) {
  const w = await world();
  await w.client('alice').write('bin.dat', BINARY);
  const a = await w.init('alice', {
    files: {
      'readme.md': 'readme v1\n',
      'notes/plan.md': 'plan v1\n',
      'notes/old.md': 'old\n',
      'notes/keep.md': 'keep me\n',
      ...(full ? BULK : {}),
    },
  });
  const b = await w.init('bob');
  const c = await w.init('carol');
  await a.write('notes/plan.md', 'plan v2\n');
  await a.syncOk();
  await b.syncOk();
  await b.write('notes/plan.md', 'plan v3\n');
  await b.syncOk();
  if (full) {
    await c.write('readme.md', 'readme by carol\n');
    await c.syncOk();
    await a.write('readme.md', 'readme by alice\n');
    const conflicted = await a.syncOk();
    expect(conflicted.conflicts.map((x) => x.path)).toEqual(['readme.md']);
    await a.write('readme.md', 'readme resolved\n');
    expectExit(await a.run('resolve', 'readme.md', '--json'), EXIT.ok);
  }
  await c.rm('notes/old.md');
  await c.syncOk();
  await fs.rename(b.abs('notes/keep.md'), b.abs('notes/kept.md'));
  const renamed = await b.syncOk();
  expect(
    renamed.applied
      .filter((o) => o.path.startsWith('notes/ke'))
      .map((o) => `${o.kind} ${o.path}`)
      .sort(),
  ).toEqual(['tombstone notes/keep.md', 'upload notes/kept.md']);
  await c.write('notes/new.md', 'new\n');
  await c.syncOk();
  await a.syncOk();
  await b.syncOk();
  const ids = { alice: await a.clientId(), bob: await b.clientId(), carol: await c.clientId() };
  const events = await logOf(a);
  const at = (p: string) => events.filter((e) => e.path === p);
  const plan = at('notes/plan.md');
  const readme = at('readme.md');
  const h = {
    planV3: plan[0]!,
    planV2: plan[1]!,
    planV1: plan[2]!,
    readmeResolve: readme[0]!,
    readmeAlice: readme[1]!,
    readmeCarol: readme[2]!,
    readmeV1: readme.at(-1)!,
    oldDelete: at('notes/old.md')[0]!,
    oldPut: at('notes/old.md')[1]!,
    keepDelete: at('notes/keep.md')[0]!,
    keepPut: at('notes/keep.md')[1]!,
    kept: at('notes/kept.md')[0]!,
    newPut: at('notes/new.md')[0]!,
    bin: at('bin.dat')[0]!,
  };
  const T = between(h.planV3.time, events[events.indexOf(h.planV3) - 1]!.time);
  return { w, a, b, c, ids, events, h, T };
}

/**
 * One full history for the read-only tests below, which run at the same time: each uses
 * its own client folder (a folder is locked while a command runs in it).
 */
let shared: ReturnType<typeof buildHistory> | undefined;
const sharedHistory = () => (shared ??= buildHistory(true));

describe.concurrent('audit: log, show, ls (one history, read only)', () => {
  it('log --json (alice): every event of every client, newest first, every field; --client, --since, --until, --limit', async () => {
    const { a, ids, events, h } = await sharedHistory();
    const names: Record<string, string> = { [ids.alice]: 'alice', [ids.bob]: 'bob', [ids.carol]: 'carol' };
    const pathEvents = events.filter((e) => !e.path.startsWith('bulk/'));
    expect(pathEvents.map((e) => `${e.type} ${e.path} ${e.clientName}`)).toEqual([
      'put notes/new.md carol',
      'put notes/kept.md bob',
      'tombstone notes/keep.md bob',
      'tombstone notes/old.md carol',
      'resolve readme.md alice',
      'put readme.md alice',
      'put readme.md carol',
      'put notes/plan.md bob',
      'put notes/plan.md alice',
      // alice's first segment: one time, newest id first
      ...events
        .filter((e) => e.seq === h.planV1.seq && e.client === ids.alice && !e.path.startsWith('bulk/'))
        .map((e) => `put ${e.path} alice`),
    ]);
    expect(events).toHaveLength(9 + 5 + 33);
    for (let i = 1; i < events.length; i++) expect(Date.parse(events[i - 1]!.time)).toBeGreaterThanOrEqual(Date.parse(events[i]!.time));
    const known = new Set(events.map((e) => e.version));
    expect(known.size).toBe(events.length);
    for (const e of events) {
      expect(e.version).toMatch(ULID);
      expect(e.clientName).toBe(names[e.client]);
      expect(new Date(e.time).toISOString()).toBe(e.time);
      expect(e.seq).toBeGreaterThanOrEqual(1);
      for (const r of e.replaces) expect(known.has(r), `${e.path} replaces ${r}`).toBe(true);
      // What the writer had seen: the other clients' heads, never its own.
      expect(Object.keys(e.seen).every((k) => k in names && k !== e.client)).toBe(true);
      expect(e.snapshot).toBeNull();
      // Moves are recorded in their events (ADR-0020): only the rename's two halves are one.
      expect(e.move).toEqual(e.path === 'notes/keep.md' || e.path === 'notes/kept.md' ? (e.move ?? null) : null);
      if (e.type === 'tombstone') expect([e.hash, e.size]).toEqual([null, null]);
      else expect(e.hash).toMatch(HEX64);
    }
    const content: Record<string, string> = {
      [h.planV1.version]: 'plan v1\n',
      [h.planV2.version]: 'plan v2\n',
      [h.planV3.version]: 'plan v3\n',
      [h.readmeV1.version]: 'readme v1\n',
      [h.readmeCarol.version]: 'readme by carol\n',
      [h.readmeAlice.version]: 'readme by alice\n',
      [h.readmeResolve.version]: 'readme resolved\n',
      [h.oldPut.version]: 'old\n',
      [h.keepPut.version]: 'keep me\n',
      [h.kept.version]: 'keep me\n',
      [h.newPut.version]: 'new\n',
    };
    for (const [v, text] of Object.entries(content)) {
      const e = events.find((x) => x.version === v)!;
      expect({ hash: e.hash, size: e.size }).toEqual({ hash: sha256(text), size: Buffer.byteLength(text) });
    }
    expect({ hash: h.bin.hash, size: h.bin.size }).toEqual({ hash: sha256(BINARY), size: BINARY.length });
    expect(h.planV3).toMatchObject({ client: ids.bob, clientName: 'bob', replaces: [h.planV2.version] });
    expect(h.planV2).toMatchObject({ client: ids.alice, replaces: [h.planV1.version] });
    expect(h.planV1.replaces).toEqual([]);
    expect(h.planV2.seq).toBeGreaterThan(h.planV1.seq);
    // Bob wrote v3 having seen alice's log up to the segment holding v2.
    expect(h.planV3.seen[ids.alice]).toBeGreaterThanOrEqual(h.planV2.seq);
    expect(h.readmeCarol.seen[ids.bob]).toBeGreaterThanOrEqual(h.planV3.seq);

    // --client by name or id, with a path, and an unknown client (exit 2).
    expect((await logOf(a, '--client', 'bob')).map((e) => `${e.type} ${e.path}`)).toEqual([
      'put notes/kept.md',
      'tombstone notes/keep.md',
      'put notes/plan.md',
    ]);
    expect(await logOf(a, '--client', ids.carol.toLowerCase())).toEqual(events.filter((e) => e.client === ids.carol));
    expect((await logOf(a, 'notes/plan.md', '--client', 'alice')).map((e) => e.version)).toEqual([h.planV2.version, h.planV1.version]);
    expect(expectExit(await a.run('log', '--client', 'mallory'), EXIT.usage).stderr).toMatch(/no client matches "mallory"/);
    // --since (inclusive) and --until (exclusive), alone, together, with --limit, and with an offset time.
    const since = h.planV2.time;
    const until = h.keepDelete.time;
    const window = events.filter((e) => e.time >= since && e.time < until);
    expect(window.map((e) => `${e.type} ${e.path}`)).toEqual([
      'tombstone notes/old.md',
      'resolve readme.md',
      'put readme.md',
      'put readme.md',
      'put notes/plan.md',
      'put notes/plan.md',
    ]);
    expect(await logOf(a, '--since', since.replace('Z', '+00:00'), '--until', until)).toEqual(window);
    expect(await logOf(a, '--since', since)).toEqual(events.filter((e) => e.time >= since));
    expect(await logOf(a, '--until', until, '--limit', '4')).toEqual(events.filter((e) => e.time < until).slice(0, 4));
    expect(await logOf(a, '--limit', '3')).toEqual(events.slice(0, 3));
    expect(await logOf(a, 'readme.md', '--client', 'carol', '--since', since, '--limit', '1')).toEqual([{ ...h.readmeCarol, move: null }]);
    // Relative times: the whole history was written within the last hour.
    expect(await logOf(a, '--since', '1h')).toEqual(events);
    expect(await logOf(a, '--since', '2d', '--until', '1h')).toEqual([]);
    expect(await logOf(a, '--until', '30m', '--since', '2026-01-01')).toEqual([]);
    for (const bad of [
      ['--since', 'last tuesday'],
      ['--until', '2026-13-45T99:00:00Z'],
      ['--since', '2h30m'],
    ]) {
      const r = expectExit(await a.run('log', ...bad), EXIT.usage);
      expect(r.stderr).toContain(`${bad[0]} ${JSON.stringify(bad[1])} is not a time bm-log understands`);
      expect(r.stderr).toMatch(/next: accepted: now, 30s, 30m, 2h, 3d, 1w .*yesterday.*2026-11-20T17:00/);
      expect(r.stdout).toBe('');
    }
  }, 120_000);

  it('log PATH (carol): the whole history of a path, with the delete, the conflict and its resolve, and the rename as a move on both paths', async () => {
    const { c, events, h } = await sharedHistory();
    // Every client holds the same history.
    expect(await logOf(c)).toEqual(events);
    const readme = await logOf(c, 'readme.md');
    expect(readme).toEqual(events.filter((e) => e.path === 'readme.md'));
    expect(readme.map((e) => `${e.type} ${e.clientName}`)).toEqual(['resolve alice', 'put alice', 'put carol', 'put alice']);
    expect(h.readmeCarol.replaces).toEqual([h.readmeV1.version]);
    expect(h.readmeAlice.replaces).toEqual([h.readmeV1.version]);
    expect([...h.readmeResolve.replaces].sort()).toEqual([h.readmeAlice.version, h.readmeCarol.version].sort());
    const old = await logOf(c, 'notes/old.md');
    expect(old.map((e) => `${e.type} ${e.clientName}`)).toEqual(['tombstone carol', 'put alice']);
    expect(old[0]!.replaces).toEqual([old[1]!.version]);
    expect(old[0]!.move).toBeNull();
    expect((await logOf(c, './notes/plan.md')).map((e) => e.version)).toEqual([h.planV3.version, h.planV2.version, h.planV1.version]);
    expect(await logOf(c, 'never/was.md')).toEqual([]);
    // A folder: only what is below it.
    expect((await logOf(c, 'notes/')).map((e) => e.version)).toEqual(
      events.filter((e) => e.path.startsWith('notes/')).map((e) => e.version),
    );
    // The rename: one move (a tombstone `to` and a put `from`, ADR-0020); log of the new name also lists the old name's versions.
    const move = { from: 'notes/keep.md', to: 'notes/kept.md' };
    const keep = await logOf(c, 'notes/keep.md');
    expect(keep.map((e) => [e.type, e.clientName, e.move])).toEqual([
      ['tombstone', 'bob', move],
      ['put', 'alice', null],
    ]);
    const kept = await logOf(c, 'notes/kept.md');
    expect(kept.map((e) => [e.type, e.path, e.clientName, e.move])).toEqual([
      ['put', 'notes/kept.md', 'bob', move],
      ['put', 'notes/keep.md', 'alice', null],
    ]);
    expect(kept[0]!.seq).toBe(keep[0]!.seq);
    expect(kept[0]!.hash).toBe(keep[1]!.hash);
    expect(expectExit(await c.run('log', 'notes/kept.md'), EXIT.ok).stdout).toMatch(
      new RegExp(
        `^(just now|\\d+ min ago) +moved +${kept[0]!.version.slice(-8)}  bob +8 B  notes/keep\\.md -> notes/kept\\.md\n.* created .*notes/keep\\.md\n$`,
      ),
    );
    // The kind of change, in --json and in the human lines (one per event, at most 100 columns, no raw JSON).
    expect(readme.map((e) => e.change)).toEqual(['resolved', 'edited', 'edited', 'created']);
    expect(old.map((e) => e.change)).toEqual(['deleted', 'created']);
    expect([...keep, ...kept].map((e) => e.change)).toEqual(['moved', 'created', 'moved', 'created']);
    const human = expectExit(await c.run('log'), EXIT.ok)
      .stdout.trimEnd()
      .split('\n');
    expect(human).toHaveLength(events.length);
    for (const [i, l] of human.entries()) {
      expect([...l].length, l).toBeLessThanOrEqual(100);
      expect(l).not.toMatch(/[{}"]/);
      expect(l).toContain(`${events[i]!.change.padEnd(8)}  ${events[i]!.version.slice(-8)}  ${events[i]!.clientName}`);
    }
  }, 120_000);

  it('show (bob): exact bytes by id or its last 8 characters; unknown, ambiguous and deleted versions exit 2; ls now and --at T', async () => {
    const { b, ids, events, h, T } = await sharedHistory();
    for (const [v, text] of [
      [h.planV1.version, 'plan v1\n'],
      [h.planV2.version.slice(-8), 'plan v2\n'],
      [h.readmeCarol.version.slice(-8).toLowerCase(), 'readme by carol\n'],
    ] as const) {
      const r = await runRaw(b, 'show', v);
      expect(r.code, r.stderr).toBe(EXIT.ok);
      expect(r.stdout.toString('utf8')).toBe(text);
    }
    // Bytes that are not UTF-8 come out unchanged (regression: they were printed as U+FFFD).
    const bin = await runRaw(b, 'show', h.bin.version.slice(-8));
    expect(bin.code, bin.stderr).toBe(EXIT.ok);
    expect(bin.stdout.equals(BINARY)).toBe(true);
    const unknown = '0000000Z';
    expect(events.some((e) => e.version.endsWith(unknown))).toBe(false);
    let shared = '';
    for (let n = 1; n <= 26 && shared === ''; n++) {
      const counts = new Map<string, number>();
      for (const e of events) counts.set(e.version.slice(-n), (counts.get(e.version.slice(-n)) ?? 0) + 1);
      shared = [...counts].find(([, k]) => k > 1)?.[0] ?? '';
    }
    expect(shared).not.toBe('');
    for (const [v, message] of [
      [unknown, /no version matches/],
      [shared, /more than one version matches/],
      [h.oldDelete.version.slice(-8), /is a delete/],
    ] as const) {
      const r = await runRaw(b, 'show', v);
      expect([r.code, r.stdout.length]).toEqual([EXIT.usage, 0]);
      expect(r.stderr).toMatch(message);
    }

    // ls now: exactly the synced tree.
    const lsNow = expectExit(await b.run('ls', '--json'), EXIT.ok).json as {
      at: null;
      files: { path: string; size: number; hash: string; version: string; client: string; time: string }[];
    };
    expect(lsNow.at).toBeNull();
    expect(Object.fromEntries(lsNow.files.map((f) => [f.path, f.hash]))).toEqual(sortedObject(await b.tree()));
    expect(without(sortedObject(await b.tree()), 'bulk/')).toEqual({
      'bin.dat': sha256(BINARY),
      'notes/kept.md': sha256('keep me\n'),
      'notes/new.md': sha256('new\n'),
      'notes/plan.md': sha256('plan v3\n'),
      'readme.md': sha256('readme resolved\n'),
    });
    expect(lsNow.files.find((f) => f.path === 'notes/kept.md')).toEqual({
      path: 'notes/kept.md',
      size: 8,
      hash: sha256('keep me\n'),
      version: h.kept.version,
      client: ids.bob,
      time: h.kept.time,
    });
    // ls --at T: notes/new.md and notes/kept.md came later (absent), notes/old.md and notes/keep.md went later (present).
    const past = {
      'bin.dat': sha256(BINARY),
      'notes/keep.md': sha256('keep me\n'),
      'notes/old.md': sha256('old\n'),
      'notes/plan.md': sha256('plan v3\n'),
      'readme.md': sha256('readme v1\n'),
    };
    expect(without(await lsOf(b, '--at', T), 'bulk/')).toEqual(past);
    expect(await lsOf(b, 'notes', '--at', T)).toEqual(without(without(past, 'bin.dat'), 'readme.md'));
    expect((await lsOf(b, 'notes/', '--at', between(h.planV2.time, h.planV3.time)))['notes/plan.md']).toBe(sha256('plan v2\n'));
    // A version names a point too.
    expect(without(await lsOf(b, '--at', h.planV3.version.slice(-8)), 'bulk/')).toEqual(past);
    expect(expectExit(await b.run('ls', '--at', 'last tuesday'), EXIT.usage).stderr).toMatch(/neither a time nor a version id/);
  }, 120_000);
});

describe.concurrent('audit: restore', () => {
  it('a file by version (bob) and by time (alice), a deleted file: old bytes locally and, after a sync, elsewhere; logged as new puts', async () => {
    const { a, b, c, ids, h, T } = await buildHistory(false);
    const r1 = expectExit(await b.run('restore', 'notes/plan.md', '--at', h.planV1.version.slice(-8), '--json'), EXIT.ok);
    expect(r1.json).toMatchObject({ restored: [{ path: 'notes/plan.md', hash: sha256('plan v1\n') }], eventsPublished: 1 });
    expect(await b.read('notes/plan.md')).toBe('plan v1\n');
    const byBob = (await logOf(b, 'notes/plan.md'))[0]!;
    expect(byBob).toMatchObject({
      type: 'put',
      client: ids.bob,
      clientName: 'bob',
      hash: sha256('plan v1\n'),
      replaces: [h.planV3.version],
    });
    expect(byBob.version).not.toBe(h.planV1.version);
    await a.syncOk();
    expect(await a.read('notes/plan.md')).toBe('plan v1\n');
    const r2 = expectExit(await a.run('restore', 'notes/plan.md', '--at', between(h.planV2.time, h.planV3.time)), EXIT.ok);
    expect(r2.stdout).toMatch(/restored 1 file\(s\)/);
    expect(await a.read('notes/plan.md')).toBe('plan v2\n');
    await c.syncOk();
    expect(await c.read('notes/plan.md')).toBe('plan v2\n');
    const byAlice = (await logOf(c))[0]!;
    expect(byAlice).toMatchObject({
      type: 'put',
      path: 'notes/plan.md',
      client: ids.alice,
      hash: sha256('plan v2\n'),
      replaces: [byBob.version],
    });

    // Bob has not synced since his restore: restoring v1 again must not trust his stale view
    // (regression: it saw v1 as current, published nothing, then downloaded alice's v2).
    const stale = expectExit(await b.run('restore', 'notes/plan.md', '--at', h.planV1.version, '--json'), EXIT.ok);
    expect(stale.json.eventsPublished).toBe(1);
    expect(await b.read('notes/plan.md')).toBe('plan v1\n');
    expect((await logOf(b, 'notes/plan.md'))[0]).toMatchObject({ client: ids.bob, hash: sha256('plan v1\n'), replaces: [byAlice.version] });

    // A deleted file (carol deleted it; alice brings it back as of T).
    expect(a.exists('notes/old.md')).toBe(false);
    expectExit(await a.run('restore', 'notes/old.md', '--at', T), EXIT.ok);
    expect(await a.read('notes/old.md')).toBe('old\n');
    expect((await logOf(a, 'notes/old.md'))[0]).toMatchObject({
      type: 'put',
      client: ids.alice,
      hash: sha256('old\n'),
      replaces: [h.oldDelete.version],
    });
    await c.syncOk();
    expect(await c.read('notes/old.md')).toBe('old\n');
    // A version of another path is a usage error.
    expect(expectExit(await a.run('restore', 'notes/old.md', '--at', h.planV1.version), EXIT.usage).stderr).toMatch(
      /no version of notes\/old\.md matches/,
    );
    // Everything above verifies from scratch: signatures, chains, blobs.
    expect(expectExit(await c.run('verify', '--json'), EXIT.ok).json).toMatchObject({ ok: true, clients: 3, findings: [] });
  }, 120_000);

  it('a folder as of T; --dry-run changes nothing; --to writes elsewhere and never overwrites; unsynced changes are refused (exit 4)', async () => {
    const { w, a, b, c, h, T } = await buildHistory(false);
    const asOfT = { 'notes/keep.md': sha256('keep me\n'), 'notes/old.md': sha256('old\n'), 'notes/plan.md': sha256('plan v3\n') };

    // --dry-run lists the changes and changes nothing, locally or remotely.
    const remoteBefore = await w.remoteTree();
    const treesBefore = await Promise.all([a, b, c].map((x) => x.tree()));
    const dry = expectExit(await a.run('restore', 'notes/', '--at', T, '--dry-run', '--json'), EXIT.ok);
    expect(dry.json.dryRun).toBe(true);
    expect([...dry.json.changes].sort((x: { path: string }, y: { path: string }) => (x.path < y.path ? -1 : 1))).toEqual([
      { path: 'notes/keep.md', hash: sha256('keep me\n') },
      { path: 'notes/kept.md', hash: null },
      { path: 'notes/new.md', hash: null },
      { path: 'notes/old.md', hash: sha256('old\n') },
    ]);
    const dryHuman = expectExit(await a.run('restore', 'notes/', '--at', T, '--dry-run'), EXIT.ok);
    expect(dryHuman.stdout).toMatch(/dry run: 4 file\(s\) would be restored/);
    expect(dryHuman.stdout).toMatch(/delete\s+notes\/new\.md/);
    expect(sortedObject(await w.remoteTree())).toEqual(sortedObject(remoteBefore));
    for (const [i, x] of [a, b, c].entries()) expect(sortedObject(await x.tree())).toEqual(sortedObject(treesBefore[i]!));

    // --to writes old bytes to a new file and publishes nothing; it never overwrites.
    const copy = path.join(w.base, 'old-copy.md');
    const to = expectExit(await a.run('restore', 'notes/old.md', '--at', T, '--to', copy, '--json'), EXIT.ok);
    expect(to.json).toMatchObject({ restored: 'notes/old.md', to: copy, hash: sha256('old\n'), dryRun: false });
    expect(await fs.readFile(copy, 'utf8')).toBe('old\n');
    const v1Copy = path.join(w.base, 'plan-v1.md');
    expectExit(await a.run('restore', 'notes/plan.md', '--at', h.planV1.version.slice(-8), '--to', v1Copy), EXIT.ok);
    expect(await fs.readFile(v1Copy, 'utf8')).toBe('plan v1\n');
    await fs.writeFile(copy, 'mine\n');
    expect(expectExit(await a.run('restore', 'notes/plan.md', '--at', T, '--to', copy), EXIT.usage).stderr).toMatch(/already exists/);
    expect(await fs.readFile(copy, 'utf8')).toBe('mine\n');
    expect((await fs.readdir(w.base)).filter((n) => n.includes('.bm-tmp-'))).toEqual([]);
    // Nothing existed at that point: nothing to write.
    expectExit(await a.run('restore', 'notes/new.md', '--at', T, '--to', path.join(w.base, 'nope.md')), EXIT.usage);
    expect(await fs.readdir(w.base)).not.toContain('nope.md');
    expect(sortedObject(await w.remoteTree())).toEqual(sortedObject(remoteBefore));
    expect(sortedObject(await a.tree())).toEqual(sortedObject(treesBefore[0]!));

    // Unsynced changes to files to restore: exit 4, nothing restored or published.
    await c.write('notes/plan.md', 'carol, unsynced\n');
    expect(expectExit(await c.run('restore', 'notes/plan.md', '--at', T), EXIT.safety).stderr).toMatch(
      /unsynced changes \(notes\/plan\.md\)/,
    );
    await c.rm('notes/plan.md');
    await c.write('notes/kept.md', 'carol, unsynced\n');
    expect(expectExit(await c.run('restore', 'notes/', '--at', T), EXIT.safety).stderr).toMatch(
      /2 file\(s\) to restore have unsynced changes/,
    );
    expect(sortedObject(await w.remoteTree())).toEqual(sortedObject(remoteBefore));
    expect(c.exists('notes/plan.md')).toBe(false);
    expect(await c.read('notes/kept.md')).toBe('carol, unsynced\n');
    // Back to the synced bytes: nothing of this is left to publish.
    await c.write('notes/plan.md', 'plan v3\n');
    await c.write('notes/kept.md', 'keep me\n');

    // The folder restore. Alice adds notes/late.md after T and bob has not synced it: the
    // restore still removes it (regression: it was decided on bob's stale view and survived).
    await a.write('notes/late.md', 'late\n');
    await a.syncOk();
    const lateTime = (await logOf(a, 'notes/late.md'))[0]!.time;
    const restored = expectExit(await b.run('restore', 'notes/', '--at', T, '--json'), EXIT.ok);
    expect(
      restored.json.restored
        .map((r: { path: string; hash: string | null }) => `${r.path} ${r.hash === null ? 'deleted' : 'restored'}`)
        .sort(),
    ).toEqual([
      'notes/keep.md restored',
      'notes/kept.md deleted',
      'notes/late.md deleted',
      'notes/new.md deleted',
      'notes/old.md restored',
    ]);
    const bNow = sortedObject(await b.tree());
    expect(Object.fromEntries(Object.entries(bNow).filter(([p]) => p.startsWith('notes/')))).toEqual(asOfT);
    // Outside the folder nothing changed.
    expect(without(without(bNow, 'notes/'), 'bulk/')).toEqual({ 'bin.dat': sha256(BINARY), 'readme.md': sha256('readme v1\n') });
    await a.syncOk();
    expect(sortedObject(await a.tree())).toEqual(bNow);
    expect((await logOf(a, '--client', 'bob', '--since', lateTime)).map((e) => `${e.type} ${e.path}`).sort()).toEqual([
      'put notes/keep.md',
      'put notes/old.md',
      'tombstone notes/kept.md',
      'tombstone notes/late.md',
      'tombstone notes/new.md',
    ]);
    // Its put of keep.md and tombstone of kept.md undo the rename, as a restore: not a move (only a
    // sync pairs a file gone and a file new here as one, ADR-0020; the guess by bytes is gone).
    expect((await logOf(a, 'notes/keep.md'))[0]).toMatchObject({ type: 'put', clientName: 'bob', move: null, change: 'restored' });
    expect((await c.syncOk()).eventsPublished).toBe(0);
    expect(sortedObject(await c.tree())).toEqual(bNow);
    // Restoring again to the same point changes nothing; nothing under a folder, or a version for a folder, exits 2.
    expect(expectExit(await b.run('restore', 'notes/', '--at', T, '--json'), EXIT.ok).json).toMatchObject({
      restored: [],
      eventsPublished: 0,
    });
    expectExit(await b.run('restore', 'nothing-here/', '--at', T), EXIT.usage);
    expectExit(await b.run('restore', 'notes/', '--at', h.planV1.version), EXIT.usage);
  }, 120_000);
});

/** The segment object keys of `client`'s log on a local-directory remote, in seq order. */
async function segmentKeys(w: World, client: string): Promise<string[]> {
  return (await fs.readdir(path.join(w.remoteDir, 'log', client)))
    .filter((n) => /^\d{12}$/.test(n))
    .sort()
    .map((n) => `log/${client}/${n}`);
}

/**
 * Runs an ESM script with bm-log's own codec (from the dist/ the CLI under test runs) to
 * build an object a tamperer would write. `args` reaches it as `ARGS`.
 */
function forge(script: string, args: Record<string, unknown>): Promise<void> {
  const dist = (f: string) => JSON.stringify(pathToFileURL(path.join(DIST, f)).href);
  const code = `
    import * as fs from 'node:fs';
    import { encodeSegment, encodeIdentity, decodeMsgpack } from ${dist('events/codec.js')};
    import { generateKeyPair, sha256Hex } from ${dist('events/signing.js')};
    import { ulidFactory } from ${dist('events/ids.js')};
    const ARGS = JSON.parse(process.env.FORGE_ARGS);
    ${script}
  `;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', code],
      { env: { ...process.env, FORGE_ARGS: JSON.stringify(args) }, timeout: 30_000 },
      (error, _stdout, stderr) => (error ? reject(new Error(`forge failed: ${stderr}`)) : resolve()),
    );
  });
}

/**
 * Alice starts with note.md and other.md, bob joins (he holds her first segment), then
 * alice publishes note.md v2 and then v3 plus third.md, which bob has not fetched yet.
 */
async function tamperWorld() {
  const w = await world();
  const a = await w.init('alice', { files: { 'note.md': 'v1\n', 'other.md': 'other\n' } });
  const b = await w.init('bob');
  const aId = await a.clientId();
  const before = await segmentKeys(w, aId);
  await a.write('note.md', 'v2\n');
  await a.syncOk();
  await a.write('note.md', 'v3\n');
  await a.write('third.md', 'third\n');
  await a.syncOk();
  const segs = await segmentKeys(w, aId);
  expect(segs.length).toBe(before.length + 2);
  const vault = (JSON.parse(await fs.readFile(path.join(a.dir, '.bm-log', 'config.json'), 'utf8')) as { vaultId: string }).vaultId;
  const file = (key: string) => path.join(w.remoteDir, ...key.split('/'));
  return { w, a, b, aId, vault, segs, v2Seg: segs.at(-2)!, v3Seg: segs.at(-1)!, file };
}

type Tampered = Awaited<ReturnType<typeof tamperWorld>>;

/** `verify` exits 5 with a finding naming `object` (in its JSON report, or in its human one). */
async function expectFinding(c: Client, object: string, codes: readonly string[], human = false): Promise<void> {
  if (human) {
    const r = expectExit(await c.run('verify'), EXIT.integrity);
    expect(r.stdout).toMatch(new RegExp(`^  (${codes.join('|')}) +${object}: `, 'm'));
    return;
  }
  const v = expectExit(await c.run('verify', '--json'), EXIT.integrity);
  expect(v.json.ok).toBe(false);
  const f = v.json.findings.find((x: { object: string }) => x.object === object);
  expect(f, JSON.stringify(v.json.findings)).toBeDefined();
  expect(codes).toContain(f.code);
}

/** Bob's sync exits 5 naming `object`, and applies alice's events up to just before it. */
async function expectPartialSync(t: Tampered, object: string, note: string, third: boolean): Promise<void> {
  const r = expectExit(await t.b.sync(), EXIT.integrity);
  expect(r.json.faults.map((f: { object: string }) => f.object)).toEqual([object]);
  expect(await t.b.read('note.md')).toBe(note);
  expect(t.b.exists('third.md')).toBe(third);
  expect(await t.b.read('other.md')).toBe('other\n');
}

describe.concurrent('verify: tampering on the remote', () => {
  it('a clean world verifies (exit 0) on every client', async () => {
    const t = await tamperWorld();
    await t.b.syncOk();
    const v = expectExit(await t.b.run('verify', '--json'), EXIT.ok);
    expect(v.json).toMatchObject({ ok: true, clients: 2, findings: [], blobs: 5 });
    expect(v.json.segments).toBeGreaterThanOrEqual(t.segs.length);
    expect(expectExit(await t.a.run('verify'), EXIT.ok).stdout).toMatch(/no problems found/);
  }, 120_000);

  it('a flipped byte in an event segment', async () => {
    const t = await tamperWorld();
    await flipByte(t.file(t.v3Seg));
    await expectFinding(t.b, t.v3Seg, ['malformed', 'bad-signature', 'unknown-version']);
    await expectFinding(t.a, t.v3Seg, ['malformed', 'bad-signature', 'unknown-version'], true);
    await expectPartialSync(t, t.v3Seg, 'v2\n', false);
  }, 120_000);

  it('a flipped byte in a blob (a pack entry: small contents are packed, ADR-0022)', async () => {
    const t = await tamperWorld();
    const { key: object, offset } = await findPackedContent(t.w.remoteDir, 'v3\n');
    await flipByte(t.file(object), offset);
    await expectFinding(t.b, object, ['blob-corrupt']);
    // The events are fine and applied; the bad bytes are never written.
    const r = expectExit(await t.b.sync(), EXIT.integrity);
    expect(r.json.faults).toEqual([]);
    expect(r.json.skipped.map((s: { path: string }) => s.path)).toEqual(['note.md']);
    expect(await t.b.read('note.md')).toBe('v1\n');
    expect(await t.b.read('third.md')).toBe('third\n');
  }, 120_000);

  it('a segment deleted from the middle of a chain', async () => {
    const t = await tamperWorld();
    await fs.rm(t.file(t.v2Seg));
    await expectFinding(t.b, t.v2Seg, ['broken-chain']);
    await expectFinding(t.a, t.v2Seg, ['broken-chain'], true);
    await expectPartialSync(t, t.v2Seg, 'v1\n', false);
  }, 120_000);

  it("a forged segment at the next seq, signed with a key that is not the client's", async () => {
    const t = await tamperWorld();
    const seq = Number(t.v3Seg.slice(-12)) + 1;
    const object = `log/${t.aId}/${String(seq).padStart(12, '0')}`;
    await forge(
      `
      const last = decodeMsgpack(fs.readFileSync(ARGS.last), 'last');
      const body = { v: 1, vault: ARGS.vault, client: ARGS.client, seq: ARGS.seq, prev: sha256Hex(last.body), time: new Date().toISOString(), seen: {}, snapshot: null,
        events: [{ type: 'put', id: ulidFactory()(), path: 'note.md', replaces: [], content: { hash: ARGS.hash, size: 3, mode: 420 } }] };
      fs.writeFileSync(ARGS.out, encodeSegment(body, generateKeyPair().privateKey).bytes);
      `,
      { last: t.file(t.v3Seg), vault: t.vault, client: t.aId, seq, hash: sha256('v1\n'), out: t.file(object) },
    );
    await expectFinding(t.b, object, ['bad-signature']);
    await expectFinding(t.a, object, ['bad-signature'], true);
    // Everything before the forgery is applied; the forgery is not.
    await expectPartialSync(t, object, 'v3\n', true);
  }, 120_000);

  it('a public key object replaced by another self-signed identity for the same client id', async () => {
    const t = await tamperWorld();
    const object = `keys/${t.aId}`;
    await fs.rm(t.file(object));
    await forge(
      `
      const kp = generateKeyPair();
      const body = { v: 1, vault: ARGS.vault, client: ARGS.client, name: 'alice', publicKey: kp.publicKeyHex, time: new Date().toISOString() };
      fs.writeFileSync(ARGS.out, encodeIdentity(body, kp.privateKey));
      `,
      { vault: t.vault, client: t.aId, out: t.file(object) },
    );
    await expectFinding(t.b, object, ['key-mismatch']);
    // Bob keeps the key he pinned: alice's real segments still verify and apply; the new key is
    // not adopted, and (ADR-0015) his sync reports the replaced key object, exit 5.
    const rb = expectExit(await t.b.sync(), EXIT.integrity);
    expect(rb.json.faults.map((f: { object: string; code: string }) => `${f.code} ${f.object}`)).toEqual([`key-mismatch ${object}`]);
    expect(await t.b.read('note.md')).toBe('v3\n');
    await expectFinding(t.b, object, ['key-mismatch'], true);
    // A newcomer takes the published key, so alice's real segments fail against it: exit 5, none applied.
    const c = await t.w.init('carol', { noSync: true });
    const rc = expectExit(await c.sync(), EXIT.integrity);
    expect(rc.json.faults.map((f: { object: string; code: string }) => `${f.code} ${f.object}`)).toEqual([`bad-signature ${t.segs[0]}`]);
    expect(await c.files()).toEqual([]);
  }, 120_000);
});

describe('log PATH reads only what it needs (in process, on a real LocalIndex)', () => {
  it('a path edited in a sync with thousands of other edits costs one lookup, and one more per earlier name (recorded moves)', async () => {
    const w = await world();
    const index = await LocalIndex.open(w.base);
    try {
      const newId = counterIdFactory('01ADT');
      const keys = generateKeyPair();
      const vault = newId() as VaultId;
      const client = newId() as ClientId;
      const content = (n: number) => ({ hash: sha256(`content ${n}`) as never, size: n, mode: 0o644 });
      const others = Array.from({ length: 2000 }, (_, i) => `many/f${i}.md` as SyncPath);
      const first: Record<string, VersionId> = {};
      const put = (p: string, n: number, replaces: VersionId[] = []): Event => {
        const id = newId() as VersionId;
        first[p] ??= id;
        return { type: 'put', id, path: p as SyncPath, replaces, content: content(n) };
      };
      // Segment 1 creates everything; segment 2 edits everything, edits the hot path, and moves old.md to new.md (ADR-0020).
      const seg1: Event[] = [put('hot.md', 1), put('old.md', 2), ...others.map((p, i) => put(p, 10 + i))];
      const seg2: Event[] = [
        put('hot.md', 3, [first['hot.md']!]),
        { type: 'tombstone', id: newId() as VersionId, path: 'old.md' as SyncPath, replaces: [first['old.md']!], to: 'new.md' as SyncPath },
        { ...put('new.md', 2), from: { path: 'old.md' as SyncPath, version: first['old.md']! } } as Event,
        ...others.map((p, i) => put(p, 5000 + i, [first[p]!])),
      ];
      let prev: string | null = null;
      for (const [i, events] of [seg1, seg2].entries()) {
        const body: SegmentBody = {
          v: computeSegmentFormat(events),
          vault,
          client,
          seq: i + 1,
          prev: prev as SegmentBody['prev'],
          time: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
          seen: {},
          snapshot: null,
          events,
        };
        const seg = encodeSegment(body, keys.privateKey);
        prev = seg.hash;
        await index.commitBatch({ segments: [{ client, seq: i + 1, bytes: seg.bytes }] });
      }
      let lookups = 0;
      const session = {
        index: {
          getPathHistory: (p: string) => (lookups++, index.getPathHistory(p)),
        },
      } as unknown as ClientSession;
      const hot = await readPathHistory(session, 'hot.md');
      expect(hot.versions).toHaveLength(2);
      expect([...hot.names]).toEqual(['hot.md']);
      // Its own history only (regression: once one read per replaced version in the segment, over 2,000; then segments decoded).
      expect(lookups).toBe(1);
      const move = { from: 'old.md', to: 'new.md' };
      lookups = 0;
      const moved = await readPathHistory(session, 'new.md');
      expect(moved.versions.map((v) => v.path)).toEqual(['new.md', 'old.md']); // the move, and the version it continued
      expect(moved.versions.map(computeRecordedMove)).toEqual([move, null]);
      expect(lookups).toBe(2); // its history, and the earlier name's
      lookups = 0;
      expect((await readPathHistory(session, 'old.md')).versions.map(computeRecordedMove)).toEqual([null, move]);
      expect(lookups).toBe(1);
    } finally {
      await index.close();
    }
  });
});
