import { isSameFile, type LocalScan } from './ports.js';

/**
 * Every path where two scans of one tree differ: a file added, removed or different in any
 * field, a folder added or removed. (What a sync round changed, for the next round's focused
 * plan, ADR-0009.)
 */
export function computeScanChanges(a: LocalScan, b: LocalScan): Set<string> {
  if (a === b) return new Set();
  const out = b.files.changesSince?.(a.files) ?? computeFileChanges(a, b);
  for (const d of a.dirs) if (!b.dirs.has(d)) out.add(d);
  for (const d of b.dirs) if (!a.dirs.has(d)) out.add(d);
  return out;
}

function computeFileChanges(a: LocalScan, b: LocalScan): Set<string> {
  const out = new Set<string>();
  for (const [p, f] of a.files) {
    const g = b.files.get(p);
    if (g === undefined || !isSameFile(f, g)) out.add(p);
  }
  for (const p of b.files.keys()) if (!a.files.has(p)) out.add(p);
  return out;
}
