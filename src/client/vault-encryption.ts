import type { KeyObject } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { BmError, ErrorCode, isBmError } from '../errors.js';
import { readIdentity } from '../events/log.js';
import type { KeyPair } from '../events/signing.js';
import { listAll, type ObjectStore } from '../events/store/object-store.js';
import {
  computeWrapKeyPair,
  CRYPT_VAULT_KEY,
  decodeCryptObject,
  parseCryptObject,
  encodeCryptObject,
  keyOfWrap,
  keyOfX25519,
  prefixOfWraps,
  type CryptBody,
  type WrappedKey,
} from '../crypto/crypt-objects.js';
import { computeKeyringWith, createContentKey, createKeyring, type Keyring } from '../crypto/keyring.js';
import { SealedStore } from '../crypto/sealed-store.js';
import { planRekey, unwrapContentKey, wrapContentKey, type WrapRecipient } from '../crypto/wrap-key.js';
import { stateDirPath, writeFileDurably, type ClientConfig } from '../local/state-dir.js';
import { readHeldVaultRoot, readMemberState } from '../reconcile/member-state.js';
import type { SyncIndex } from '../reconcile/ports.js';
import { readVaultRoot, type VaultRootBody } from '../members/vault-root.js';
import { openRemote } from './open-remote.js';

/**
 * An encrypted vault on this client (ADR-0031): the local marker that says so, the store that
 * seals, and the key deliveries `init --encrypt`, a join, `members add` and `members remove`
 * make. Content keys are held in memory only (unwrapped at each session open from the wraps
 * the bucket holds for this client); the marker holds no secret.
 */
const MARKER_FILE = 'encryption.json';

/** Whether this client folder belongs to an encrypted vault (its marker is written before anything is sealed). */
export async function isEncryptedFolder(root: string): Promise<boolean> {
  try {
    await fs.access(path.join(stateDirPath(root), MARKER_FILE));
    return true;
  } catch {
    return false;
  }
}

async function writeMarker(root: string, vault: string): Promise<void> {
  const file = path.join(stateDirPath(root), MARKER_FILE);
  await writeFileDurably(file, `${JSON.stringify({ v: 1, vault, aead: 'aes-256-gcm' })}\n`);
  await fs.chmod(file, 0o600);
}

async function putCrypt(store: ObjectStore, body: CryptBody, keys: KeyPair, key: string): Promise<void> {
  try {
    await store.putIfAbsent(key, encodeCryptObject(body, keys));
  } catch (e) {
    // A retried init or admission finds its own object: the first one written stands.
    if (!isBmError(e, ErrorCode.objectExists)) throw e;
  }
}

async function publishWrapKey(store: ObjectStore, config: ClientConfig, keys: KeyPair): Promise<void> {
  const x25519 = computeWrapKeyPair(keys, config.vaultId).publicKeyHex;
  const body: CryptBody = { v: 1, type: 'x25519', vault: config.vaultId, writer: config.clientId, x25519 };
  await putCrypt(store, body, keys, keyOfX25519(config.clientId));
}

async function writeWrap(store: ObjectStore, writer: { vault: string; client: string; keys: KeyPair }, wrap: WrappedKey): Promise<void> {
  const body: CryptBody = { v: 1, type: 'wrap', vault: writer.vault, writer: writer.client, wrap };
  await putCrypt(store, body, writer.keys, keyOfWrap(wrap.recipient, wrap.epoch));
}

/**
 * `init --encrypt` on the client that created the vault: the marker, this client's X25519 key,
 * a fresh content key of epoch 1 wrapped for itself, and `crypt/vault` last (a joiner that
 * sees it finds the rest). The marker comes first so that nothing is ever written in the clear.
 */
export async function executeCreateEncryption(root: string, config: ClientConfig, keys: KeyPair): Promise<void> {
  await writeMarker(root, config.vaultId);
  const store = await openRemote(config.remote, { cwd: root });
  try {
    await publishWrapKey(store, config, keys);
    const me: WrapRecipient = { client: config.clientId, publicKeyHex: computeWrapKeyPair(keys, config.vaultId).publicKeyHex };
    const writer = { vault: config.vaultId, client: config.clientId, keys };
    await writeWrap(store, writer, wrapContentKey(config.vaultId, 1, createContentKey(), me));
    const body: CryptBody = { v: 1, type: 'vault', vault: config.vaultId, writer: config.clientId, aead: 'aes-256-gcm' };
    await store.putIfAbsent(CRYPT_VAULT_KEY, encodeCryptObject(body, keys));
  } finally {
    await store.close();
  }
}

/**
 * A joining client's init: when the remote's vault is encrypted (a verified `crypt/vault`),
 * writes the marker and publishes this client's X25519 key, for an admin's `members add` to
 * wrap the content key for. Returns whether the vault is encrypted.
 */
export async function executeJoinEncryption(root: string, config: ClientConfig, keys: KeyPair): Promise<boolean> {
  const store = await openRemote(config.remote, { cwd: root });
  try {
    const bytes = await store.get(CRYPT_VAULT_KEY);
    if (bytes === undefined) return false;
    const { writer } = parseCryptObject(CRYPT_VAULT_KEY, bytes, config.vaultId).body;
    decodeCryptObject(CRYPT_VAULT_KEY, bytes, config.vaultId, (await readIdentity(store, config.vaultId, writer)).key);
    await writeMarker(root, config.vaultId);
    await publishWrapKey(store, config, keys);
    return true;
  } finally {
    await store.close();
  }
}

/** Opens the remote of a client folder: sealed (`SealedStore`) when its vault is encrypted. */
export async function openClientStore(root: string, config: ClientConfig, keys: KeyPair, index?: SyncIndex): Promise<ObjectStore> {
  const store = await openRemote(config.remote, { cwd: root });
  if (!(await isEncryptedFolder(root))) return store;
  try {
    return new SealedStore(store, await readKeyring(store, config, keys, index));
  } catch (e) {
    await store.close();
    throw e;
  }
}

/**
 * Whether this client accepts wraps written by `writer`: itself, the vault root, or an admin of
 * its last member fold (folded only when a wrap has another writer: it reads the whole index).
 */
function acceptWrapWriters(store: ObjectStore, config: ClientConfig, index: SyncIndex | undefined): (writer: string) => Promise<boolean> {
  let root: Promise<VaultRootBody | undefined> | undefined;
  let admins: Promise<Set<string>> | undefined;
  const readRoot = async () =>
    (index === undefined ? undefined : await readHeldVaultRoot(index)) ?? (await readVaultRoot(store, config.vaultId))?.body;
  const readAdmins = async (held: VaultRootBody | undefined): Promise<Set<string>> => {
    const state = index === undefined || held === undefined ? undefined : await readMemberState(index, [], held);
    return new Set([...(state?.members ?? [])].filter(([, r]) => r.role === 'admin').map(([c]) => c));
  };
  return async (writer) => {
    if (writer === config.clientId) return true;
    const held = await (root ??= readRoot());
    return writer === held?.root.client || (await (admins ??= readAdmins(held))).has(writer);
  };
}

/**
 * The content keys the bucket holds for this client: every wrap under `crypt/wraps/<me>/`,
 * each signed by the vault root or an admin, unwrapped with this client's X25519 key. A wrap
 * made for another member is `wrong-key`, an altered one `tampered`, one by a non-admin
 * `bad-signature`: each refuses the session (nothing is read with a key of unknown origin).
 */
export async function readKeyring(store: ObjectStore, config: ClientConfig, keys: KeyPair, index?: SyncIndex): Promise<Keyring> {
  const vault = config.vaultId;
  const me = { client: config.clientId, keys: computeWrapKeyPair(keys, vault) };
  const listed = await listAll(store, prefixOfWraps(config.clientId));
  let keyring = createKeyring(vault);
  if (listed.length === 0) return keyring;
  const accepts = acceptWrapWriters(store, config, index);
  const publicKeys = new Map<string, KeyObject>();
  for (const o of listed) {
    const bytes = await store.get(o.key);
    if (bytes === undefined) continue;
    const { writer } = parseCryptObject(o.key, bytes, vault).body;
    if (!(await accepts(writer))) {
      const hint = 'an admin re-admits this client; report the object to the vault admin';
      throw new BmError(ErrorCode.badSignature, `the content key at ${o.key} was not written by an admin of the vault`, hint);
    }
    if (!publicKeys.has(writer)) publicKeys.set(writer, (await readIdentity(store, vault, writer)).key);
    const body = decodeCryptObject(o.key, bytes, vault, publicKeys.get(writer)!);
    if (body.type !== 'wrap') throw new BmError(ErrorCode.malformed, `${o.key} is not a wrapped key`, 'report it to the vault admin');
    keyring = computeKeyringWith(keyring, body.wrap.epoch, unwrapContentKey(vault, body.wrap, me));
  }
  return keyring;
}

/** The published X25519 key of `client`, verified with its identity; undefined when it published none. */
export async function readWrapRecipient(store: ObjectStore, vault: string, client: string): Promise<WrapRecipient | undefined> {
  const raw = store instanceof SealedStore ? store.inner : store;
  const key = keyOfX25519(client);
  const bytes = await raw.get(key);
  if (bytes === undefined) return undefined;
  const identity = await readIdentity(raw, vault, client);
  const body = decodeCryptObject(key, bytes, vault, identity.key);
  if (body.type !== 'x25519') throw new BmError(ErrorCode.malformed, `${key} is not an X25519 key`, 'the client should init again');
  return { client, publicKeyHex: body.x25519 };
}

/** The key deliveries of one member change in an encrypted vault (`planMemberKeys`). */
export interface MemberKeys {
  /** What the admission event carries: every epoch this admin holds, wrapped for the new member (a record; the joiner reads the objects). */
  readonly admissionWraps: readonly WrappedKey[] | undefined;
  /** Writes the admission's wraps (before the event is published: an admitted member finds its keys). */
  beforePublish(): Promise<void>;
  /** A removal's rotation: a fresh content key for every remaining member, which this client writes under from now on. */
  afterPublish(): Promise<void>;
}

/**
 * Plans the keys a member change delivers (ADR-0031); undefined in an open vault. An admission
 * wraps every content key epoch this admin holds for the new member's published X25519 key;
 * a removal plans a new epoch wrapped for every remaining member (the removed one gets none).
 * Every recipient's key is read (and verified) before anything is written.
 */
export async function planMemberKeys(
  store: ObjectStore,
  writer: { vault: string; client: string; keys: KeyPair },
  change: { action: 'add' | 'remove' | 'role'; client: string; remaining: readonly string[] },
): Promise<MemberKeys | undefined> {
  if (!(store instanceof SealedStore) || change.action === 'role') return undefined;
  const recipient = async (client: string): Promise<WrapRecipient> => {
    const r = await readWrapRecipient(store, writer.vault, client);
    if (r !== undefined) return r;
    const hint = 'it publishes one when it runs `bm-log init` against this encrypted vault; nothing was changed';
    throw new BmError(ErrorCode.notFound, `client ${client} has published no key to receive the vault's content key`, hint);
  };
  if (change.action === 'add') {
    const to = await recipient(change.client);
    const wraps = [...store.keyring.epochs].map(([epoch, key]) => wrapContentKey(writer.vault, epoch, key, to));
    return {
      admissionWraps: wraps,
      beforePublish: async () => {
        for (const w of wraps) await writeWrap(store.inner, writer, w);
      },
      afterPublish: async () => {},
    };
  }
  const recipients = await Promise.all(change.remaining.filter((c) => c !== change.client).map(recipient));
  const plan = planRekey(store.keyring, recipients);
  return {
    admissionWraps: undefined,
    beforePublish: async () => {},
    afterPublish: async () => {
      for (const w of plan.wraps) await writeWrap(store.inner, writer, w);
      store.keyring = computeKeyringWith(store.keyring, plan.epoch, plan.key);
    },
  };
}
