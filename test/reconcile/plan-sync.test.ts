import { describe, expect, it } from 'vitest';
import { computeHeads, projectVersions } from '../../src/projections/project-paths.js';
import type { VersionRecord } from '../../src/projections/version-record.js';
import type { ClientId, VersionId } from '../../src/events/ids.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { computeTree, createWorld, deleteUserFile, project, sync, writeUserFile } from './support/world.js';

describe('planSync regressions', () => {
  it('an edit closes an edit-versus-delete conflict by replacing the delete its writer had seen', async () => {
    const w = createWorld(['a', 'b']);
    writeUserFile(w, 'a', 'n.md', 'v1');
    await sync(w, 'a');
    await sync(w, 'b');
    deleteUserFile(w, 'a', 'n.md');
    writeUserFile(w, 'b', 'n.md', 'v2');
    await sync(w, 'a');
    await sync(w, 'b');
    await sync(w, 'a');
    const heads = () => computeHeads(project(w).get('n.md' as SyncPath)!);
    expect(heads().length).toBe(2); // the edit and the recorded delete
    expect(computeTree(w, 'a')['n.md']).toBe('v2'); // the edit survived
    writeUserFile(w, 'a', 'n.md', 'v3');
    await sync(w, 'a');
    await sync(w, 'b');
    expect(heads().map((h) => h.content !== null)).toEqual([true]);
    expect(computeTree(w, 'b')['n.md']).toBe('v3');
  });
});

describe('fold edge cases a hostile writer can build', () => {
  const base = { path: 'x.md' as SyncPath, type: 'put' as const, time: '2026-11-21T00:00:00.000Z', seen: {}, snapshot: null };
  const content = (h: string) => ({ hash: h.repeat(64).slice(0, 64) as never, size: 1, mode: 0o644 });
  const v = (id: string, client: string, seq: number, replaces: string[], h: string): VersionRecord => ({
    ...base,
    id: id as VersionId,
    client: client as ClientId,
    seq,
    replaces: replaces as VersionId[],
    content: content(h),
  });

  it('two events claiming one id give the same state in either arrival order', () => {
    const x = v('01AAAAAAAAAAAAAAAAAAAAAAAA', '01CLIENTA0000000000000000A', 1, [], 'a');
    const y = v('01AAAAAAAAAAAAAAAAAAAAAAAA', '01CLIENTB0000000000000000B', 1, [], 'b');
    const one = projectVersions([x, y]).get(base.path)!;
    const two = projectVersions([y, x]).get(base.path)!;
    expect(computeHeads(one)).toEqual(computeHeads(two));
    expect(computeHeads(one)[0]?.client).toBe(x.client);
  });

  it('a replace cycle still leaves one head', () => {
    const x = v('01AAAAAAAAAAAAAAAAAAAAAAAA', '01CLIENTA0000000000000000A', 1, ['01BBBBBBBBBBBBBBBBBBBBBBBB'], 'a');
    const y = v('01BBBBBBBBBBBBBBBBBBBBBBBB', '01CLIENTA0000000000000000A', 2, ['01AAAAAAAAAAAAAAAAAAAAAAAA'], 'b');
    expect(computeHeads(projectVersions([x, y]).get(base.path)!)).toHaveLength(1);
  });
});
