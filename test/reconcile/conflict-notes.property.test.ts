import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ClientId, ContentHash, VersionId } from '../../src/events/ids.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { computeHeads, projectVersions } from '../../src/projections/project-paths.js';
import type { VersionRecord } from '../../src/projections/version-record.js';
import { computeLiveFolders, computeOpenConflicts } from '../../src/reconcile/conflict-notes.js';

// The folders a live file gives way to (ADR-0016), checked against a brute-force reading of
// their definition, in any order of the paths (the fast path remembers the last folder).

const pathArb = fc.constantFrom('a', 'a/b', 'a/b/c.md', 'a/b.md', 'a-b/c', 'x/y/z', 'x', 'x/y', 'x/y.conflict-bob-ABCDEFGH', 'q/r.md');
const versionArb = fc.record({ path: pathArb, live: fc.boolean(), replacesEarlier: fc.boolean() });

function build(specs: readonly { path: string; live: boolean; replacesEarlier: boolean }[]): VersionRecord[] {
  const out: VersionRecord[] = [];
  specs.forEach((s, i) => {
    const earlier = out.filter((v) => v.path === s.path).map((v) => v.id);
    out.push({
      id: `01V${String(i).padStart(23, '0')}` as VersionId,
      path: s.path as SyncPath,
      type: s.live ? 'put' : 'tombstone',
      client: '01C0000000000000000000000A' as ClientId,
      seq: i + 1,
      time: '2026-12-07T00:00:00.000Z',
      replaces: s.replacesEarlier ? earlier : [],
      content: s.live ? { hash: 'a'.repeat(64) as ContentHash, size: 1, mode: 0o644 } : null,
      seen: {},
      snapshot: null,
    });
  });
  return out;
}

describe('computeLiveFolders and computeOpenConflicts', () => {
  it('the live folders are exactly the proper prefixes of paths whose winner is live (conflict copy names aside)', () => {
    fc.assert(
      fc.property(fc.array(versionArb, { maxLength: 14 }), (specs) => {
        const cloud = projectVersions(build(specs));
        const live = [...cloud]
          .filter(([p, st]) => computeHeads(st)[0]?.content != null && !p.includes('.conflict-'))
          .map(([p]) => p as string);
        const expected = new Set(
          live.flatMap((p) =>
            p
              .split('/')
              .slice(0, -1)
              .map((_, i, _parts) =>
                p
                  .split('/')
                  .slice(0, i + 1)
                  .join('/'),
              ),
          ),
        );
        expect(computeLiveFolders(cloud)).toEqual(expected);
        // A file at a live folder's name is a file-versus-folder conflict, listed once.
        const fvf = computeOpenConflicts(cloud)
          .filter((c) => c.kind === 'file-versus-folder')
          .map((c) => c.path as string);
        expect(fvf.sort()).toEqual(live.filter((p) => expected.has(p)).sort());
      }),
      { numRuns: 1000 },
    );
  });
});
