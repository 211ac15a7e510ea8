import { mustClientRoot, readScope } from '../client/client-session.js';
import { openClientStore } from '../client/vault-encryption.js';
import type { ObjectStore } from '../events/store/object-store.js';
import { FsTree } from '../local/fs-tree.js';
import { readClientConfig } from '../local/state-dir.js';
import { ensureAgentClient } from './agent-client.js';
import { executeAdmitAgent } from '../client/member-actions.js';
import { readFolderStatus, type FolderStatus } from './folder-status.js';
import {
  listConflicts,
  listHeads,
  listHistory,
  summarizeSync,
  type ConflictInfo,
  type SyncSummary,
  type VersionInfo,
} from './folder-queries.js';
import { executeFolderSync, type SyncRequest } from './folder-sync.js';
import { computeFolderPrefix, listFiles, readVersionBytes, type FileInfo } from './version-queries.js';
import { executeDiff, type FileDiff } from './diff-versions.js';
import { DEFAULT_LOCK_WAIT_MS, withClientWaiting, withLocalWaiting } from './folder-lock.js';
import { DEFAULT_ON_STALE, executeRead, executeWrite, mustNotePath, type OnStale, type ReadResult, type WriteResult } from './note-io.js';
import { executeRestore, type RestoreResult } from './restore-note.js';
import { executeVerify, type VerifyResult } from './verify-folder.js';
import { executeSubscribe, executeUnsubscribe, type UnsubscribeResult } from './subscriptions.js';
import { executeRestoreTo, type RestoreToResult } from './restore-to.js';
import { computeRestoreTarget, parseHistoryPoint } from './restore-note.js';
import { listLog, type LogEvent, type LogOptions } from './folder-log.js';
import {
  executeFolderCheckpoint,
  executeFolderGc,
  executeFolderRetire,
  listClients,
  type ClientRow,
  type GcOptions,
  type GcResult,
  type OwnCheckpointReport,
} from './folder-gc.js';
import { changeMember, initMembers, inviteMember, listMembers, type InvitationResult, type MembersInitResult } from './folder-members.js';
import type { MemberChangeResult, MembersView } from '../client/member-actions.js';
import type { MemberAction, Role } from '../members/member-schema.js';

/** How `openFolder` opens a folder. */
export interface OpenFolderOptions {
  /**
   * Act as an agent client of its own with this name (its own id and key, so `bm-log log`
   * tells its edits apart), made on first use in `.bm-log/agents/<name>/` (ADR-0028).
   * Without it the API acts as the folder's own client.
   */
  readonly as?: string;
  /** How long an operation waits while another bm-log process (`sync --watch`) holds the folder (default 60 s). */
  readonly lockWaitMs?: number;
}

export interface WriteOptions {
  /** The version the bytes were based on (from `read`), or null to create a file that does not exist. */
  readonly expectedVersion: string | null;
  /**
   * A stale expected version (ADR-0033): 'merge' (default) merges the write with the current
   * version where the merge applies (text, a common ancestor, changes apart), else keeps both as
   * a conflict, as a person's stale edit; 'refuse' throws StaleVersionError naming the current
   * version and writes nothing; 'conflict' is the former name of 'merge'.
   */
  readonly onStale?: OnStale;
}

/**
 * A bm-log folder opened by a program. Every method is one operation that holds the folder
 * only while it runs (ADR-0028): other bm-log processes (`sync --watch`, the CLI) wait for it
 * and it waits for them. Methods of one object run one at a time. Nothing is printed; failures
 * are BmError (code, hint), a stale write a StaleVersionError.
 */
export interface BmFolder {
  /** The folder whose files this client syncs (an agent's own copy with `as`). */
  readonly root: string;
  readonly clientId: string;
  readonly name: string;
  /** Publishes local changes, fetches and applies everyone else's; progress to `options.progress` (the engine's ProgressSink). */
  sync(options?: SyncOptions): Promise<SyncSummary>;
  status(): Promise<FolderStatus>;
  conflicts(): Promise<ConflictInfo[]>;
  /** Ends the conflict at `path`, keeping `keep` (a version id or its last 8 characters), or the file as it is here ('local'). */
  resolve(path: string, options?: { keep?: string }): Promise<{ path: string; heads: string[] }>;
  /**
   * The files of the tree now (under `folder`, e.g. 'notes/'), or as of `at` (a time or a
   * version id, as `restore` takes it), from this client's records as of its last sync.
   */
  list(folder?: string, options?: { at?: string }): Promise<FileInfo[]>;
  /** Any version's bytes (id or its last 8 characters), checked against their hash, with the version's record. */
  show(version: string): Promise<ShowResult>;
  /**
   * The events of `path` (a file, following its moves back; a folder ending in `/`; or every
   * path), newest first, each with what it did (created, edited, moved, ...), as `bm-log log`.
   */
  log(path?: string, options?: LogOptions): Promise<LogEvent[]>;
  /** Garbage collection of old versions' blobs (ADR-0009), as `bm-log gc`. */
  gc(options?: GcOptions): Promise<GcResult>;
  /** A checkpoint of this client's own log (ADR-0014), or null when its latest is up to date; as `bm-log checkpoint`. */
  checkpoint(): Promise<OwnCheckpointReport | null>;
  /** Every client of the vault and how far its log is acknowledged, as `bm-log clients`. */
  clients(): Promise<ClientRow[]>;
  /** Syncs `folder` here again (after unsubscribe) from the next sync on; returns the prefix the config lists. */
  subscribe(folder: string): Promise<string>;
  /** Stops syncing `folder` here and removes its files here (never for anyone else); refused while one has unsynced changes. */
  unsubscribe(folder: string): Promise<UnsubscribeResult>;
  /** Writes the bytes of `path` as of `at` to the new file `to` (nothing overwritten, nothing published), as `restore --to`. */
  restoreTo(path: string, options: { at: string; to: string; dryRun?: boolean }): Promise<RestoreToResult>;
  /** The members, pending clients and removed members with key fingerprints and roles (ADR-0021), as `bm-log members`. */
  members(): Promise<MembersView>;
  /** Makes this client the root admin of a vault without members (`bm-log members init`). */
  initMembers(): Promise<MembersInitResult>;
  /** Publishes one member event, as `members add|remove|role`; `counted` is false when it changed nothing. */
  changeMember(change: { action: MemberAction; target: string; role?: Role }): Promise<MemberChangeResult>;
  /** An invitation token for `name` (`init --join TOKEN` pins the root key), as `members invite`. */
  invite(name: string): Promise<InvitationResult>;
  /** Retires a client (exact id or name): gc stops waiting for it; as `bm-log retire`. */
  retire(client: string): Promise<{ client: string; name: string; alreadyRetired: boolean; seq: number | null }>;
  /** The versions of `path` (or every event's, without one), newest first. */
  history(path?: string, options?: { limit?: number }): Promise<VersionInfo[]>;
  read(path: string): Promise<ReadResult>;
  write(path: string, bytes: Uint8Array | string, options: WriteOptions): Promise<WriteResult>;
  delete(path: string, options: WriteOptions & { expectedVersion: string }): Promise<WriteResult>;
  /** Brings `path` back to version `at` (id or its last 8 characters) as a new version. */
  restore(path: string, options: { at: string }): Promise<RestoreResult>;
  /** Re-reads every log and blob on the remote (as `bm-log verify`). */
  verify(): Promise<VerifyResult>;
  /**
   * Unified diffs of `path`: the file here against the version it was synced from; while it is
   * in conflict, each head against the heads' common ancestor; with `from`/`to` (ids or their
   * last 8 characters), those versions (a missing `to` is the file here). As `bm-log diff`.
   */
  diff(path: string, options?: DiffOptions): Promise<FileDiff[]>;
  /** The unified diff between two versions (of any paths): ids or their last 8 characters. */
  diffVersions(from: string, to: string): Promise<FileDiff[]>;
}

/** A version and its bytes (`show`). */
export interface ShowResult {
  readonly version: string;
  readonly path: string;
  readonly client: string;
  readonly time: string;
  readonly hash: string;
  readonly size: number;
  readonly mode: number;
  readonly bytes: Uint8Array;
}

/** How `sync` runs: a dry run (plan only), the mass-delete guard, and where progress goes. */
export type SyncOptions = Pick<SyncRequest, 'dryRun' | 'force' | 'maxDelete' | 'progress'>;

/** Which versions of a path `diff` compares (see BmFolder.diff). */
export interface DiffOptions {
  readonly from?: string;
  readonly to?: string;
}

/** Runs calls one at a time (the folder lock would make them wait anyway, polling). */
export function serial(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (fn) => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

/**
 * Opens the bm-log folder at or above `dir` (like git) for a program. With `as`, the agent
 * client of that name (made, and synced once, on first use).
 */
export async function openFolder(dir: string, options: OpenFolderOptions = {}): Promise<BmFolder> {
  let root = await mustClientRoot(dir);
  const waitMs = options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS;
  if (options.as !== undefined) {
    const agent = await ensureAgentClient(root, options.as);
    if (agent.created) {
      const agentId = (await readClientConfig(agent.root)).clientId;
      await withClientWaiting(root, waitMs, (s) => executeAdmitAgent(s.ctx, agentId));
    }
    root = agent.root;
    if (agent.created) await withClientWaiting(root, waitMs, (s) => executeFolderSync(s));
  }
  const config = await readClientConfig(root);
  const one = serial();
  const local = <T>(fn: Parameters<typeof withLocalWaiting<T>>[2]) => one(() => withLocalWaiting(root, waitMs, fn));
  const client = <T>(fn: Parameters<typeof withClientWaiting<T>>[2]) => one(() => withClientWaiting(root, waitMs, fn));
  const notePath = async (p: string) => mustNotePath(p, (await readScope(root, config)).isIgnored);
  const write = async (p: string, bytes: Uint8Array | null, o: WriteOptions) => {
    const sp = await notePath(p);
    return client((s) => executeWrite(s, { path: sp, bytes, expectedVersion: o.expectedVersion, onStale: o.onStale ?? DEFAULT_ON_STALE }));
  };
  return {
    root,
    clientId: config.clientId,
    name: config.name,
    sync: (o = {}) => client(async (s) => summarizeSync(await executeFolderSync(s, o))),
    status: () =>
      local(async (s) => {
        const { remoteFailure: _, ...data } = await readFolderStatus(s);
        return data;
      }),
    conflicts: () => local((s) => listConflicts(s)),
    resolve: async (p, o = {}) => {
      const sp = await notePath(p);
      return client(async (s) => {
        await executeFolderSync(s, { resolve: { path: sp, keep: o.keep ?? 'local' } });
        return { path: sp, heads: await listHeads(s, sp) };
      });
    },
    list: (f, o = {}) => local((s) => listFiles(s, computeFolderPrefix(f), o.at)),
    show: (v) =>
      client(async (s) => {
        const { record: r, bytes } = await readVersionBytes(s, v);
        // Where the bytes live (a blob or a pack entry, ADR-0022) is the store's business, not the caller's.
        const { hash, size, mode } = r.content;
        return { version: r.id, path: r.path, client: r.client, time: r.time, hash, size, mode, bytes };
      }),
    log: (p, o = {}) => local((s) => listLog(s, p, o)),
    gc: (o = {}) => client((s) => executeFolderGc(s, o)),
    checkpoint: () => client((s) => executeFolderCheckpoint(s)),
    clients: () => client((s) => listClients(s)),
    retire: (c) => client((s) => executeFolderRetire(s, c)),
    members: () => client((s) => listMembers(s)),
    initMembers: () => client((s) => initMembers(s)),
    changeMember: (change) => client((s) => changeMember(s, change)),
    invite: (name) => client((s) => inviteMember(s, name)),
    subscribe: (f) => client((s) => executeSubscribe(s, f)),
    unsubscribe: (f) => client((s) => executeUnsubscribe(s, f)),
    restoreTo: (p, o) => {
      const t = computeRestoreTarget(p);
      parseHistoryPoint(o.at);
      return client((s) => executeRestoreTo(s, t, o.at, o.to, o.dryRun === true));
    },
    history: async (p, o = {}) => {
      const sp = p === undefined ? undefined : await notePath(p);
      return local((s) => listHistory(s, sp, o.limit));
    },
    read: async (p) => {
      const sp = await notePath(p);
      return local(async (s) => {
        let store: ObjectStore | undefined;
        try {
          return await executeRead(
            { ...s, tree: new FsTree(root) },
            sp,
            async () => (store = await openClientStore(root, config, s.keys, s.index)),
          );
        } finally {
          await store?.close();
        }
      });
    },
    write: (p, bytes, o) => write(p, typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes, o),
    delete: (p, o) => write(p, null, o),
    restore: async (p, o) => {
      const sp = await notePath(p);
      return client(async (s) => {
        const { report: _report, ...r } = await executeRestore(s, sp, o.at);
        return r;
      });
    },
    verify: () => client((s) => executeVerify(s)),
    diff: async (p, o = {}) => {
      const sp = await notePath(p);
      return client((s) => executeDiff(s, { path: sp, from: o.from, to: o.to }));
    },
    diffVersions: (from, to) => client((s) => executeDiff(s, { versions: [from, to] })),
  };
}
