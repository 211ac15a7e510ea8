import { ErrorCode, isBmError } from '../errors.js';
import { writeBlob } from '../events/blobs.js';
import type { ContentHash } from '../events/ids.js';
import { keyOfBlob } from '../events/layout.js';
import type { ObjectStore } from '../events/store/object-store.js';
import type { SyncPath } from '../events/sync-path.js';
import type { LocalTree } from './ports.js';
import { computeCondemnedRefs, isCondemnationVoided, type CondemnedRefs } from '../projections/blob-condemnation.js';
import type { LogState } from '../projections/project-log.js';
import type { BaseEntry } from './ports.js';
import { openUploadSource } from './sync/execute-plan.js';

/**
 * Blobs that vanished from the remote (ADR-0015): `bm-log verify` finds them (an event names a
 * blob that is not there), and `verify --repair` puts back those whose bytes a file in this
 * folder still holds. Never a blob a GC condemned on purpose (ADR-0007): its absence is the
 * collection working, and uploading it again would race the protocol's deletes.
 */

/** What can be done about one missing blob. */
export type MissingBlob =
  /** A GC condemned it (and no later event named it): gone on purpose, not a fault. */
  | { readonly hash: ContentHash; readonly kind: 'condemned' }
  /** Files of this folder that the manifest says hold these bytes (each is checked while uploading). */
  | {
      readonly hash: ContentHash;
      readonly kind: 'restorable';
      readonly sources: readonly { readonly path: SyncPath; readonly size: number }[];
    }
  /** No file here holds them. */
  | { readonly hash: ContentHash; readonly kind: 'lost' };

/**
 * Sorts missing blobs (pure): condemned by a GC, restorable from a file the manifest lists with
 * that hash, or lost here. `state` is the whole log folded (paths and vault).
 */
export function planBlobRepair(
  missing: readonly ContentHash[],
  state: LogState,
  manifest: ReadonlyMap<SyncPath, BaseEntry>,
): MissingBlob[] {
  const refs = computeCondemnedRefs(state.paths, state.vault);
  const byHash = new Map<string, { path: SyncPath; size: number }[]>();
  const wanted = new Set<string>(missing);
  for (const row of manifest.values()) {
    if (!wanted.has(row.hash)) continue;
    byHash.set(row.hash, [...(byHash.get(row.hash) ?? []), { path: row.path, size: row.size }]);
  }
  return missing.map((hash) => {
    if (isCondemned(hash, state, refs)) return { hash, kind: 'condemned' };
    const sources = byHash.get(hash);
    return sources === undefined ? { hash, kind: 'lost' } : { hash, kind: 'restorable', sources };
  });
}

/** Whether a GC condemned `hash` (a blob, or a pack by its collect hash, ADR-0035) and no later event voided it. Pure. */
export function isCondemned(hash: string, state: LogState, refs: CondemnedRefs = computeCondemnedRefs(state.paths, state.vault)): boolean {
  return [...(state.vault.condemnations.get(hash as ContentHash)?.values() ?? [])].some((c) => !isCondemnationVoided(c, refs));
}

/** What `executeBlobRepair` did: the keys put back, and the hashes no file could give. */
export interface BlobRepair {
  readonly repaired: string[];
  readonly failed: ContentHash[];
}

/**
 * Puts back each restorable blob from the first of its files that still holds exactly its bytes
 * (the store checks the hash while uploading; a file edited since is passed over). Returns the
 * keys put back and the hashes no file could give.
 */
export async function executeBlobRepair(store: ObjectStore, tree: LocalTree, blobs: readonly MissingBlob[]): Promise<BlobRepair> {
  const repaired: string[] = [];
  const failed: ContentHash[] = [];
  for (const b of blobs) {
    if (b.kind !== 'restorable') continue;
    let done = false;
    for (const src of b.sources) {
      try {
        await writeBlob(store, { size: src.size, sha256: b.hash, open: () => openUploadSource(tree, src.path, src.size) });
        done = true;
        break;
      } catch (e) {
        if (!isBmError(e, ErrorCode.localIo)) throw e;
      }
    }
    if (done) repaired.push(keyOfBlob(b.hash));
    else failed.push(b.hash);
  }
  return { repaired, failed };
}
