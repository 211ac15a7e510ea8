import type { ClientId, ContentHash } from '../events/ids.js';
import { computeCollectHashes } from '../events/packs.js';
import type { Projection } from './project-paths.js';
import { isCovered, type Condemnation, type VaultState } from './project-vault.js';

/**
 * Pure views of the blob collection state (ADR-0007). A `gc` event condemns a blob; a later
 * run may delete it once the grace period is over. A condemnation is
 * - voided by any event naming the blob that the condemnation's frontier does not cover
 *   (its writer had not been seen by the GC run): the blob is wanted again;
 * - closed by a deletion record whose frontier covers the condemning segment: that
 *   condemnation was acted on, and no later run may delete on its strength.
 * A condemnation that is neither is open.
 */

/**
 * Where each condemned blob or pack (by its collect hash, ADR-0035) is named: (client, seq) of
 * every version whose content is that blob or lies in that pack.
 */
export type CondemnedRefs = ReadonlyMap<ContentHash, readonly { readonly client: ClientId; readonly seq: number }[]>;

/**
 * One pass over every version: who names each blob that has a condemnation (plus, in a
 * state built from a checkpoint, the namers it carried for versions it no longer holds).
 */
export function computeCondemnedRefs(paths: Projection, vault: VaultState): CondemnedRefs {
  const out = new Map<ContentHash, { client: ClientId; seq: number }[]>();
  if (vault.condemnations.size === 0) return out;
  for (const [hash, byClient] of vault.namers) {
    if (!vault.condemnations.has(hash)) continue;
    out.set(
      hash,
      [...byClient].map(([client, seq]) => ({ client, seq })),
    );
  }
  for (const st of paths.values()) {
    for (const v of st.versions.values()) {
      if (v.content === null) continue;
      for (const hash of computeCollectHashes(v.content)) {
        if (!vault.condemnations.has(hash)) continue;
        const list = out.get(hash) ?? [];
        list.push({ client: v.client, seq: v.seq });
        out.set(hash, list);
      }
    }
  }
  return out;
}

export function isCondemnationVoided(c: Condemnation, refs: CondemnedRefs): boolean {
  if (c.voided) return true;
  for (const r of refs.get(c.hash) ?? []) if (!isCovered(r.client, r.seq, c)) return true;
  return false;
}

/** The earliest time (ms) of a deletion record closing `c`, or undefined when it is not closed. */
export function computeClosedAt(c: Condemnation, vault: VaultState): number | undefined {
  let at: number | undefined;
  for (const d of vault.deletions.get(c.hash)?.values() ?? []) {
    if (!isCovered(c.client, c.seq, d)) continue;
    const t = Date.parse(d.time);
    if (at === undefined || t < at) at = t;
  }
  return at;
}

/** Open condemnations of `hash` (neither voided nor closed), oldest first. */
export function computeOpenCondemnations(hash: ContentHash, vault: VaultState, refs: CondemnedRefs): Condemnation[] {
  const out: Condemnation[] = [];
  for (const c of vault.condemnations.get(hash)?.values() ?? []) {
    if (isCondemnationVoided(c, refs) || computeClosedAt(c, vault) !== undefined) continue;
    out.push(c);
  }
  return out.sort(
    (a, b) => Date.parse(a.time) - Date.parse(b.time) || (a.client < b.client ? -1 : a.client > b.client ? 1 : a.seq - b.seq),
  );
}

/**
 * Writer rule (ii) of ADR-0007, pure: whether a writer at `nowMs` must not name `hash` in an
 * event. Banned while some non-voided condemnation of it is older than half its grace period,
 * until a deletion record closing that condemnation is older than the whole grace period
 * (after which every deleter that could act on it has finished). A condemnation younger than
 * half its grace may still be named (the event voids it). With grace 0 nothing is banned:
 * grace 0 is the unprotected mode for a vault nobody else is syncing.
 */
export function computeNamingBan(hash: ContentHash, nowMs: number, vault: VaultState, refs: CondemnedRefs): Condemnation | undefined {
  for (const c of vault.condemnations.get(hash)?.values() ?? []) {
    if (c.graceMs === 0 || isCondemnationVoided(c, refs)) continue;
    if (nowMs - Date.parse(c.time) <= c.graceMs / 2) continue;
    const closedAt = computeClosedAt(c, vault);
    if (closedAt !== undefined && nowMs - closedAt > c.graceMs) continue;
    return c;
  }
  return undefined;
}
