import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isBmError, ErrorCode } from '../../src/errors.js';
import type { ClientId, ContentHash, VersionId } from '../../src/events/ids.js';
import type { ContentRef } from '../../src/events/schema.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { computeHeads, projectVersions, type PathState } from '../../src/projections/project-paths.js';
import type { VersionRecord } from '../../src/projections/version-record.js';
import { planResolve, planRestore } from '../../src/reconcile/sync/publish.js';

/*
 * The decisions of `bm-log resolve` and `bm-log restore` (ADR-0023), apart from the I/O that
 * publishes them: what they decide for any history of one path, checked by projecting the
 * event they would publish.
 */

const PATH = 'a.txt' as SyncPath;
const CLIENT = '01CLIENT000000000000000001' as ClientId;
const hashOf = (n: number) => n.toString(16).padStart(64, '0') as ContentHash;
const idOf = (n: number) => `01V${n.toString().padStart(23, '0')}` as VersionId;

function record(n: number, replaces: readonly VersionId[], content: ContentRef | null, type?: VersionRecord['type']): VersionRecord {
  const t = type ?? (content === null ? 'tombstone' : 'put');
  const time = '2026-12-07T00:00:00.000Z';
  return { id: idOf(n), path: PATH, type: t, client: CLIENT, seq: n, time, replaces: [...replaces], content, seen: {}, snapshot: null };
}

/** A history of one path: each version replaces some of the versions before it; content from a few hashes and modes. */
const stepArb = fc.record({
  replace: fc.array(fc.nat(20), { maxLength: 3 }),
  content: fc.option(fc.record({ hash: fc.nat(3), mode: fc.constantFrom(0o644, 0o755) })),
});
const historyArb = fc.array(stepArb, { minLength: 1, maxLength: 8 }).map((steps) => {
  const versions: VersionRecord[] = [];
  steps.forEach((s, i) => {
    const replaces = [...new Set(s.replace.filter((r) => r < i).map(idOf))];
    const content = s.content === null ? null : { hash: hashOf(s.content.hash), size: s.content.hash, mode: s.content.mode };
    versions.push(record(i + 1, replaces, content));
  });
  return projectVersions(versions).get(PATH)!;
});

const contentArb = fc.option(fc.record({ hash: fc.nat(3).map(hashOf), size: fc.nat(3), mode: fc.constantFrom(0o644, 0o755) }));

/** The path's state after `next` is published. */
function after(st: PathState | undefined, next: VersionRecord): PathState {
  const projection = new Map(st === undefined ? [] : [[PATH, st]]);
  return projectVersions([next], projection).get(PATH)!;
}

describe('planRestore', () => {
  it('publishes nothing only when the path already is as asked, and otherwise makes it so', () => {
    fc.assert(
      fc.property(fc.option(historyArb, { nil: undefined }), contentArb, (st, content) => {
        const step = planRestore({ path: PATH, content }, st);
        const heads = st === undefined ? [] : computeHeads(st);
        const only = heads.length === 1 ? heads[0]!.content : undefined;
        const satisfied =
          content === null ? heads.every((h) => h.content === null) : only?.hash === content.hash && only.mode === content.mode;
        expect(step.kind === 'none').toBe(satisfied);
        if (step.kind === 'none') return;
        expect(step.replaces).toEqual(heads.map((h) => h.id));
        const now = computeHeads(after(st, record(99, step.replaces, step.kind === 'put' ? step.content : null)));
        expect(now.map((h) => h.id)).toEqual([idOf(99)]);
        expect(now[0]!.content).toEqual(content);
      }),
    );
  });

  it('table: a deleted path stays deleted; the one head with that content and mode is kept', () => {
    const put = record(1, [], { hash: hashOf(1), size: 1, mode: 0o644 });
    const st = projectVersions([put]).get(PATH)!;
    expect(planRestore({ path: PATH, content: null }, undefined)).toEqual({ kind: 'none' });
    expect(planRestore({ path: PATH, content: put.content }, st)).toEqual({ kind: 'none' });
    const executable = { ...put.content!, mode: 0o755 };
    expect(planRestore({ path: PATH, content: executable }, st)).toEqual({ kind: 'put', replaces: [put.id], content: executable });
    expect(planRestore({ path: PATH, content: null }, st)).toEqual({ kind: 'tombstone', replaces: [put.id] });
  });
});

describe('planResolve', () => {
  const noFolder = () => false;

  it('resolves only an open conflict, replacing every head; the resolve is then the one head', () => {
    fc.assert(
      fc.property(historyArb, (st) => {
        const heads = computeHeads(st);
        let decision;
        try {
          decision = planResolve({ path: PATH, keep: 'local' }, st, noFolder);
        } catch (e) {
          expect(isBmError(e, ErrorCode.usage)).toBe(true);
          expect(heads.length).toBeLessThan(2);
          return;
        }
        expect(heads.length).toBeGreaterThanOrEqual(2);
        expect(decision).toEqual({ replaces: heads.map((h) => h.id), keep: { kind: 'local' } });
        expect(computeHeads(after(st, record(99, decision.replaces, null, 'resolve'))).map((h) => h.id)).toEqual([idOf(99)]);
      }),
    );
  });

  it('keeps the one version whose id is or ends with KEEP (any case), and refuses none or several', () => {
    fc.assert(
      fc.property(historyArb, fc.nat(8), fc.nat(3), (st, pick, suffixLength) => {
        if (computeHeads(st).length < 2) return;
        const ids = [...st.versions.keys()];
        const keep = ids[pick % ids.length]!.slice(-(suffixLength + 1)).toLowerCase();
        const matching = ids.filter((id) => id.endsWith(keep.toUpperCase()));
        if (matching.length === 1) {
          const d = planResolve({ path: PATH, keep }, st, noFolder);
          expect(d.keep).toEqual({ kind: 'version', version: st.versions.get(matching[0]!) });
        } else {
          expect(() => planResolve({ path: PATH, keep }, st, noFolder)).toThrow(/version of a.txt matches/);
        }
      }),
    );
  });

  it('table: one live head is a conflict only when a folder displaces the file (ADR-0016)', () => {
    const st = projectVersions([record(1, [], { hash: hashOf(1), size: 1, mode: 0o644 })]).get(PATH)!;
    expect(() => planResolve({ path: PATH, keep: 'local' }, st, noFolder)).toThrow(/has no open conflict/);
    expect(() => planResolve({ path: PATH, keep: 'local' }, undefined, () => true)).toThrow(/has no open conflict/);
    expect(planResolve({ path: PATH, keep: 'local' }, st, (p) => p === PATH)).toEqual({ replaces: [idOf(1)], keep: { kind: 'local' } });
  });
});
