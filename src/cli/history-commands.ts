import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { BmError, ErrorCode } from '../errors.js';
import { readBlob } from '../events/blobs.js';
import { writeChunk } from '../events/store/lent-chunks.js';
import type { ContentRef } from '../events/schema.js';
import { mustSyncPath, type SyncPath } from '../events/sync-path.js';
import { computeHeads, projectVersions, type Projection } from '../projections/project-paths.js';
import type { VersionRecord } from '../projections/version-record.js';
import { runSync, type RestoreRequest } from '../reconcile/run-sync.js';
import { executeFetchLog } from '../reconcile/sync-log.js';
import type { ClientSession } from './client-session.js';
import { loadProjection, withClient, withLocal } from './client-queries.js';
import { ExitCode, computeSyncExitCode } from './exit-codes.js';
import type { DirOption, LsFlags, RestoreFlags } from './options.js';
import type { Output } from './output.js';
import { pathArg } from './hints.js';
import { displayName, shellCommand } from './human-text.js';

/** A point in history: an ISO 8601 time, or a version id (full, or its last 8+ characters). */
export type HistoryPoint = { readonly time: number } | { readonly version: string };

export function parseHistoryPoint(at: string): HistoryPoint {
  if (/^[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{8,26}$/.test(at) && !/^\d{4}-?\d{2}/.test(at)) return { version: at.toUpperCase() };
  const ms = Date.parse(at);
  if (Number.isNaN(ms)) {
    throw new BmError(
      ErrorCode.usage,
      `--at ${JSON.stringify(at)} is neither an ISO 8601 time nor a version id`,
      'for example: --at 2026-11-20T17:00:00Z, or a version id from `bm-log log PATH`',
    );
  }
  return { time: ms };
}

/** `bm-log log [PATH]`, to paste: where the version ids are. */
function logCommand(p?: string): string {
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

async function writeBlobTo(s: ClientSession, content: ContentRef, file: string, out: Output | undefined): Promise<void> {
  const hash = createHash('sha256');
  const src = await readBlob(s.store, content.hash, content.size);
  if (out) {
    const chunks: Buffer[] = [];
    for await (const chunk of src) {
      hash.update(chunk);
      chunks.push(Buffer.from(chunk));
    }
    if (hash.digest('hex') !== content.hash) {
      throw new BmError(ErrorCode.blobCorrupt, `blob ${content.hash} does not match its hash`, 'nothing was printed; run `bm-log verify`');
    }
    // The bytes as they are: a version need not be UTF-8 text.
    out.stdout(Buffer.concat(chunks));
    return;
  }
  const tmp = `${file}.bm-tmp-${process.pid}`;
  const fh = await fs.open(tmp, 'wx', content.mode & 0o777 || 0o644);
  let open = true;
  try {
    // The chunks are lent: each is written before the next is read into its buffer.
    for await (const chunk of src) {
      hash.update(chunk);
      await writeChunk(fh, chunk);
    }
    await fh.sync();
    await fh.close();
    open = false;
    if (hash.digest('hex') !== content.hash) {
      throw new BmError(ErrorCode.blobCorrupt, `blob ${content.hash} does not match its hash`, 'nothing was written; run `bm-log verify`');
    }
    await fs.link(tmp, file).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST')
        throw new BmError(ErrorCode.usage, `${file} already exists`, 'choose another --to file; nothing was overwritten');
      throw e;
    });
  } finally {
    if (open) await fh.close();
    await fs.rm(tmp, { force: true });
  }
}

/** `bm-log show VERSION`: the bytes of any version, checked against its hash. */
export async function runShowCommand(version: string, o: DirOption, out: Output): Promise<number> {
  return withClient(o.dir, async (s) => {
    const { versions } = await loadProjection(s);
    const v = findVersion(versions, version.toUpperCase());
    if (v.content === null) {
      throw new BmError(
        ErrorCode.usage,
        `version ${v.id} of ${displayName(v.path)} is a delete; it has no content`,
        `pick an earlier version from \`${logCommand(v.path)}\``,
      );
    }
    await writeBlobTo(s, v.content, '', out);
    return ExitCode.ok;
  });
}

/** `bm-log ls [FOLDER] [--at T|VERSION]`: the tree now or at a point. */
export async function runLsCommand(folder: string | undefined, o: LsFlags, out: Output): Promise<number> {
  return withLocal(o.dir, async (s) => {
    const { versions, projection } = await loadProjection(s);
    let tree: Map<SyncPath, VersionRecord>;
    if (o.at === undefined) {
      tree = new Map();
      for (const [p, st] of projection) {
        const w = computeHeads(st)[0];
        if (w?.content) tree.set(p, w);
      }
    } else {
      const point = parseHistoryPoint(o.at);
      const time = 'time' in point ? point.time : Date.parse(findVersion(versions, point.version).time);
      tree = projectTreeAt(versions, time);
    }
    const prefix = folder === undefined ? '' : `${folder.replace(/^\.\//, '').replace(/\/+$/, '')}/`;
    const rows = [...tree.values()].filter((v) => v.path.startsWith(prefix)).sort((a, b) => (a.path < b.path ? -1 : 1));
    const data = rows.map((v) => ({
      path: v.path,
      size: v.content?.size ?? 0,
      hash: v.content?.hash ?? null,
      version: v.id,
      client: v.client,
      time: v.time,
    }));
    const line = (d: (typeof data)[number]) =>
      `${String(d.size).padStart(10)}  ${d.hash?.slice(0, 12)}  ${d.version}  ${displayName(d.path)}`;
    out.result(o.json, { at: o.at ?? null, files: data }, () => (data.length === 0 ? ['(no files)'] : data.map(line)));
    return ExitCode.ok;
  });
}

/** What `restore` names: a file, or a folder (`FOLDER/`), under the root. */
interface RestoreTarget {
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
function planRestoreRequests(projection: Projection, point: HistoryPoint, t: RestoreTarget, at: string): RestoreRequest[] {
  const { rel, isFolder } = t;
  const versions = [...projection.values()].flatMap((st) => [...st.versions.values()]);
  const requests: RestoreRequest[] = [];
  if ('version' in point) {
    if (isFolder) throw new BmError(ErrorCode.usage, 'a folder is restored --at a time, not a version', 'use --at with an ISO 8601 time');
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

/** `restore --to FILE`: one file's old bytes written elsewhere; publishes nothing. */
async function executeRestoreTo(
  s: ClientSession,
  requests: readonly RestoreRequest[],
  t: RestoreTarget,
  o: RestoreFlags & { to: string },
  out: Output,
) {
  const only = requests[0]!;
  if (t.isFolder || requests.length !== 1) throw new BmError(ErrorCode.usage, '--to restores one file', 'name a file, not a folder');
  if (only.content === null) {
    throw new BmError(
      ErrorCode.notFound,
      `${displayName(t.rel)} did not exist (or was deleted) at ${o.at}`,
      `pick another point from \`${logCommand(t.rel)}\``,
    );
  }
  const file = path.resolve(o.to);
  if (!o.dryRun) await writeBlobTo(s, only.content, file, undefined);
  const data = { restored: t.rel, to: file, hash: only.content.hash, dryRun: o.dryRun === true };
  out.result(o.json, data, () => [`${o.dryRun ? 'would write' : 'wrote'} ${displayName(t.rel)} as of ${o.at} to ${displayName(file)}`]);
  return ExitCode.ok;
}

/** Changed files here would become conflicts with the restore: refused, asking for a sync first. */
async function mustNoUnsyncedChanges(s: ClientSession, requests: readonly RestoreRequest[]): Promise<void> {
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

/**
 * `bm-log restore PATH|FOLDER/ --at T|VERSION [--to FILE] [--dry-run]`: bring a file or a
 * folder back to how it was. A restore is an ordinary new put (or tombstone) replacing what
 * is there now, so it syncs to everyone and is itself in the log. `--to` writes one file's
 * old bytes elsewhere and publishes nothing.
 */
export async function runRestoreCommand(target: string, o: RestoreFlags, out: Output): Promise<number> {
  const t = { target, isFolder: target.endsWith('/'), rel: target.replace(/^\.\//, '').replace(/\/+$/, '') };
  mustSyncPath(t.rel);
  const point = parseHistoryPoint(o.at);
  return withClient(o.dir, async (s) => {
    // Decide against the remote's current log, not this client's last sync: a stale view
    // would skip a file changed since (thinking it already restored) or miss one added since.
    // Folded in memory only; the sync that publishes the restore fetches and commits as usual.
    const projection = (await executeFetchLog(s.ctx, { dryRun: true })).state.paths;
    const requests = planRestoreRequests(projection, point, t, o.at);
    if (o.to !== undefined) return executeRestoreTo(s, requests, t, { ...o, to: o.to }, out);
    await mustNoUnsyncedChanges(s, requests);
    const changes = computeRestoreChanges(requests, projection);
    if (o.dryRun) {
      out.result(o.json, { dryRun: true, changes: changes.map((c) => ({ path: c.path, hash: c.content?.hash ?? null })) }, () => [
        `dry run: ${changes.length} file(s) would be restored as of ${o.at}; nothing was changed`,
        ...changes.map(
          (c) => `  ${c.content ? 'restore' : 'delete '} ${displayName(c.path)}${c.content ? `  sha256 ${c.content.hash}` : ''}`,
        ),
      ]);
      return ExitCode.ok;
    }
    const report = await runSync(s.ctx, { restore: changes });
    const restored = changes.map((c) => ({ path: c.path, hash: c.content?.hash ?? null }));
    out.result(o.json, { restored, eventsPublished: report.eventsPublished, skipped: report.skipped }, () => [
      `restored ${changes.length} file(s) as of ${o.at} (${report.eventsPublished} event(s) published; they sync to everyone)`,
      ...changes.map((c) => `  ${c.content ? 'restored' : 'deleted '} ${displayName(c.path)}`),
      ...report.skipped.map((sk) => `  skipped ${displayName(sk.path)}: ${sk.detail}`),
    ]);
    return computeSyncExitCode(report);
  });
}

/** Renames: a delete and a put of the same content in one segment. Pure. */
export function computeMoves(
  segmentVersions: readonly VersionRecord[],
  contentOf: (id: string) => ContentRef | null | undefined,
): { from: SyncPath; to: SyncPath }[] {
  // The puts by content hash, in segment order: one map read per delete, not a pass over
  // every put (a segment holds up to 10,000 versions).
  const puts = new Map<string, VersionRecord[]>();
  for (const v of segmentVersions) {
    if (v.type !== 'put' || !v.content) continue;
    const same = puts.get(v.content.hash);
    if (same) same.push(v);
    else puts.set(v.content.hash, [v]);
  }
  const moves: { from: SyncPath; to: SyncPath }[] = [];
  for (const t of segmentVersions.filter((v) => v.type === 'tombstone')) {
    const gone = t.replaces.map(contentOf).find((c) => c);
    const to = gone ? puts.get(gone.hash)?.find((p) => p.path !== t.path) : undefined;
    if (to) moves.push({ from: t.path, to: to.path });
  }
  return moves;
}

/** For `log PATH`: the path's versions from the history index, with renames annotated. */
export async function readPathHistory(
  s: Pick<ClientSession, 'index'>,
  p: string,
): Promise<{ versions: VersionRecord[]; moves: Map<string, { from: SyncPath; to: SyncPath }> }> {
  const versions = await s.index.getPathHistory(p);
  const moves = (await s.index.getMoves(versions)) as Map<string, { from: SyncPath; to: SyncPath }>;
  return { versions, moves };
}
