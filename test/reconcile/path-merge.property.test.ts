/**
 * The engine's side of merging (ADR-0020): the common ancestor from the `replaces` graph
 * (`computeMergeBase`), the pre-read gate (`computeMergeCandidate`) and the merge of a path's
 * heads (`computePathMerge`): the same bytes and the same event record whatever order a client
 * holds the heads in, and two clients that merged the same heads at once still give later
 * edits a common ancestor.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ClientId, ContentHash, VersionId } from '../../src/events/ids.js';
import { sha256Hex } from '../../src/events/signing.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { DEFAULT_MERGE_POLICY } from '../../src/merge/merge-policy.js';
import { computeMergeBase } from '../../src/projections/merge-base.js';
import { emptyPathState, evolvePath, type PathState } from '../../src/projections/project-paths.js';
import type { VersionRecord } from '../../src/projections/version-record.js';
import { computeMergeCandidate, computePathMerge, type MergeCandidate } from '../../src/reconcile/path-merge.js';

const enc = (s: string) => new TextEncoder().encode(s);
const P = 'notes/n.md' as SyncPath;

/** A version `id` of P with `text` (null: a delete) replacing `replaces`. */
function version(id: string, text: string | null, replaces: string[] = [], mode = 0o644): VersionRecord {
  const content = text === null ? null : { hash: sha256Hex(text) as ContentHash, size: enc(text).byteLength, mode };
  return {
    id: id as VersionId,
    path: P,
    type: text === null ? 'tombstone' : 'put',
    client: '01CL' as ClientId,
    seq: 1,
    time: '',
    replaces: replaces as VersionId[],
    content,
    seen: {},
    snapshot: null,
  };
}

function stateOf(versions: readonly VersionRecord[]): PathState {
  return versions.reduce(evolvePath, emptyPathState);
}

const textOf = new Map<string, string>();
function v(id: string, text: string | null, replaces: string[] = [], mode?: number): VersionRecord {
  if (text !== null) textOf.set(sha256Hex(text), text);
  return version(id, text, replaces, mode);
}

function mergeOf(state: PathState, heads: readonly VersionRecord[]) {
  const c = computeMergeCandidate(P, state, heads, DEFAULT_MERGE_POLICY);
  if ('kind' in c) return c;
  const bytes = (r: VersionRecord | null) => (r?.content == null ? null : enc(textOf.get(r.content.hash)!));
  return computePathMerge(
    c as MergeCandidate,
    DEFAULT_MERGE_POLICY,
    bytes(c.base),
    c.heads.map((h) => bytes(h)!),
  );
}

describe('computeMergeBase', () => {
  it('is the version both heads replace, through any number of steps', () => {
    const vs = [v('v1', 'a\n'), v('v2', 'b\n', ['v1']), v('v3', 'c\n', ['v2']), v('v4', 'd\n', ['v2'])];
    expect(computeMergeBase(stateOf(vs), [vs[2]!, vs[3]!])).toMatchObject({ kind: 'base', base: { id: 'v2' } });
  });

  it('is none for two unrelated versions, criss-cross for two different nearest ancestors', () => {
    const two = [v('v1', 'a\n'), v('v2', 'b\n')];
    expect(computeMergeBase(stateOf(two), two).kind).toBe('none');
    const cc = [
      v('v1', 'o\n'),
      v('v2', 'x\n', ['v1']),
      v('v3', 'y\n', ['v1']),
      v('v4', 'p\n', ['v2', 'v3']),
      v('v5', 'q\n', ['v2', 'v3', 'v1']),
    ];
    const crossed = [...cc, v('v6', 'r\n', ['v4']), v('v7', 's\n', ['v3'])];
    // v6 descends from v2 and v3 (via v4); v7 from v3 only: the nearest common one is v3.
    expect(computeMergeBase(stateOf(crossed), [crossed[5]!, crossed[6]!])).toMatchObject({ kind: 'base', base: { id: 'v3' } });
    const a = v('v8', 'a8\n', ['v2']);
    const b = v('v9', 'b9\n', ['v2', 'v3']);
    const c = v('v10', 'c10\n', ['v3', 'v2']);
    expect(computeMergeBase(stateOf([...cc.slice(0, 3), a, b, c]), [b, c]).kind).toBe('criss-cross');
  });

  it('counts two same-bytes merges of the same heads as one ancestor (two clients that merged at once)', () => {
    const o = v('v1', 'o\n');
    const x = v('v2', 'x\no\n', ['v1']);
    const y = v('v3', 'o\ny\n', ['v1']);
    const m1 = v('v4', 'x\no\ny\n', ['v2', 'v3']);
    const m2 = v('v5', 'x\no\ny\n', ['v3', 'v2']);
    const edit = v('v6', 'x\no\ny\nz\n', ['v4']);
    const r = computeMergeBase(stateOf([o, x, y, m1, m2, edit]), [edit, m2]);
    expect(r).toMatchObject({ kind: 'base' });
    expect(mergeOf(stateOf([o, x, y, m1, m2, edit]), [edit, m2])).toMatchObject({ kind: 'merged', heads: ['v5', 'v6'] });
  });
});

describe('computeMergeCandidate and computePathMerge', () => {
  it('refuse a delete among the heads, a path the policy does not cover, and modes changed both ways', () => {
    const o = v('v1', 'o\n');
    expect(
      mergeOf(stateOf([o, v('v2', null, ['v1']), v('v3', 'y\n', ['v1'])]), [v('v2', null, ['v1']), v('v3', 'y\n', ['v1'])]),
    ).toMatchObject({
      kind: 'refused',
      reason: 'delete',
    });
    const bin = { ...v('v2', 'x\n', ['v1']), path: 'a.bin' as SyncPath };
    expect(computeMergeCandidate('a.bin' as SyncPath, stateOf([o, bin]), [bin, bin], DEFAULT_MERGE_POLICY)).toMatchObject({
      reason: 'pattern',
    });
    const m1 = v('v2', 'x\no\n', ['v1'], 0o755);
    const m2 = v('v3', 'o\ny\n', ['v1'], 0o600);
    expect(mergeOf(stateOf([o, m1, m2]), [m1, m2])).toMatchObject({ kind: 'refused', reason: 'mode' });
  });

  it('gives the same bytes and record in any head order, and the other side when one side is the base', () => {
    const lines = fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', ''), { minLength: 0, maxLength: 8 });
    fc.assert(
      fc.property(lines, lines, lines, (o, x, y) => {
        const texts = [o, x, y].map((l) => `${l.join('\n')}\n`);
        const base = v('v1', texts[0]!);
        const hx = v('v2', texts[1]!, ['v1']);
        const hy = v('v3', texts[2]!, ['v1']);
        const st = stateOf([base, hx, hy]);
        const r1 = mergeOf(st, [hx, hy]);
        const r2 = mergeOf(st, [hy, hx]);
        expect(r2).toEqual(r1);
        if (r1.kind === 'merged') {
          expect(r1.record.parents).toHaveLength(2);
          expect(r1.content.hash).toBe(sha256Hex(r1.bytes));
        }
        const same = v('v4', texts[0]!, ['v1']);
        const r3 = mergeOf(stateOf([base, hx, same]), [hx, same]);
        expect(r3).toMatchObject({ kind: 'merged', content: { hash: hx.content!.hash } });
      }),
      { numRuns: 200 },
    );
  });
});
