import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeFoldKey, type SyncPath } from '../../src/events/sync-path.js';
import { asInteger, ScanColumns, ScanFiles } from '../../src/local/scan-files.js';
import { computeScanChanges } from '../../src/reconcile/local-scan.js';
import type { LocalFile } from '../../src/reconcile/ports.js';

// A real folder's scan keeps its files in columns (ScanFiles, ADR-0010) and answers the
// planner's questions from them: as a map of path -> LocalFile, what changed since an earlier
// scan, and which paths share a fold key (twins). Each must answer exactly what a plain Map of
// the same files answers.

/** Names that fold onto each other (case, Unicode normalisation, final sigma...). */
const NAMES = ['a', 'A', 'b.md', 'B.md', 'é', 'e\u0301', 'É', 'ß', 'SS', 'ss', 'Σ', 'σ', 'ς', 'x', 'İ', 'i\u0307'];

interface Folder {
  rel: string;
  /** Entries in listing order: name, kind, and for F its stats, hash and whether it is present. */
  entries: { name: string; kind: string; stats: [number, number, number, number]; hash: Buffer; present: boolean }[];
}

const arbFolderEntries = fc.uniqueArray(
  fc.record({
    name: fc.constantFrom(...NAMES),
    kind: fc.constantFrom('F', 'F', 'F', 'f', 'd', 'l'),
    stats: fc.tuple(fc.nat(10), fc.nat(3), fc.nat(3), fc.constantFrom(0o644, 0o755)),
    hash: fc.constantFrom(...[0, 1, 2].map((i) => Buffer.alloc(32, i))),
    present: fc.boolean(),
  }),
  { selector: (e) => e.name, maxLength: 8 },
);

/** Folders (root first) with entries; folder names come from NAMES too, so folders can be twins. */
const arbTree = fc
  .uniqueArray(
    fc.array(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 2 }).map((parts) => parts.join('/')),
    { maxLength: 5 },
  )
  .chain((rels) => fc.tuple(...['', ...rels].map((rel) => arbFolderEntries.map((entries): Folder => ({ rel, entries })))));

function computeColumns(folders: readonly Folder[]): ScanColumns {
  const c = new ScanColumns();
  for (const f of folders) {
    const slot = c.openFolder(f.rel);
    for (const e of f.entries) {
      if (e.kind !== 'F') continue;
      const i = c.addFile(...e.stats);
      if (e.present) c.setHash(i, e.hash);
    }
    c.closeFolder(slot, f.entries.map((e) => e.name).join('\0'), f.entries.map((e) => e.kind).join(''));
  }
  return c;
}

function computeReference(folders: readonly Folder[]): Map<SyncPath, LocalFile> {
  const out = new Map<SyncPath, LocalFile>();
  for (const f of folders) {
    for (const e of f.entries) {
      if (e.kind !== 'F' || !e.present) continue;
      const p = (f.rel === '' ? e.name : `${f.rel}/${e.name}`) as SyncPath;
      out.set(p, { path: p, hash: e.hash.toString('hex'), size: e.stats[0], mtimeMs: e.stats[1], ino: e.stats[2], mode: e.stats[3] });
    }
  }
  return out;
}

const sortGroups = (groups: readonly (readonly string[])[]) =>
  groups.map((g) => [...g].sort()).sort((a, b) => (a.join('\0') < b.join('\0') ? -1 : 1));

describe('ScanFiles (a scan kept in columns)', () => {
  it('a fold key is its folder key, a slash and its name key (what the lookup by folder relies on)', () => {
    const segment = fc
      .oneof(fc.constantFrom(...NAMES), fc.string({ unit: 'grapheme', minLength: 1 }), fc.string({ unit: 'binary', minLength: 1 }))
      .filter((s) => !s.includes('/'));
    fc.assert(
      fc.property(fc.array(segment, { minLength: 2, maxLength: 4 }), (parts) => {
        expect(computeFoldKey(parts.join('/'))).toBe(parts.map((s) => computeFoldKey(s)).join('/'));
      }),
      { numRuns: 2000 },
    );
  });

  it('answers get, has, size and iteration as a Map of the same files', () => {
    fc.assert(
      fc.property(arbTree, (folders) => {
        const files = new ScanFiles(computeColumns(folders));
        const ref = computeReference(folders);
        expect(new Map(files)).toEqual(ref);
        expect(files.size).toBe(ref.size);
        expect([...files.keys()].sort()).toEqual([...ref.keys()].sort());
        expect([...files.values()].map((f) => f.path).sort()).toEqual([...ref.keys()].sort());
        for (const f of folders) {
          for (const e of f.entries) {
            const p = (f.rel === '' ? e.name : `${f.rel}/${e.name}`) as SyncPath;
            expect(files.get(p)).toEqual(ref.get(p));
            expect(files.has(p)).toBe(ref.has(p));
          }
        }
        expect(files.get('nowhere/x' as SyncPath)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('finds the same twins and the same paths per fold key as an index of every path', () => {
    fc.assert(
      fc.property(
        arbTree,
        fc.array(fc.array(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 3 }), { maxLength: 10 }),
        (folders, probes) => {
          const lookup = new ScanFiles(computeColumns(folders)).foldLookup();
          const byKey = new Map<string, string[]>();
          for (const p of computeReference(folders).keys()) byKey.set(computeFoldKey(p), [...(byKey.get(computeFoldKey(p)) ?? []), p]);
          expect(sortGroups(lookup.twins)).toEqual(sortGroups([...byKey.values()].filter((g) => g.length > 1)));
          for (const key of [...byKey.keys(), ...probes.map((parts) => computeFoldKey(parts.join('/')))]) {
            expect([...lookup.find(key)].sort()).toEqual([...(byKey.get(key) ?? [])].sort());
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('changesSince names exactly the paths where two scans differ', () => {
    // The second scan: the first with some entries changed (stats, hash, presence) or dropped, and new ones.
    const arbPair = arbTree.chain((folders) =>
      fc.tuple(
        fc.constant(folders),
        fc.tuple(
          ...folders.map((f) =>
            fc
              .tuple(fc.boolean(), arbFolderEntries, fc.array(fc.nat(4), { minLength: f.entries.length, maxLength: f.entries.length }))
              .map(([keep, fresh, edits]): Folder | undefined => {
                if (!keep && f.rel !== '') return undefined;
                if (edits.every((e) => e === 0)) return f;
                const entries = f.entries.flatMap((e, j) => {
                  const edit = edits[j]!;
                  if (edit === 1)
                    return [{ ...e, stats: [e.stats[0] + 1, e.stats[1], e.stats[2], e.stats[3]] as [number, number, number, number] }];
                  if (edit === 2) return [{ ...e, present: !e.present, hash: Buffer.alloc(32, 9) }];
                  if (edit === 3) return [];
                  if (edit === 4) return [{ ...e, hash: Buffer.alloc(32, 9) }];
                  return [e];
                });
                const names = new Set(entries.map((e) => e.name));
                return { rel: f.rel, entries: [...entries, ...fresh.filter((e) => !names.has(e.name))] };
              }),
          ),
        ),
      ),
    );
    fc.assert(
      fc.property(arbPair, ([before, afterMaybe]) => {
        const after = afterMaybe.filter((f): f is Folder => f !== undefined);
        const a = new ScanFiles(computeColumns(before));
        const b = new ScanFiles(computeColumns(after));
        const fast = b.changesSince(a);
        // The same question asked of plain maps (computeScanChanges' own way, no columns).
        const slow = computeScanChanges(
          { files: computeReference(before), dirs: new Set(), unreadable: [] },
          { files: computeReference(after), dirs: new Set(), unreadable: [] },
        );
        expect(fast === undefined ? undefined : [...fast].sort()).toEqual([...slow].sort());
        expect(b.changesSince(computeReference(before))).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });
});

describe('asInteger', () => {
  it('returns the same number for every size, inode and mode a stat can give, however large', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.nat(),
          fc.maxSafeNat(),
          fc.constantFrom(0, 0x3fffffff, 0x40000000, 0x7fffffff, 2 ** 32, 2 ** 53 - 1),
          fc.double({ min: 0, max: 2 ** 53, noNaN: true }),
        ),
        (v) => {
          expect(Object.is(asInteger(v), v)).toBe(true);
        },
      ),
    );
  });
});
