/**
 * `restore` of either side of a merge (issue 22: "restore of either side of a merge works"):
 * the built CLI in child processes on a local-directory remote. After two clients' edits of
 * different paragraphs merged, each restores a version the merge replaced: the folder gets that
 * version's bytes, the log records the restore as a new put replacing the current version, and
 * the other client gets it on its next sync with no conflict.
 */
import { describe, expect, it } from 'vitest';
import { copiesOf, EXIT, expectExit, sha256, useWorlds } from '../cli/support/cli.js';

const { pair } = useWorlds();

const NOTE = 'notes/plan.md';
const BASE = '---\ntitle: Plan\n---\n# Plan\n\nfirst paragraph\n\nmiddle\n\nlast paragraph\n';
const BY_ALICE = BASE.replace('first paragraph', 'first paragraph, by alice');
const BY_BOB = BASE.replace('last paragraph', 'last paragraph, by bob');
const MERGED = BY_ALICE.replace('last paragraph', 'last paragraph, by bob');

interface LogEntry {
  readonly version: string;
  readonly type: string;
  readonly hash: string | null;
  readonly client: string;
  readonly replaces?: readonly string[];
  readonly merge?: { readonly parents: readonly string[]; readonly base: string };
}

describe('restore of a merge parent (CLI, directory remote)', () => {
  it('either version a merge replaced comes back by id: its bytes in the folder, a logged put replacing the merge, synced without conflict', async () => {
    const { a, b } = await pair({ [NOTE]: BASE });
    await a.write(NOTE, BY_ALICE);
    await b.write(NOTE, BY_BOB);
    await a.syncOk();
    expect((await b.syncOk()).applied.map((o) => o.kind)).toContain('merge');
    await a.syncOk();
    expect(await a.read(NOTE)).toBe(MERGED);

    const log = (await a.log(NOTE)) as unknown as LogEntry[];
    const merge = log.find((e) => e.merge !== undefined) as LogEntry;
    const versionWith = (text: string) => log.find((e) => merge.merge?.parents.includes(e.version) && e.hash === sha256(text)) as LogEntry;
    const [alices, bobs] = [versionWith(BY_ALICE), versionWith(BY_BOB)];
    expect([alices.version, bobs.version].sort()).toEqual([...(merge.merge?.parents ?? [])].sort());

    // Alice restores her own side (full id): the merge's other edit goes away everywhere.
    const r1 = expectExit(await a.run('restore', NOTE, '--at', alices.version, '--json'), EXIT.ok);
    expect(r1.json).toMatchObject({ restored: [{ path: NOTE, hash: sha256(BY_ALICE) }], eventsPublished: 1 });
    expect(await a.read(NOTE)).toBe(BY_ALICE);
    const restore1 = ((await a.log(NOTE)) as unknown as LogEntry[])[0] as LogEntry;
    expect(restore1).toMatchObject({ type: 'put', hash: sha256(BY_ALICE), client: await a.clientId(), replaces: [merge.version] });
    expect(restore1.merge).toBeUndefined();
    expect(restore1.version).not.toBe(alices.version);
    await b.syncOk();
    expect(await b.read(NOTE)).toBe(BY_ALICE);

    // Bob restores the other side (short id, as `log` prints it), replacing alice's restore.
    const r2 = expectExit(await b.run('restore', NOTE, '--at', bobs.version.slice(-8), '--json'), EXIT.ok);
    expect(r2.json).toMatchObject({ restored: [{ path: NOTE, hash: sha256(BY_BOB) }], eventsPublished: 1 });
    expect(await b.read(NOTE)).toBe(BY_BOB);
    const restore2 = ((await b.log(NOTE)) as unknown as LogEntry[])[0] as LogEntry;
    expect(restore2).toMatchObject({ type: 'put', hash: sha256(BY_BOB), client: await b.clientId(), replaces: [restore1.version] });
    await a.syncOk();
    for (const c of [a, b]) {
      expect(await c.read(NOTE)).toBe(BY_BOB);
      expect(copiesOf(await c.files(), NOTE)).toEqual([]);
      expect(await c.conflicts()).toEqual([]);
    }
    // The merge and both its parents stay in the history.
    const after = ((await a.log(NOTE)) as unknown as LogEntry[]).map((e) => e.version);
    for (const v of [merge.version, alices.version, bobs.version]) expect(after).toContain(v);
  }, 180_000);
});
