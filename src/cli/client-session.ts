import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { BmError, ErrorCode } from '../errors.js';
import { ulidFactory, type ClientId, type VaultId } from '../events/ids.js';
import { readIdentity, readVault, writeIdentity, writeVaultIfAbsent } from '../events/log.js';
import { exportPrivateKeyPem, generateKeyPair, importPrivateKeyPem, type KeyPair } from '../events/signing.js';
import type { ObjectStore } from '../events/store/object-store.js';
import { probeStore } from '../events/store/probe-store.js';
import { FsTree } from '../local/fs-tree.js';
import { BUILTIN_IGNORES, computeIgnoreMatcher, readIgnoreRules } from '../local/ignore-rules.js';
import { LocalIndex } from '../local/local-index.js';
import { ensureStateDir, findClientRoot, readClientConfig, readPrivateKey, stateDirPath, writeClientConfig, writePrivateKey, type ClientConfig } from '../local/state-dir.js';
import type { SyncContext } from '../reconcile/run-sync.js';
import { openRemote, parseRemoteUrl, type RemoteConfig } from './open-remote.js';
import { applyWorkingSet, collectGarbage } from './gc-tuning.js';

/** An open client folder: config, key, local index (locked), remote and the sync context. */
export interface ClientSession {
  readonly root: string;
  readonly config: ClientConfig;
  readonly index: LocalIndex;
  readonly store: ObjectStore;
  readonly keys: KeyPair;
  readonly ctx: SyncContext;
  readonly notices: readonly string[];
  close(): Promise<void>;
}

/** Finds the client folder at or above `dir` (like git) or says how to make one. */
export async function mustClientRoot(dir: string | undefined): Promise<string> {
  const start = path.resolve(dir ?? process.cwd());
  const root = await findClientRoot(start);
  if (root === undefined) {
    throw new BmError(ErrorCode.notAClient, `${start} is not inside a bm-log folder`, 'run `bm-log init --remote URL` in the folder to sync, or pass --dir');
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
  const scopeKey = createHash('sha256').update(JSON.stringify({ builtin: BUILTIN_IGNORES, rules, unsubscribed: config.unsubscribed, subscriptions: config.subscriptions })).digest('hex');
  return { isIgnored: (p) => ignored(p) || excluded(p), scopeKey };
}

export async function openClient(dir: string | undefined): Promise<ClientSession> {
  const root = await mustClientRoot(dir);
  const config = await readClientConfig(root);
  const { pem, notice } = await readPrivateKey(root);
  const keys = importPrivateKeyPem(pem);
  const index = await LocalIndex.open(root);
  let store: ObjectStore | undefined;
  try {
    store = await openRemote(config.remote, { cwd: root });
    if ((await index.getMeta<boolean>('registered')) !== true) {
      await writeIdentity(store, { v: 1, vault: config.vaultId, client: config.clientId, name: config.name, publicKey: keys.publicKeyHex, time: new Date().toISOString() }, keys);
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
      onWorkingSet: applyWorkingSet,
      onStageBoundary: collectGarbage,
    };
    const s = store;
    return { root, config, index, store, keys, ctx, notices: notice ? [notice] : [], close: async () => { await s.close(); await index.close(); } };
  } catch (e) {
    await store?.close();
    await index.close();
    throw e;
  }
}

export interface InitOptions {
  readonly remote: RemoteConfig;
  readonly name?: string;
}

/**
 * Makes `dir` a client: vault marker (new remotes), key pair, config, local index, and the
 * published identity. Order matters for crash safety: the key and config are written before
 * anything is published, and a later `sync` re-publishes the identity if init died first.
 */
export async function executeInit(dir: string, options: InitOptions): Promise<{ root: string; config: ClientConfig; createdVault: boolean; capabilities: Awaited<ReturnType<typeof probeStore>> }> {
  const root = path.resolve(dir);
  await fs.mkdir(root, { recursive: true });
  try {
    await fs.access(path.join(stateDirPath(root), 'config.json'));
    throw new BmError(ErrorCode.config, `${root} is already a bm-log folder`, 'use `bm-log sync`; to start over, remove its .bm-log folder first');
  } catch (e) {
    if (e instanceof BmError) throw e;
  }
  const parsed = parseRemoteUrl(options.remote.url, process.cwd());
  if (parsed.kind === 'directory') {
    // Stored absolute, so the remote means the same folder whatever the cwd of later runs.
    const rel = path.relative(root, parsed.dir);
    const relBack = path.relative(parsed.dir, root);
    if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel)) || (!relBack.startsWith('..') && !path.isAbsolute(relBack))) {
      throw new BmError(ErrorCode.usage, `the remote folder ${parsed.dir} and the sync folder ${root} overlap`, 'put the remote outside the folder you sync (and the folder outside the remote)');
    }
    options = { ...options, remote: { ...options.remote, url: parsed.dir } };
  }
  const store = await openRemote(options.remote, { create: true, cwd: root });
  try {
    const capabilities = await probeStore(store);
    const existing = await readVault(store);
    const newId = ulidFactory();
    const vault: VaultId = existing ?? (await writeVaultIfAbsent(store, newId, () => new Date()));
    const keys = generateKeyPair();
    const clientId = newId() as ClientId;
    const name = options.name ?? `${os.userInfo().username}@${os.hostname()}`.slice(0, 128);
    const remote: RemoteConfig = { ...options.remote, ...(options.remote.url.startsWith('s3://') ? { createOnlyEnforced: capabilities.createOnlyEnforced } : {}) };
    const config: ClientConfig = { v: 1, clientId, name, vaultId: vault, remote, subscriptions: [], unsubscribed: [], createdAt: new Date().toISOString() };
    await ensureStateDir(root);
    // A leftover key from an init that died before writing the config is replaced.
    await fs.rm(path.join(stateDirPath(root), 'identity.key'), { force: true });
    await writePrivateKey(root, exportPrivateKeyPem(keys.privateKey));
    await writeClientConfig(root, config);
    const index = await LocalIndex.open(root);
    try {
      await writeIdentity(store, { v: 1, vault, client: clientId, name, publicKey: keys.publicKeyHex, time: new Date().toISOString() }, keys);
      const self = await readIdentity(store, vault, clientId);
      await index.pinKeys([{ client: clientId, publicKey: self.publicKeyHex, name }]);
      await index.putMeta('registered', true);
    } finally {
      await index.close();
    }
    return { root, config, createdVault: existing === undefined, capabilities };
  } finally {
    await store.close();
  }
}
