import { decodeTrustedSegment } from '../events/codec.js';
import type { SegmentBody } from '../events/schema.js';
import type { ObjectStore } from '../events/store/object-store.js';
import type { ListedObject } from '../events/store/object-store.js';
import { CLEAN_STATE_KEY, type SyncIndex } from './ports.js';
import { computeCountedVersions, computePendingClients, projectMembersOf } from '../members/counted-events.js';
import type { VersionRecord } from '../projections/version-record.js';
import { computeFingerprint } from '../crypto/fingerprint.js';
import type { ClientKey } from '../events/log.js';
import type { ClientId } from '../events/ids.js';
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

/** The meta value listing the pending clients a sync has shown already (ADR-0032: each is shown once). */
export const PENDING_SHOWN_META_KEY = 'pending-shown';

/** A client that published its key but was never admitted: what a sync shows once, for an admin to act on. */
export interface PendingJoiner {
  readonly client: ClientId;
  readonly name: string;
  readonly fingerprint: string;
}

/** Pure: the keys of `newKeys` whose clients are pending in `members` and were not shown before, sorted by client. */
export function computeNewlyPending(newKeys: readonly ClientKey[], members: MemberState, shown: ReadonlySet<string>): PendingJoiner[] {
  const pending = new Set(
    computePendingClients(
      newKeys.map((k) => k.client),
      members,
    ),
  );
  return newKeys
    .filter((k) => pending.has(k.client) && !shown.has(k.client) && !members.members.has(k.client))
    .map((k) => ({ client: k.client, name: k.name, fingerprint: computeFingerprint(k.publicKeyHex) }))
    .sort((a, b) => (a.client < b.client ? -1 : a.client > b.client ? 1 : 0));
}

/**
 * The pending joiners a sync shows (ADR-0032): those among the keys it fetched for the first
 * time that are not members, each shown once (remembered in the index; `bm-log members` and
 * `status` list them every time). `members` is the fold when the sync made one; otherwise it is
 * folded here, only when a new key came (rare). Nothing in an open vault or a dry run.
 */
export async function executeNoticePending(
  index: Pick<SyncIndex, 'getMeta' | 'iterateSegments' | 'commitBatch'>,
  newKeys: readonly ClientKey[],
  o: { members: MemberState | undefined; dryRun: boolean },
): Promise<PendingJoiner[]> {
  if (newKeys.length === 0 || o.dryRun || index.getMeta === undefined) return [];
  const members = o.members ?? (await readMemberState(index));
  if (members === undefined) return [];
  const shown = new Set((await index.getMeta<string[]>(PENDING_SHOWN_META_KEY)) ?? []);
  const fresh = computeNewlyPending(newKeys, members, shown);
  if (fresh.length > 0) await index.commitBatch({ meta: { [PENDING_SHOWN_META_KEY]: [...shown, ...fresh.map((p) => p.client)].sort() } });
  return fresh;
}

/**
 * Every client of this index's pinned keys that is not a member (never admitted): what
 * `bm-log status` lists each time, as of this client's last fetch. Empty in an open vault.
 */
export async function readPendingJoiners(
  index: Pick<SyncIndex, 'getMeta' | 'iterateSegments' | 'getPinnedKeys'>,
): Promise<PendingJoiner[]> {
  const members = await readMemberState(index);
  if (members === undefined) return [];
  const pinned = await index.getPinnedKeys();
  const keys = [...pinned].map(([client, k]) => ({ client, name: k.name, publicKeyHex: k.publicKey }));
  return computeNewlyPending(keys, members, new Set());
}

/**
 * Reads path histories as they count (ADR-0032): the index's per-path rows hold every verified
 * event, counted or not; in a vault with members, those of non-members, readers and removed
 * members beyond their cut are left out, as the projection leaves them out. The member list is
 * folded once, at the first read (O(history), in a vault with members only).
 */
export function openCountedHistory(
  index: Pick<SyncIndex, 'getMeta' | 'iterateSegments'> & { getPathHistory(p: string): Promise<VersionRecord[]> },
): (p: string) => Promise<VersionRecord[]> {
  let members: Promise<MemberState | undefined> | undefined;
  return async (p) => {
    members ??= readMemberState(index);
    return computeCountedVersions(await index.getPathHistory(p), await members);
  };
}
