import { isSyncPath, type SyncPath } from '../../../src/events/sync-path.js';
import type { BaseEntry } from '../../../src/reconcile/ports.js';
import { isConflictCopyName } from '../../../src/reconcile/conflict-copy-name.js';
import { computeLiveFolders, type ConflictNote } from '../../../src/reconcile/conflict-notes.js';
import { decidePath } from '../../../src/reconcile/decide-path.js';
import {
  computeSurroundings,
  computeTwinConflicts,
  createPlanLayout,
  type PlanInput,
  type PlanOp,
} from '../../../src/reconcile/plan-sync.js';

/** What the plain table gives for every path of a full plan's input. */
export interface TablePlan {
  readonly ops: PlanOp[];
  /** The table's conflicts, then the twins (the one conflict rule across paths). */
  readonly conflicts: ConflictNote[];
  /** How many paths the table was asked about. */
  readonly paths: number;
}

/**
 * The reference `planSync` is checked against: the ADR-0001 table (`decidePath`) asked about
 * every path any state holds, in path order, with no optimisation (no in-sync fast path, no
 * focus, whole base and cloud). Only the layout (which files a plan writes or moves aside,
 * `createPlanLayout`) is carried from path to path, as the table's surroundings.
 */
export function planByTable(input: PlanInput): TablePlan {
  const { base, local, cloud } = input;
  const copies = new Map<string, BaseEntry[]>();
  for (const b of base.values()) if (b.copyOf !== undefined) copies.set(b.copyOf.path, [...(copies.get(b.copyOf.path) ?? []), b]);
  const paths = new Set<string>([...cloud.keys(), ...copies.keys()]);
  for (const [p, b] of base) if (b.copyOf === undefined) paths.add(p);
  for (const p of local.files.keys()) if (base.get(p)?.copyOf === undefined) paths.add(p);
  const liveFolders = computeLiveFolders(cloud);
  const layout = createPlanLayout(local);
  const hasUntrackedCopyNames = [...local.files.keys()].some((p) => isConflictCopyName(p) && !base.has(p));
  const s = computeSurroundings(input, layout, hasUntrackedCopyNames);
  const ops: PlanOp[] = [];
  const conflicts: ConflictNote[] = [];
  const sorted = [...paths].sort().filter((p): p is SyncPath => isSyncPath(p));
  for (const path of sorted) {
    const row = { path, base: base.get(path), local: local.files.get(path), cloud: cloud.get(path), copies: copies.get(path) ?? [] };
    const d = decidePath({ ...row, folderHere: liveFolders.has(path) || local.dirs.has(path) }, s);
    ops.push(...d.ops);
    conflicts.push(...d.conflicts);
    layout.add(d);
  }
  return { ops, conflicts: [...conflicts, ...computeTwinConflicts(local, cloud)], paths: sorted.length };
}
