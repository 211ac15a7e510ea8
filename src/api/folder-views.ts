import { createHash } from 'node:crypto';
import { BmError, ErrorCode, StaleVersionError } from '../errors.js';
import type { SyncPath } from '../events/sync-path.js';
import { computeHeads } from '../projections/project-paths.js';
import { runSync } from '../reconcile/run-sync.js';
import type { ClientSession } from '../client/client-session.js';
import { readScope } from '../client/client-session.js';
import {
  listActivity,
  listClients,
  listDeleted,
  readPulse,
  type ActivityEvent,
  type ClientInfo,
  type DeletedFile,
  type FolderPulse,
} from './activity.js';
import { DEFAULT_LOCK_WAIT_MS, withClientWaiting, withLocalWaiting } from './folder-lock.js';
import { mustNotePath, readPathState } from './note-io.js';
import type { BmFolder } from './open-folder.js';
import { executeConflictSides, executeVersionDiff, type ConflictSides, type VersionDiff } from './version-diff.js';
import { readClientConfig } from '../local/state-dir.js';
import { computeAdmitCommand, executeListMembers, MEMBERS_INIT, type MemberRow, type MembersView } from '../client/member-actions.js';

/*
 * What the web view (`bm-log ui`, ADR-0030) reads beyond `BmFolder`: the timeline of every
 * path, deleted files, clients, members, a pulse to poll, diffs between versions, a conflict's
 * sides, and ending a conflict with text a person edited. Each call holds the folder only while it
 * runs (ADR-0028), like `BmFolder`'s, so `sync --watch` and `bm-log mcp` share the folder.
 */

/**
 * What `bm-log members --json` shows (ADR-0021), with the commands the page shows to copy: the one
 * admitting each pending client (an admin runs it after checking the fingerprint; the page never
 * admits), and, in a vault without members, the one that starts them.
 */
export interface MembersListing extends MembersView {
  readonly pending: readonly (MemberRow & { readonly admitCommand: string })[];
  /** `bm-log members init` while the vault has no root admin; null once it has one. */
  readonly initCommand: string | null;
}

/** Pure: the members view with its commands. */
export function computeMembersListing(view: MembersView): MembersListing {
  return {
    ...view,
    pending: view.pending.map((p) => ({ ...p, admitCommand: computeAdmitCommand(p.name) })),
    initCommand: view.root === null ? MEMBERS_INIT : null,
  };
}

export interface FolderViews {
  /** Every path's events, newest first, at most `limit`. */
  activity(limit?: number): Promise<ActivityEvent[]>;
  deleted(): Promise<DeletedFile[]>;
  clients(): Promise<ClientInfo[]>;
  /** The members as `bm-log members` lists them: it fetches the log (and keeps what it fetched), publishes nothing. */
  members(): Promise<MembersListing>;
  pulse(): Promise<FolderPulse>;
  /** The diff of `path` from version `from` (null: from nothing) to `to`. */
  diff(path: string, from: string | null, to: string): Promise<VersionDiff>;
  conflictSides(path: string): Promise<ConflictSides>;
  /**
   * Ends the conflict at `path` with `text`: the file here becomes `text`, then a resolve keeps
   * it (as editing the file and running `bm-log resolve PATH`). `heads` are the heads the
   * person saw: when they are no longer the heads, a StaleVersionError and nothing is written.
   */
  resolveWithText(path: string, text: string, heads: readonly string[]): Promise<{ path: string; heads: string[] }>;
}

/** Writes `text` over the file at `p` (never over a file changed meanwhile), then publishes a resolve keeping it. */
async function executeResolveWithText(s: ClientSession, p: SyncPath, text: string, seen: readonly string[]): Promise<string[]> {
  const st = await readPathState(s, p);
  const heads = st === undefined ? [] : computeHeads(st);
  const current = heads.map((h) => h.id);
  if (heads.length < 2 || current.length !== seen.length || current.some((h) => !seen.includes(h)))
    throw new StaleVersionError(p, seen[0] ?? null, current);
  const bytes = new TextEncoder().encode(text);
  const hash = createHash('sha256').update(bytes).digest('hex');
  const mode = heads.find((h) => h.content !== null)?.content?.mode ?? 0o644;
  const here = await s.ctx.tree.statFile(p);
  if (here !== undefined && !heads.some((h) => h.content?.hash === here.hash))
    throw new BmError(ErrorCode.usage, `${p} has changes here that are no version yet; nothing was written`, 'sync first, then resolve');
  const written = await s.ctx.tree.writeFile(
    p,
    (async function* () {
      yield bytes;
    })(),
    hash,
    mode,
    here ?? null,
  );
  if (written === 'changed')
    throw new BmError(
      ErrorCode.staleVersion,
      `${p} changed in the folder meanwhile; nothing was written`,
      'reload the conflict and try again',
    );
  await runSync(s.ctx, { resolve: { path: p, keep: 'local' } });
  const after = await readPathState(s, p);
  return after === undefined ? [] : computeHeads(after).map((h) => h.id);
}

/** The web view's reads and actions on an opened folder (its root; the same lock wait). */
export async function openFolderViews(folder: BmFolder, options: { lockWaitMs?: number } = {}): Promise<FolderViews> {
  const { root } = folder;
  const waitMs = options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS;
  const config = await readClientConfig(root);
  const notePath = async (p: string) => mustNotePath(p, (await readScope(root, config)).isIgnored);
  const local = <T>(fn: Parameters<typeof withLocalWaiting<T>>[2]) => withLocalWaiting(root, waitMs, fn);
  const client = <T>(fn: Parameters<typeof withClientWaiting<T>>[2]) => withClientWaiting(root, waitMs, fn);
  return {
    activity: (limit = 200) => local((s) => listActivity(s, limit)),
    deleted: () => local((s) => listDeleted(s)),
    clients: () => local((s) => listClients(s)),
    members: () => client(async (s) => computeMembersListing(await executeListMembers(s.ctx))),
    pulse: () => local((s) => readPulse(s)),
    diff: async (p, from, to) => {
      const sp = await notePath(p);
      return client((s) => executeVersionDiff(s, sp, from, to));
    },
    conflictSides: async (p) => {
      const sp = await notePath(p);
      return client((s) => executeConflictSides(s, sp));
    },
    resolveWithText: async (p, text, heads) => {
      const sp = await notePath(p);
      return client(async (s) => ({ path: sp, heads: await executeResolveWithText(s, sp, text, heads) }));
    },
  };
}
