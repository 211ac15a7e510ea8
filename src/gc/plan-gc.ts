import type { ClientId, ContentHash, VersionId } from '../events/ids.js';
import { keyOfBlob, keyOfPack } from '../events/layout.js';
import { computeCollectHashes, computePackCollectHash } from '../events/packs.js';
import type { SyncPath } from '../events/sync-path.js';
import {
  computeCondemnedRefs,
  computeOpenCondemnations,
  isCondemnationVoided,
  type CondemnedRefs,
} from '../projections/blob-condemnation.js';
import type { LogState } from '../projections/project-log.js';
import { computeHeads, type Projection } from '../projections/project-paths.js';
import { computeAckFrontier, computeActiveClients, type Condemnation } from '../projections/project-vault.js';
import { computeMemberClients } from '../members/counted-events.js';

/** Defaults of `bm-log gc` (ADR-0007). */
export const DEFAULT_RETENTION_MS = 30 * 24 * 3600 * 1000;
export const DEFAULT_GRACE_MS = 3600 * 1000;

export interface GcInput {
  /** The fold of every verified segment (the full history: not a checkpoint-based state). */
  readonly state: LogState;
  /** Clients with a published, verified key. */
  readonly keyed: Iterable<ClientId>;
  /** Blobs on the remote, listed after the fetch. */
  readonly blobs: ReadonlySet<ContentHash>;
  /** Packs on the remote, listed after the fetch: collect hash (ADR-0035) -> object key. */
  readonly packs?: ReadonlyMap<ContentHash, string>;
  /** The run's clock when its fetch started. */
  readonly nowMs: number;
  readonly retentionMs: number;
  /** Grace period written with this run's condemnations. */
  readonly graceMs: number;
}

/** A blob this run may delete, on the strength of an open condemnation older than its grace. */
export interface GcDelete {
  /** The blob's hash, or a pack's collect hash (ADR-0035). */
  readonly hash: ContentHash;
  /** The object to delete: `blobs/..` or `packs/<client>/<id>`. */
  readonly key: string;
  readonly condemnation: Condemnation;
  /** Latest clock time at which the delete may still be issued (null: grace 0, no limit). */
  readonly deadlineMs: number | null;
  /** False when the listing no longer shows it (deleted by a run that did not record it). */
  readonly listed: boolean;
}

/** What a GC run does. Data only; `executeGc` performs it, `--dry-run` prints it. */
export interface GcPlan {
  readonly active: readonly ClientId[];
  /** Per client: the seq every active client has acknowledged. */
  readonly frontier: Readonly<Record<string, number>>;
  /** Paths whose every head is an acknowledged delete older than the retention. */
  readonly collect: readonly { readonly path: SyncPath; readonly versions: readonly VersionId[] }[];
  /** Blobs (and packs, by collect hash) no version needs that no open condemnation covers yet. */
  readonly condemn: readonly ContentHash[];
  /** The keys of the packs among `condemn`. */
  readonly condemnPacks: readonly string[];
  readonly delete: readonly GcDelete[];
  /** Blobs listed, and of those the ones some version still needs. */
  readonly blobsListed: number;
  readonly blobsReferenced: number;
  /** Packs listed, and of those the ones some version still needs (any of its entries). */
  readonly packsListed: number;
  readonly packsReferenced: number;
}

/** Pure: every pack the history names, by collect hash (ADR-0035), to find the key of one no longer listed. */
export function computeNamedPacks(paths: Projection): Map<ContentHash, string> {
  const out = new Map<ContentHash, string>();
  for (const st of paths.values()) {
    for (const v of st.versions.values()) {
      const p = v.content?.pack;
      if (p !== undefined) out.set(computePackCollectHash(p.client, p.id), keyOfPack(p.client, p.id));
    }
  }
  return out;
}

/**
 * Pure: the blobs some version still needs (ADR-0007). A version's content is needed while
 * the version is a head; or younger than the retention (by the GC run's clock against the
 * writer's time); or not acknowledged by every active client; or not yet replaced by a
 * version that every active client acknowledged (a lagging client may still show it).
 */
export function computeReferencedBlobs(
  paths: Projection,
  frontier: ReadonlyMap<ClientId, number>,
  nowMs: number,
  retentionMs: number,
): Set<ContentHash> {
  const out = new Set<ContentHash>();
  const acked = (client: ClientId, seq: number) => seq <= (frontier.get(client) ?? 0);
  for (const st of paths.values()) {
    const heads = new Set<VersionId>(computeHeads(st).map((h) => h.id));
    const replacedByAcked = new Set<VersionId>();
    for (const r of st.versions.values()) if (acked(r.client, r.seq)) for (const id of r.replaces) replacedByAcked.add(id);
    for (const v of st.versions.values()) {
      if (v.content === null) continue;
      const names = computeCollectHashes(v.content);
      if (names.every((h) => out.has(h))) continue;
      if (heads.has(v.id) || nowMs - Date.parse(v.time) < retentionMs || !acked(v.client, v.seq) || !replacedByAcked.has(v.id))
        for (const h of names) out.add(h);
    }
  }
  return out;
}

/**
 * Pure: the GC plan at `nowMs`.
 * 1. Ack frontier over the active clients.
 * 2. Collect every path whose heads are all deletes (tombstones or resolves to nothing),
 *    each acknowledged by every active client and older than the retention; the collected
 *    ids are every version of the path this run knows.
 * 3. Delete the blobs with an open condemnation at least its grace old (by this run's
 *    clock at the start of its fetch) that no version needs and that no event outside the
 *    condemnation's frontier names (those would have voided it).
 * 4. Condemn the listed blobs no version needs that no open condemnation covers.
 * Packs (ADR-0035) go through 3 and 4 like blobs, by their collect hash: a pack is needed
 * while any version whose content lies in it is.
 */
export function planGc(input: GcInput): GcPlan {
  const { state, nowMs } = input;
  const members = state.members === undefined ? undefined : computeMemberClients(state.members);
  const active = computeActiveClients(input.keyed, state.vault.retired, members);
  const frontier = computeAckFrontier(state.vault.latest, active);
  const acked = (client: ClientId, seq: number) => seq <= (frontier.get(client) ?? 0);

  const collect: { path: SyncPath; versions: VersionId[] }[] = [];
  for (const [path, st] of state.paths) {
    const heads = computeHeads(st);
    if (heads.length === 0) continue;
    const collectable = heads.every((h) => h.content === null && acked(h.client, h.seq) && nowMs - Date.parse(h.time) >= input.retentionMs);
    if (!collectable) continue;
    const versions = [...st.versions.keys()].filter((id) => !st.collected?.has(id)).sort();
    collect.push({ path, versions });
  }
  collect.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const referenced = computeReferencedBlobs(state.paths, frontier, nowMs, input.retentionMs);
  const packs = input.packs ?? new Map<ContentHash, string>();
  const named = computeNamedPacks(state.paths);
  const keyOf = (h: ContentHash) => packs.get(h) ?? named.get(h) ?? keyOfBlob(h);
  const refs: CondemnedRefs = computeCondemnedRefs(state.paths, state.vault);
  const deletes: GcDelete[] = [];
  const deleting = new Set<ContentHash>();
  for (const hash of state.vault.condemnations.keys()) {
    if (referenced.has(hash)) continue;
    const due = computeOpenCondemnations(hash, state.vault, refs).find(
      (c) => nowMs - Date.parse(c.time) >= c.graceMs && !isCondemnationVoided(c, refs),
    );
    if (due === undefined) continue;
    deletes.push({
      hash,
      key: keyOf(hash),
      condemnation: due,
      deadlineMs: due.graceMs === 0 ? null : nowMs + due.graceMs / 2,
      listed: input.blobs.has(hash) || packs.has(hash),
    });
    deleting.add(hash);
  }
  deletes.sort((a, b) => (a.hash < b.hash ? -1 : 1));

  const condemn: ContentHash[] = [];
  for (const hash of [...input.blobs, ...packs.keys()]) {
    if (referenced.has(hash) || deleting.has(hash)) continue;
    if (computeOpenCondemnations(hash, state.vault, refs).length > 0) continue;
    condemn.push(hash);
  }
  condemn.sort();

  const countReferenced = (hashes: Iterable<ContentHash>) => [...hashes].filter((h) => referenced.has(h)).length;
  return {
    active: [...active].sort(),
    frontier: Object.fromEntries([...frontier].sort(([a], [b]) => (a < b ? -1 : 1))),
    collect,
    condemn,
    condemnPacks: condemn.flatMap((h) => (packs.has(h) ? [packs.get(h)!] : [])).sort(),
    delete: deletes,
    blobsListed: input.blobs.size,
    blobsReferenced: countReferenced(input.blobs),
    packsListed: packs.size,
    packsReferenced: countReferenced(packs.keys()),
  };
}
