/**
 * The library API (issue 26, ADR-0028) against real parts: client folders made by the CLI,
 * a directory remote, LevelDB. Reads name their version; a write against the current version
 * publishes and reaches the other client; a stale one is refused naming the current version,
 * or kept as a conflict; nothing is overwritten.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StaleVersionError, isBmError, openFolder } from '../../src/api/index.js';
import { EXIT, expectExit, sha256, sleep, useWorlds } from '../cli/support/cli.js';

const { pair } = useWorlds();

describe('openFolder', () => {
  it('reads with a version, writes against it; a stale write is refused when asked, else a conflict (the default)', async () => {
    const { a, b } = await pair({ 'plan.md': 'one\n' });
    const folder = await openFolder(a.dir);
    const first = await folder.read('plan.md');
    expect(new TextDecoder().decode(first.bytes)).toBe('one\n');
    expect(first.source).toBe('folder');
    const w = await folder.write('plan.md', 'two\n', { expectedVersion: first.version });
    expect(w.conflict).toBe(false);
    expect(w.heads).toEqual([w.version]);
    expect(await a.read('plan.md')).toBe('two\n');
    await b.syncOk();
    expect(await b.read('plan.md')).toBe('two\n');

    const stale = await folder.write('plan.md', 'three\n', { expectedVersion: first.version, onStale: 'refuse' }).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(StaleVersionError);
    expect((stale as StaleVersionError).current).toEqual([w.version]);
    expect((stale as StaleVersionError).message).toContain(w.version);
    expect(await a.read('plan.md')).toBe('two\n');
    expect((await folder.read('plan.md')).version).toBe(w.version);

    // Without onStale the same stale write follows a person's rule (ADR-0033): the same line
    // changed on both sides cannot merge, so both stand as a conflict; nothing is overwritten.
    const kept = await folder.write('plan.md', 'three\n', { expectedVersion: first.version });
    expect(kept).toMatchObject({ conflict: true, merged: false, notMerged: { reason: 'overlap' } });
    expect([...kept.heads].sort()).toEqual([kept.version, w.version].sort());
  }, 120_000);

  it('a stale write with onStale conflict is kept beside the current version; resolve ends it', async () => {
    const { a, b } = await pair({ 'plan.md': 'one\n' });
    const folder = await openFolder(a.dir);
    const seen = await folder.read('plan.md');
    await b.write('plan.md', 'bob\n');
    await b.syncOk();
    const w = await folder.write('plan.md', 'agent\n', { expectedVersion: seen.version, onStale: 'conflict' });
    expect(w.conflict).toBe(true);
    expect(w.heads).toHaveLength(2);
    const conflicts = await folder.conflicts();
    expect(conflicts.map((c) => c.path)).toEqual(['plan.md']);
    // Both edits are there: the winner at the path, the other as a copy.
    const texts = await Promise.all([a.read('plan.md'), ...conflicts[0]!.copies.map((c) => a.read(c))]);
    expect(texts.sort()).toEqual(['agent\n', 'bob\n']);
    const keep = w.heads.find((h) => h === w.version)!;
    const r = await folder.resolve('plan.md', { keep });
    expect(r.heads).toHaveLength(1);
    expect(await folder.conflicts()).toEqual([]);
    expect(await a.read('plan.md')).toBe('agent\n');
  }, 120_000);

  it('creates with expectedVersion null, refuses it over an existing file, deletes against a version', async () => {
    const { a, b } = await pair({ 'plan.md': 'one\n' });
    const folder = await openFolder(b.dir);
    const created = await folder.write('notes/new.md', 'new\n', { expectedVersion: null });
    const err = await folder.write('notes/new.md', 'again\n', { expectedVersion: null, onStale: 'refuse' }).catch((e: unknown) => e);
    expect(isBmError(err, 'stale-version')).toBe(true);
    await a.syncOk();
    expect(await a.read('notes/new.md')).toBe('new\n');
    const gone = await folder.delete('notes/new.md', { expectedVersion: created.version });
    expect(gone.heads).toEqual([gone.version]);
    await a.syncOk();
    expect(a.exists('notes/new.md')).toBe(false);
    const history = await folder.history('notes/new.md');
    expect(history.map((v) => v.type)).toEqual(['tombstone', 'put']);
  }, 120_000);

  it('an agent is a client of its own: its own id and name in the log, its writes reach the folder by sync', async () => {
    const { a } = await pair({ 'plan.md': 'one\n' });
    const agent = await openFolder(a.dir, { as: 'claude' });
    expect(agent.root.startsWith(path.join(a.dir, '.bm-log'))).toBe(true);
    expect(agent.clientId).not.toBe(await a.clientId());
    const seen = await agent.read('plan.md');
    await agent.write('plan.md', 'from the agent\n', { expectedVersion: seen.version });
    expect(await a.read('plan.md')).toBe('one\n');
    await a.syncOk();
    expect(await a.read('plan.md')).toBe('from the agent\n');
    const [latest] = await a.log('plan.md');
    expect(latest).toMatchObject({ clientName: 'claude', client: agent.clientId });
    // The person's folder never syncs the agent's copy (it is inside .bm-log).
    expect((await a.files()).filter((f) => f.includes('agents'))).toEqual([]);
  }, 120_000);

  it("shares the folder with `sync --watch`: a write waits for its rounds; the user's edit and the write both survive", async ({
    onTestFinished,
  }) => {
    const { a, b } = await pair({ 'plan.md': 'one\n' });
    const watch = a.spawn('sync', '--watch', '--interval', '1');
    onTestFinished(() => {
      if (watch.exitCode === null && watch.signalCode === null) watch.kill('SIGKILL');
    });
    const folder = await openFolder(a.dir);
    const seen = await folder.read('plan.md');
    // The user edits the note, then the API writes against the version it read, while rounds
    // run: the user's edit is published first (by a round, or the write's own first sync), so
    // the write is stale, and kept beside it.
    await a.write('plan.md', 'user\n');
    const w = await folder.write('plan.md', 'api\n', { expectedVersion: seen.version, onStale: 'conflict' });
    expect(w.conflict).toBe(true);
    await sleep(1500);
    watch.kill('SIGTERM');
    expect((await watch.done).code).toBe(EXIT.ok);
    await b.syncOk();
    const onB = [...(await b.tree()).values()].sort();
    expect(onB).toEqual([sha256('api\n'), sha256('user\n')].sort());
    expect((await b.conflicts()).map((c) => c.path)).toEqual(['plan.md']);
    expectExit(await a.run('verify', '--json'), EXIT.ok);
  }, 120_000);
});
