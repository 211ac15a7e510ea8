import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { BmError, ErrorCode } from '../errors.js';
import { ulidFactory, type ClientId, type VaultId } from '../events/ids.js';
import { readIdentity, writeIdentity } from '../events/log.js';
import { computeFingerprint } from '../crypto/fingerprint.js';
import { VAULT_ROOT_META_KEY } from '../reconcile/member-state.js';
import { computeVaultRootBody, readVaultRoot, writeRootVaultMarker, type VaultRootBody } from '../members/vault-root.js';
import { exportPrivateKeyPem, generateKeyPair, importPrivateKeyPem, type KeyPair } from '../events/signing.js';
import type { ObjectStore } from '../events/store/object-store.js';
import { probeStore } from '../events/store/probe-store.js';
import { FsTree } from '../local/fs-tree.js';
import { BUILTIN_IGNORES, computeIgnoreMatcher, readIgnoreRules } from '../local/ignore-rules.js';
import { LocalIndex } from '../local/local-index.js';
import {
  ensureStateDir,
  findClientRoot,
  readClientConfig,
  readPrivateKey,
  stateDirPath,
  writeClientConfig,
  writePrivateKey,
  type ClientConfig,
} from '../local/state-dir.js';
import type { SyncContext } from '../reconcile/sync-context.js';
import { openRemote, parseRemoteUrl, snapshotsOf, type RemoteConfig } from './open-remote.js';
import { applyWorkingSet, collectGarbage } from './gc-tuning.js';
import { shellCommand } from './human-text.js';
import { inspectRemote, planInit, type RemoteHolds } from './vault-creation.js';
import { openClientStore } from './vault-encryption.js';

/** An open client folder: its local half, the remote and the sync context. */
export interface ClientSession extends LocalSession {
  readonly store: ObjectStore;
  readonly ctx: SyncContext;
}

/** Finds the client folder at or above `dir` (like git) or says how to make one. */
export async function mustClientRoot(dir: string | undefined): Promise<string> {
  const start = path.resolve(dir ?? process.cwd());
  const root = await findClientRoot(start);
  if (root === undefined) {
    throw new BmError(
      ErrorCode.notAClient,
      `${start} is not inside a bm-log folder`,
      'run `bm-log init --remote URL` in the folder to sync, or pass --dir',
    );
  }
  return root;
}

function outOfScope(prefixes: readonly string[]): (p: string) => boolean {
  return (p) => prefixes.some((u) => p.startsWith(u) || `${p}/` === u);
}

/**
 * What is out of scope here: .bmignore and built-in rules, and unsubscribed folders; with
 * the key that names these rules (equal keys, equal rules: the clean-state shortcut's scope).
 */
export async function readScope(root: string, config: ClientConfig): Promise<{ isIgnored: (p: string) => boolean; scopeKey: string }> {
  const rules = await readIgnoreRules(root);
  const ignored = computeIgnoreMatcher(rules);
  const excluded = outOfScope(config.unsubscribed);
  const scope = { builtin: BUILTIN_IGNORES, rules, unsubscribed: config.unsubscribed, subscriptions: config.subscriptions };
  const scopeKey = createHash('sha256').update(JSON.stringify(scope)).digest('hex');
  return { isIgnored: (p) => ignored(p) || excluded(p), scopeKey };
}

/** The local half of a client folder: config, key and local index (locked); no remote touched yet. */
export interface LocalSession {
  readonly root: string;
  readonly config: ClientConfig;
  readonly index: LocalIndex;
  readonly keys: KeyPair;
  readonly notices: readonly string[];
  close(): Promise<void>;
}

export async function openLocal(dir: string | undefined): Promise<LocalSession> {
  const root = await mustClientRoot(dir);
  const config = await readClientConfig(root);
  const { pem, notice } = await readPrivateKey(root);
  const keys = importPrivateKeyPem(pem);
  const index = await LocalIndex.open(root);
  return { root, config, index, keys, notices: notice ? [notice] : [], close: () => index.close() };
}

/**
 * Opens the remote of an open local session (publishing this client's identity if an
 * earlier init could not) and builds the sync context. On failure the local session stays
 * open: the caller may still read it (`status` does) and closes it.
 */
export async function connectRemote(local: LocalSession): Promise<ClientSession> {
  const { root, config, index, keys } = local;
  const store = await openClientStore(root, config, keys, index);
  try {
    if ((await index.getMeta<boolean>('registered')) !== true) {
      const time = new Date().toISOString();
      const identity = {
        v: 1,
        vault: config.vaultId,
        client: config.clientId,
        name: config.name,
        publicKey: keys.publicKeyHex,
        time,
      } as const;
      await writeIdentity(store, identity, keys);
      await index.putMeta('registered', true);
    }
    const newId = ulidFactory();
    const ctx: SyncContext = {
      store,
      index,
      tree: new FsTree(root),
      identity: { client: config.clientId, vault: config.vaultId, name: config.name, keys },
      subscriptions: config.subscriptions,
      ...(await readScope(root, config)),
      now: () => new Date(),
      newId,
      snapshots: snapshotsOf(store),
      packs: true, // small files of one sync in one object (ADR-0022)
      onWorkingSet: applyWorkingSet,
      onStageBoundary: collectGarbage,
    };
    return {
      ...local,
      store,
      ctx,
      close: async () => {
        await store.close();
        await index.close();
      },
    };
  } catch (e) {
    await store.close();
    throw e;
  }
}

export async function openClient(dir: string | undefined): Promise<ClientSession> {
  const local = await openLocal(dir);
  try {
    return await connectRemote(local);
  } catch (e) {
    await local.close();
    throw e;
  }
}

export interface InitOptions {
  readonly remote: RemoteConfig;
  readonly name?: string;
  /** Make a new vault (`init --create`); otherwise join the one the remote holds (ADR-0018). */
  readonly create: boolean;
  /** The command that would create a vault here, for the refusal's hint (default: from the remote alone). */
  readonly createCommand?: string;
  /**
   * The client folder whose state folder holds this one (an agent's client, ADR-0028): init is
   * then allowed inside it. Its `.bm-log/` is never synced, so neither is this folder.
   */
  readonly nestedIn?: string;
  /** `init --join TOKEN` (ADR-0021): the vault must be this one and its root key have this fingerprint. */
  readonly pin?: { readonly vault: string; readonly root: string };
}

/**
 * The vault root a joiner pins (`init --join TOKEN`, ADR-0021): the remote's vault must be the
 * invitation's, and its root key have the invitation's fingerprint; anything else is refused
 * before this client writes anything.
 */
async function mustPinnedRoot(store: ObjectStore, vault: VaultId, pin: { vault: string; root: string }): Promise<VaultRootBody> {
  const hint = 'nothing was written; ask the admin who invited you for a new token, and check the remote';
  if (vault !== pin.vault)
    throw new BmError(ErrorCode.wrongVault, `the remote holds vault ${vault}, not ${pin.vault} of the invitation`, hint);
  const root = await readVaultRoot(store, vault);
  if (root === undefined) throw new BmError(ErrorCode.keyMismatch, 'the vault has no root admin, but the invitation names one', hint);
  const found = computeFingerprint(root.body.root.publicKey);
  if (found !== pin.root)
    throw new BmError(ErrorCode.keyMismatch, `the vault's root key is ${found}, not ${pin.root} as the invitation says`, hint);
  return root.body;
}

/** Refuses a folder that is, or is inside, a bm-log folder: its files would belong to two clients. */
async function mustNotBeInClient(root: string, nestedIn: string | undefined): Promise<void> {
  const existing = await findClientRoot(root);
  if (existing !== undefined && existing === nestedIn && root.startsWith(stateDirPath(existing) + path.sep)) return;
  if (existing === root) {
    throw new BmError(
      ErrorCode.config,
      `${root} is already a bm-log folder`,
      'use `bm-log sync`; to start over, remove its .bm-log folder first',
    );
  }
  if (existing !== undefined) {
    throw new BmError(
      ErrorCode.usage,
      `${root} is inside the bm-log folder ${existing}, which syncs it already`,
      `sync that folder (\`${shellCommand(['sync', '--dir', existing])}\`), or init a folder outside it`,
    );
  }
}

/** The remote as given, with a local folder made absolute: the same folder whatever the cwd of later runs. */
function resolveRemote(root: string, remote: RemoteConfig): { remote: RemoteConfig; dir: string | undefined } {
  const parsed = parseRemoteUrl(remote.url, process.cwd());
  if (parsed.kind !== 'directory') return { remote, dir: undefined };
  const rel = path.relative(root, parsed.dir);
  const relBack = path.relative(parsed.dir, root);
  if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel)) || (!relBack.startsWith('..') && !path.isAbsolute(relBack))) {
    throw new BmError(
      ErrorCode.usage,
      `the remote folder ${parsed.dir} and the sync folder ${root} overlap`,
      'put the remote outside the folder you sync (and the folder outside the remote)',
    );
  }
  return { remote: { ...remote, url: parsed.dir }, dir: parsed.dir };
}

/** What the remote holds; a local folder that does not exist is `missing`, not an error. */
async function inspectOpenable(resolved: { remote: RemoteConfig; dir: string | undefined }): Promise<RemoteHolds> {
  if (resolved.dir !== undefined && !existsSync(resolved.dir)) return { kind: 'missing' };
  const store = await openRemote(resolved.remote);
  try {
    return await inspectRemote(store, resolved.dir);
  } finally {
    await store.close();
  }
}

/**
 * Makes `dir` a client: vault marker (with `create`), key pair, config, local index, and the
 * published identity. Nothing is written before the remote was found to hold what `create`
 * expects (planInit). Order matters for crash safety: the key and config are written before
 * anything is published, and a later `sync` re-publishes the identity if init died first.
 */
export async function executeInit(
  dir: string,
  options: InitOptions,
): Promise<{
  root: string;
  config: ClientConfig;
  createdVault: boolean;
  capabilities: Awaited<ReturnType<typeof probeStore>>;
  /** This client's key fingerprint, and whether it waits for an admin's `members add` (a vault with members it did not create). */
  member: { fingerprint: string; pending: boolean };
}> {
  const root = path.resolve(dir);
  await mustNotBeInClient(root, options.nestedIn);
  const resolved = resolveRemote(root, options.remote);
  options = { ...options, remote: resolved.remote };
  const holds = await inspectOpenable(resolved);
  const shown = resolved.dir ?? options.remote.url;
  const decision = planInit(
    holds,
    options.create ? 'create' : 'join',
    shown,
    options.createCommand ?? shellCommand(['init', '--create', '--remote', shown]),
  );
  if (decision.action === 'refuse') throw decision.error;
  await fs.mkdir(root, { recursive: true });
  const store = await openRemote(options.remote, { create: decision.action === 'create', cwd: root });
  try {
    const capabilities = await probeStore(store);
    const newId = ulidFactory();
    const keys = generateKeyPair();
    const clientId = newId() as ClientId;
    const name = options.name ?? `${os.userInfo().username}@${os.hostname()}`.slice(0, 128);
    // A new vault's marker names this client its first admin (ADR-0032). Two creators at once:
    // the marker written first stands, and the other joins that vault.
    const mine = computeVaultRootBody(newId() as VaultId, { client: clientId, name, keys }, new Date());
    const vault: VaultId = decision.action === 'join' ? decision.vault : await writeRootVaultMarker(store, mine, keys);
    const pinnedRoot =
      options.pin === undefined
        ? vault === mine.vault
          ? mine
          : (await readVaultRoot(store, vault))?.body
        : await mustPinnedRoot(store, vault, options.pin);
    const enforced = options.remote.url.startsWith('s3://') ? { createOnlyEnforced: capabilities.createOnlyEnforced } : {};
    const remote: RemoteConfig = { ...options.remote, ...enforced };
    const config: ClientConfig = {
      v: 1,
      clientId,
      name,
      vaultId: vault,
      remote,
      subscriptions: [],
      unsubscribed: [],
      createdAt: new Date().toISOString(),
    };
    await ensureStateDir(root);
    // A leftover key from an init that died before writing the config is replaced.
    await fs.rm(path.join(stateDirPath(root), 'identity.key'), { force: true });
    await writePrivateKey(root, exportPrivateKeyPem(keys.privateKey));
    await writeClientConfig(root, config);
    const index = await LocalIndex.open(root);
    try {
      await writeIdentity(
        store,
        { v: 1, vault, client: clientId, name, publicKey: keys.publicKeyHex, time: new Date().toISOString() },
        keys,
      );
      const self = await readIdentity(store, vault, clientId);
      await index.pinKeys([{ client: clientId, publicKey: self.publicKeyHex, name }]);
      if (pinnedRoot !== undefined) await index.putMeta(VAULT_ROOT_META_KEY, pinnedRoot);
      await index.putMeta('registered', true);
    } finally {
      await index.close();
    }
    const member = {
      fingerprint: computeFingerprint(keys.publicKeyHex),
      pending: pinnedRoot !== undefined && pinnedRoot.root.client !== clientId,
    };
    return { root, config, createdVault: vault === mine.vault, capabilities, member };
  } finally {
    await store.close();
  }
}
