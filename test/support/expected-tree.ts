import type { SyncPath } from '../../src/events/sync-path.js';
import { computeHeads, type Projection } from '../../src/projections/project-paths.js';
import type { VersionRecord } from '../../src/projections/version-record.js';
import { computeConflictCopyPath } from '../../src/reconcile/conflict-copy-name.js';

/**
 * What every folder shows once all clients have synced, as the cloud projection says (ADR-0001,
 * ADR-0016): each path's winning head at the path and every other live head as a conflict copy
 * named for its writer (`nameOf`); a delete shows nothing. Where `displaced(path)` holds (a
 * folder keeps a name a live file claims too), the winner is a copy as well. One definition for
 * the convergence checks of the reconcile world, the simulation and the sync world.
 */
export function computeShownHeads(
  projection: Projection,
  nameOf: (client: string) => string,
  displaced: (path: SyncPath) => boolean = () => false,
): Map<string, VersionRecord> {
  const out = new Map<string, VersionRecord>();
  for (const [path, st] of projection) {
    const heads = computeHeads(st);
    const aside = heads[0]?.content != null && displaced(path);
    heads.forEach((h, i) => {
      if (h.content === null) return;
      out.set(i === 0 && !aside ? path : computeConflictCopyPath(path, nameOf(h.client), h.id), h);
    });
  }
  return out;
}
