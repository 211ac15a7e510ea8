import { BmError, ErrorCode } from '../errors.js';
import { decodeVault } from '../events/codec.js';
import { keyOfIdentity, keyOfSegment, KEYS_PREFIX } from '../events/layout.js';
import type { Cursor } from '../events/log.js';
import type { ListedObject, ObjectStore } from '../events/store/object-store.js';

/**
 * ADR-0015 §5: a remote that is not there any more (a share not mounted, leaving an empty mount
 * point; a bucket emptied; another vault's folder or bucket in its place) is not a few objects
 * that vanished. Putting this client's log, key and vault marker back would re-create the vault
 * in the wrong place and upload the folder into it. Like Syncthing's folder marker, a client
 * refuses to sync there: when the vault marker is gone (or names another vault) and so is every
 * object of the other clients it had seen (their keys and the log tails it fetched; its own,
 * when it has seen no other client). `planRemotePresence` decides from the fetch's listings
 * (pure); `mustRemotePresent` confirms with one HEAD and throws.
 */

/** What the fetch saw, for the decision. */
export interface PresenceInput {
  readonly self: string;
  readonly vault: string;
  /** Clients whose key this client held before the fetch (itself included). */
  readonly pinned: ReadonlySet<string>;
  /** Cursors before the fetch: the tail of each log this client had fetched. */
  readonly before: ReadonlyMap<string, Cursor>;
  /** Whether this client had read the vault marker before (ADR-0015's pin). */
  readonly vaultPinned: boolean;
  readonly listedKeys: readonly ListedObject[];
  readonly listedLogs: ReadonlyMap<string, readonly ListedObject[]>;
  /** The vault marker's bytes: undefined when missing, 'unknown' when the read failed. */
  readonly marker: Uint8Array | undefined | 'unknown';
}

/** Why the remote is refused, and the objects whose absence says so (a HEAD of the first confirms). */
export interface PresenceVerdict {
  readonly kind: 'empty' | 'foreign';
  /** For 'foreign': the vault the marker names (undefined when it is no marker at all). */
  readonly foreignVault?: string;
  readonly expected: readonly string[];
}

/**
 * Undefined when the remote is where this client's vault is (or the client cannot tell yet: it
 * has seen nothing there). Pure.
 */
export function planRemotePresence(input: PresenceInput): PresenceVerdict | undefined {
  if (input.marker === 'unknown') return undefined;
  let foreignVault: string | undefined;
  if (input.marker !== undefined) {
    try {
      foreignVault = decodeVault(input.marker).vault;
    } catch {
      foreignVault = undefined; // not a marker at all: foreign unless this vault's objects are there
    }
    if (foreignVault === input.vault) return undefined;
  }
  const others = [...input.pinned].filter((c) => c !== input.self);
  const witnesses = others.length > 0 ? others : [input.self];
  // A client that has seen nothing there (never read the marker, fetched no log) cannot tell.
  if (!input.vaultPinned && witnesses.every((c) => !input.before.has(c))) return undefined;
  const keys = new Set(input.listedKeys.map((o) => o.key.slice(KEYS_PREFIX.length)));
  const expected: string[] = [];
  for (const c of witnesses) {
    if (keys.has(c)) return undefined;
    const tail = input.before.get(c)?.seq;
    if ((input.listedLogs.get(c) ?? []).length > 0) return undefined;
    expected.push(keyOfIdentity(c));
    if (tail !== undefined) expected.push(keyOfSegment(c, tail));
  }
  const kind = input.marker === undefined ? 'empty' : 'foreign';
  return { kind, ...(foreignVault === undefined ? {} : { foreignVault }), expected };
}

/**
 * Throws remote-unavailable (exit 3: nothing was written; retry once the remote is back) when
 * `verdict` holds: a HEAD of the first expected object confirms that the listings were not
 * merely cut short.
 */
export async function mustRemotePresent(store: ObjectStore, verdict: PresenceVerdict | undefined): Promise<void> {
  if (verdict === undefined) return;
  const first = verdict.expected[0];
  if (first !== undefined && (await store.head(first)) !== undefined) return;
  const other = verdict.foreignVault === undefined ? 'something else' : `another vault (${verdict.foreignVault})`;
  const holds =
    verdict.kind === 'empty'
      ? 'it holds no vault marker and none of the objects this client had seen there'
      : `it holds ${other} and none of this vault's objects this client had seen there`;
  throw new BmError(
    ErrorCode.remoteUnavailable,
    `the remote at ${store.description} looks empty: is it mounted? (${holds}); bm-log refuses to sync rather than re-create the vault there`,
    'nothing was written, here or there. Mount the share (or point the remote at the right bucket and prefix) and sync again; ' +
      'if the remote is lost for good, restore it from a backup, or start a new vault from a copy of this folder (`bm-log init --create`)',
  );
}
