import { computeFoldKey, type SyncPath } from '../events/sync-path.js';
import type { Projection } from '../projections/project-paths.js';
import { ConflictKind, type ConflictNote } from './conflict-notes.js';
import type { FoldLookup, LocalFile, LocalScan } from './ports.js';
import { isCloudOnly } from './plan-focus.js';

/**
 * Twin conflicts (ADR-0001): paths that are one file on case-insensitive or normalising file
 * systems. A rule across paths, so not in the per-path table: every plan recomputes it.
 */

/** Per local file map (a scan's, shared by the plans of one round and a rescan that changed nothing). */
const foldLookups = new WeakMap<ReadonlyMap<SyncPath, LocalFile>, FoldLookup>();

/** The files' fold lookup: their own (a real folder's scan, by folder), or an index of every path. */
function computeFoldLookup(files: LocalScan['files']): FoldLookup {
  if (files.foldLookup !== undefined) return files.foldLookup();
  const cached = foldLookups.get(files);
  if (cached !== undefined) return cached;
  // One string per key; a Set only where two paths share a key (rare: most trees have none).
  const byKey = new Map<string, string | Set<string>>();
  for (const p of files.keys()) {
    const k = computeFoldKey(p);
    const had = byKey.get(k);
    if (had === undefined) byKey.set(k, p);
    else if (typeof had === 'string') byKey.set(k, new Set([had, p]));
    else had.add(p);
  }
  const twins: string[][] = [];
  for (const v of byKey.values()) if (typeof v !== 'string') twins.push([...v]);
  const lookup: FoldLookup = {
    twins,
    find: (k) => {
      const had = byKey.get(k);
      return had === undefined ? [] : typeof had === 'string' ? [had] : [...had];
    },
  };
  foldLookups.set(files, lookup);
  return lookup;
}

/**
 * Paths that differ but fold to one name on case-insensitive or normalising file systems:
 * among the local files and the cloud-only paths (live in the cloud, no local file), which
 * `cloudOnly` gives where `cloud` holds only some paths. Sorted by path.
 */
export function computeTwinConflicts(local: LocalScan, cloud: Projection, cloudOnly?: ReadonlySet<string>): ConflictNote[] {
  const lookup = computeFoldLookup(local.files);
  // The cloud-only paths (few) go into groups of their own, seeded with the local paths of their key.
  const extra = new Map<string, Set<string>>();
  const add = (p: string) => {
    const k = computeFoldKey(p);
    let group = extra.get(k);
    if (group === undefined) {
      group = new Set(lookup.find(k));
      extra.set(k, group);
    }
    group.add(p);
  };
  if (cloudOnly !== undefined) for (const p of cloudOnly) add(p);
  else for (const [p, st] of cloud) if (isCloudOnly(p, st, local)) add(p);
  const out: ConflictNote[] = [];
  const note = (set: ReadonlySet<string>) => {
    const names = [...set].sort();
    out.push({
      path: names[0] as SyncPath,
      kind: ConflictKind.twins,
      heads: [],
      detail: `these paths are one file on macOS and Windows: ${names.join(', ')}; kept apart here, rename one`,
    });
  };
  for (const group of lookup.twins) if (!extra.has(computeFoldKey(group[0]!))) note(new Set(group));
  for (const set of extra.values()) if (set.size > 1) note(set);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
