import { decodeTrustedSegment } from '../events/codec.js';
import type { SegmentBody } from '../events/schema.js';
import type { ObjectStore } from '../events/store/object-store.js';
import type { ListedObject } from '../events/store/object-store.js';
import { CLEAN_STATE_KEY, type SyncIndex } from './ports.js';
import { projectMembersOf } from '../members/counted-events.js';
import type { MemberState } from '../members/project-members.js';
import { computeGenesis, readVaultRoot, VAULT_ROOT_KEY, type VaultRootBody } from '../members/vault-root.js';

/**
 * The member side of the local index: the vault root this client verified (a meta value), and
 * the member list folded from the member events of every stored segment.
 */
export const VAULT_ROOT_META_KEY = 'vault-root';

/** The vault root this client holds, undefined while the vault is open (or for an index without meta). */
export async function readHeldVaultRoot(index: Pick<SyncIndex, 'getMeta'>): Promise<VaultRootBody | undefined> {
  return index.getMeta === undefined ? undefined : await index.getMeta<VaultRootBody>(VAULT_ROOT_META_KEY);
}

/**
 * The member list from the held root and every stored segment (plus `extra`, a dry run's
 * fetched ones); undefined in an open vault. Reads the whole index: O(history), in a vault
 * with a root only.
 */
export async function readMemberState(
  index: Pick<SyncIndex, 'getMeta' | 'iterateSegments'>,
  extra: readonly SegmentBody[] = [],
  root?: VaultRootBody,
): Promise<MemberState | undefined> {
  const held = root ?? (await readHeldVaultRoot(index));
  if (held === undefined) return undefined;
  const bodies: SegmentBody[] = [];
  for await (const rec of index.iterateSegments()) {
    const body = decodeTrustedSegment(rec.bytes);
    if (body.v >= 2) bodies.push(body);
  }
  return projectMembersOf(computeGenesis(held), [...bodies, ...extra]);
}

/**
 * Learns the vault root when the remote has one this client does not hold yet: `listedKeys` is
 * the fetch's listing of `keys/` (the root is listed there, so no request is made for it in an
 * open vault); without a listing (a first sync, before it decides how to join) it is read.
 * Stores it (not in a dry run), voiding the clean-state record: the fold changes with it.
 */
export async function executeLearnVaultRoot(
  store: ObjectStore,
  index: SyncIndex,
  vault: string,
  o: { listedKeys?: readonly ListedObject[]; dryRun: boolean },
): Promise<VaultRootBody | undefined> {
  const held = await readHeldVaultRoot(index);
  if (held !== undefined || index.getMeta === undefined) return held;
  if (o.listedKeys !== undefined && !o.listedKeys.some((k) => k.key === VAULT_ROOT_KEY)) return undefined;
  const found = await readVaultRoot(store, vault);
  if (found === undefined) return undefined;
  if (!o.dryRun) await index.commitBatch({ meta: { [VAULT_ROOT_META_KEY]: found.body, [CLEAN_STATE_KEY]: undefined } });
  return found.body;
}
