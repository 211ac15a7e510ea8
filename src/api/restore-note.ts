import { BmError, ErrorCode } from '../errors.js';
import { mustSyncPath, type SyncPath } from '../events/sync-path.js';
import { computeHeads, projectVersions, type Projection } from '../projections/project-paths.js';
import type { VersionRecord } from '../projections/version-record.js';
import { runSync, type RestoreRequest, type SyncReport } from '../reconcile/run-sync.js';
import { executeFetchLog } from '../reconcile/sync-log.js';
import type { ClientSession } from '../client/client-session.js';
import { pathArg } from '../client/hints.js';
import { displayName, shellCommand } from '../client/human-text.js';
import { computeTimeSpec, TIME_FORMS } from '../client/time-spec.js';

/*
 * Restoring a file or a folder as of a time or a version (`bm-log restore`, the API's
 * `restore`): what to publish is decided against the remote's current log (pure), refused
 * while the files to restore have unsynced changes, then published by one sync.
 */

/** A point in history: a time (see time-spec.ts), or a version id (full, or its last 8+ characters). */
export type HistoryPoint = { readonly time: number } | { readonly version: string };

/** `--at`: `today`/`yesterday`/`now` first (they read as version ids too), then a version id, then a time. */
export function parseHistoryPoint(at: string, now: number = Date.now()): HistoryPoint {
  const word = /^(now|today|yesterday)$/i.test(at.trim());
  if (!word && /^[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{8,26}$/.test(at) && !/^\d{4}-?\d{2}/.test(at)) return { version: at.toUpperCase() };
  const time = computeTimeSpec(at, now);
  if (time === undefined) {
    throw new BmError(
      ErrorCode.usage,
      `--at ${JSON.stringify(at)} is neither a time nor a version id`,
      `use a version id from \`bm-log log PATH\`, or a time; ${TIME_FORMS}`,
    );
  }
  return { time };
}

/** `bm-log log [PATH]`, to paste: where the version ids are. */
export function logCommand(p?: string): string {
  return shellCommand(p === undefined ? ['log'] : ['log', pathArg(p)]);
}

export function findVersion(versions: Iterable<VersionRecord>, id: string, of?: string): VersionRecord {
  const matches = [...versions].filter((v) => v.id === id || v.id.endsWith(id));
  if (matches.length !== 1) {
    throw new BmError(
      ErrorCode.usage,
      `${matches.length === 0 ? 'no' : 'more than one'} version ${of === undefined ? '' : `of ${displayName(of)} `}matches ${id}`,
      `use a version id (or its last 8 characters) from \`${logCommand(of)}\``,
    );
  }
  return matches[0]!;
}

/**
 * Pure: the tree as of a time: every path's winner among the versions written at or before
 * it (times are the writers' clocks: informational, which is why a version id is the exact
 * way to name a point). Paths whose winner is a delete are absent.
 */
export function projectTreeAt(versions: readonly VersionRecord[], time: number): Map<SyncPath, VersionRecord> {
  const past: Projection = projectVersions(versions.filter((v) => Date.parse(v.time) <= time));
  const out = new Map<SyncPath, VersionRecord>();
  for (const [p, st] of past) {
    const w = computeHeads(st)[0];
    if (w?.content) out.set(p, w);
  }
  return out;
}

/** What `restore` names: a file, or a folder (`FOLDER/`), under the root. */
export interface RestoreTarget {
  /** As typed, for messages. */
  readonly target: string;
  /** Without `./` and trailing slashes. */
  readonly rel: string;
  readonly isFolder: boolean;
}

/**
 * The files to bring back as of `point` (a put of the old content, or a delete of a file that
 * did not exist then), against the remote's current log `projection`. Pure; usage and
 * not-found errors for a folder at a version, an unknown version and nothing there then.
 */
export function planRestoreRequests(projection: Projection, point: HistoryPoint, t: RestoreTarget, at: string): RestoreRequest[] {
  const { rel, isFolder } = t;
  const versions = [...projection.values()].flatMap((st) => [...st.versions.values()]);
  const requests: RestoreRequest[] = [];
  if ('version' in point) {
    if (isFolder)
      throw new BmError(
        ErrorCode.usage,
        'a folder is restored --at a time, not a version',
        'use --at with a time (2h, yesterday, 2026-11-20T17:00...)',
      );
    const v = findVersion(
      versions.filter((x) => x.path === rel),
      point.version,
      rel,
    );
    requests.push({ path: v.path, content: v.content });
  } else {
    const past = projectTreeAt(versions, point.time);
    if (isFolder) {
      const prefix = `${rel}/`;
      const now = new Set<string>(
        [...projection].filter(([p, st]) => p.startsWith(prefix) && computeHeads(st)[0]?.content).map(([p]) => p),
      );
      for (const [p, v] of past) if (p.startsWith(prefix)) requests.push({ path: p, content: v.content });
      for (const p of now) if (!past.has(p as SyncPath)) requests.push({ path: p as SyncPath, content: null });
    } else {
      requests.push({ path: rel as SyncPath, content: past.get(rel as SyncPath)?.content ?? null });
    }
  }
  if (requests.length === 0) {
    throw new BmError(
      ErrorCode.notFound,
      `nothing under ${displayName(t.target)} existed at ${at}`,
      `check the time with \`${logCommand(isFolder ? `${rel}/` : rel)}\``,
    );
  }
  return requests;
}

/** The requests that change something: content (or mode) other than the current winner's. Pure. */
function computeRestoreChanges(requests: readonly RestoreRequest[], projection: Projection): RestoreRequest[] {
  return requests.filter((r) => {
    const st = projection.get(r.path);
    const w = st ? computeHeads(st)[0] : undefined;
    return r.content === null ? w?.content != null : w?.content?.hash !== r.content.hash || w.content.mode !== r.content.mode;
  });
}

/** Changed files here would become conflicts with the restore: refused, asking for a sync first. */
async function mustNoUnsyncedChanges(s: Pick<ClientSession, 'index' | 'ctx'>, requests: readonly RestoreRequest[]): Promise<void> {
  const manifest = await s.index.getManifest();
  const scan = await s.ctx.tree.scan(manifest, s.ctx.isIgnored);
  const dirty = requests.filter((r) => {
    const l = scan.files.get(r.path);
    const b = manifest.get(r.path);
    return l !== undefined ? b?.hash !== l.hash : b !== undefined;
  });
  if (dirty.length > 0) {
    throw new BmError(
      ErrorCode.safetyGuard,
      `${dirty.length} file(s) to restore have unsynced changes (${dirty
        .slice(0, 5)
        .map((d) => displayName(d.path))
        .join(', ')})`,
      'run `bm-log sync` first; nothing was restored',
    );
  }
}

/** What a restore changed (or, dry, would change), and the sync that published it. */
export interface RestoreResult {
  readonly changes: readonly { readonly path: string; readonly hash: string | null }[];
  readonly eventsPublished: number;
  readonly skipped: readonly { readonly path: string; readonly detail: string }[];
  readonly dryRun: boolean;
}

/** `target` (a file, or a folder ending in `/`) as a RestoreTarget; a usage error for an unsafe path. */
export function computeRestoreTarget(target: string): RestoreTarget {
  const t = { target, isFolder: target.endsWith('/'), rel: target.replace(/^\.\//, '').replace(/\/+$/, '') };
  mustSyncPath(t.rel);
  return t;
}

/** The restore requests of `t` as of `at` against the remote's current log. */
export async function planRestoreNow(
  s: ClientSession,
  t: RestoreTarget,
  at: string,
): Promise<{ requests: RestoreRequest[]; projection: Projection }> {
  // Decide against the remote's current log, not this client's last sync: a stale view
  // would skip a file changed since (thinking it already restored) or miss one added since.
  // Folded in memory only; the sync that publishes the restore fetches and commits as usual.
  const projection = (await executeFetchLog(s.ctx, { dryRun: true })).state.paths;
  return { requests: planRestoreRequests(projection, parseHistoryPoint(at), t, at), projection };
}

/**
 * Restores `target` as of `at` (a time or a version): refused while the files have unsynced
 * changes; a dry run only lists the changes. Returns the sync's report too (null when dry).
 */
export async function executeRestore(
  s: ClientSession,
  target: string,
  at: string,
  options: { dryRun?: boolean } = {},
): Promise<RestoreResult & { report: SyncReport | null }> {
  const t = computeRestoreTarget(target);
  const { requests, projection } = await planRestoreNow(s, t, at);
  await mustNoUnsyncedChanges(s, requests);
  const changes = computeRestoreChanges(requests, projection);
  const listed = changes.map((c) => ({ path: c.path, hash: c.content?.hash ?? null }));
  if (options.dryRun === true) return { changes: listed, eventsPublished: 0, skipped: [], dryRun: true, report: null };
  const report = await runSync(s.ctx, { restore: changes });
  const skipped = report.skipped.map((k) => ({ path: k.path, detail: k.detail }));
  return { changes: listed, eventsPublished: report.eventsPublished, skipped, dryRun: false, report };
}
