import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { BmError, ErrorCode } from '../errors.js';
import { readContent } from '../events/packs.js';
import { writeChunk } from '../events/store/lent-chunks.js';
import type { ContentRef } from '../events/schema.js';
import type { SyncPath } from '../events/sync-path.js';
import { computeHeads } from '../projections/project-paths.js';
import { TMP_PREFIX } from '../local/local-fs.js';
import type { VersionRecord } from '../projections/version-record.js';
import type { RestoreRequest } from '../reconcile/run-sync.js';
import type { ClientSession } from '../client/client-session.js';
import { loadProjection, withClient, withLocal } from '../client/client-queries.js';
import { ExitCode, computeSyncExitCode } from './exit-codes.js';
import type { FolderOptions, LsFlags, RestoreFlags } from './options.js';
import type { Output } from './output.js';
import {
  computeRestoreTarget,
  executeRestore,
  findVersion,
  logCommand,
  parseHistoryPoint,
  planRestoreNow,
  projectTreeAt,
  type RestoreTarget,
} from '../api/restore-note.js';
import { displayName } from '../client/human-text.js';
import { readRestoreDestination } from './restore-destination.js';

/** The bytes of a version, checked against its hash (`show`): held whole, as `show` prints them. */
async function readVerifiedBytes(s: ClientSession, content: ContentRef): Promise<Buffer> {
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  for await (const chunk of await readContent(s.store, content)) {
    hash.update(chunk);
    chunks.push(Buffer.from(chunk));
  }
  if (hash.digest('hex') !== content.hash) {
    throw new BmError(ErrorCode.blobCorrupt, `blob ${content.hash} does not match its hash`, 'nothing was printed; run `bm-log verify`');
  }
  return Buffer.concat(chunks);
}

/** A version's bytes written to a new `file` (never over an existing one), checked against its hash first. */
async function writeBlobTo(s: ClientSession, content: ContentRef, file: string): Promise<void> {
  const hash = createHash('sha256');
  const src = await readContent(s.store, content);
  // Named as bm-log's temp files are: when FILE is inside a synced folder, a sync running
  // meanwhile ignores it (the built-in ignore rule `.bm-tmp-*`).
  const tmp = path.join(path.dirname(file), `${TMP_PREFIX}${process.pid}-${path.basename(file)}`);
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

/**
 * `bm-log show VERSION [--json]`: the bytes of any version, checked against its hash, as they
 * are; with --json, one document with the version and its bytes: as text when they are valid
 * UTF-8 (`encoding: "utf8"`), else in base64 (ADR-0026).
 */
export async function runShowCommand(version: string, o: FolderOptions, out: Output): Promise<number> {
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
    const bytes = await readVerifiedBytes(s, v.content);
    if (!o.json) {
      out.stdout(bytes); // as they are: a version need not be UTF-8 text
      return ExitCode.ok;
    }
    const utf8 = isUtf8(bytes);
    const { id, path: p, client, time } = v;
    const { hash, size, mode } = v.content;
    const content = utf8 ? bytes.toString('utf8') : bytes.toString('base64');
    out.result(true, { version: id, path: p, client, time, hash, size, mode, encoding: utf8 ? 'utf8' : 'base64', content }, () => []);
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
  const { file, syncsAs } = await readRestoreDestination(s.root, o.to);
  if (!o.dryRun) await writeBlobTo(s, only.content, file);
  const shown = path.resolve(o.to); // as the user named it; `file` is the same file with symlinks resolved
  const data = { restored: t.rel, to: shown, syncsAs, hash: only.content.hash, dryRun: o.dryRun === true };
  const upload = syncsAs === null ? '' : ` (inside the synced folder: the next sync uploads it as ${displayName(syncsAs)})`;
  out.result(o.json, data, () => [
    `${o.dryRun ? 'would write' : 'wrote'} ${displayName(t.rel)} as of ${o.at} to ${displayName(shown)}${upload}`,
  ]);
  return ExitCode.ok;
}

/**
 * `bm-log restore PATH|FOLDER/ --at T|VERSION [--to FILE] [--dry-run]`: bring a file or a
 * folder back to how it was. A restore is an ordinary new put (or tombstone) replacing what
 * is there now, so it syncs to everyone and is itself in the log. `--to` writes one file's
 * old bytes elsewhere and publishes nothing.
 */
export async function runRestoreCommand(target: string, o: RestoreFlags, out: Output): Promise<number> {
  const t = computeRestoreTarget(target);
  parseHistoryPoint(o.at); // a bad --at is a usage error before the folder is opened
  return withClient(o.dir, async (s) => {
    if (o.to !== undefined) return executeRestoreTo(s, (await planRestoreNow(s, t, o.at)).requests, t, { ...o, to: o.to }, out);
    const r = await executeRestore(s, target, o.at, { dryRun: o.dryRun === true });
    const line = (c: (typeof r.changes)[number], done: boolean) =>
      `  ${c.hash !== null ? (done ? 'restored' : 'restore') : done ? 'deleted ' : 'delete '} ${displayName(c.path)}`;
    if (r.report === null) {
      out.result(o.json, { dryRun: true, changes: r.changes }, () => [
        `dry run: ${r.changes.length} file(s) would be restored as of ${o.at}; nothing was changed`,
        ...r.changes.map((c) => `${line(c, false)}${c.hash !== null ? `  sha256 ${c.hash}` : ''}`),
      ]);
      return ExitCode.ok;
    }
    const report = r.report;
    out.result(o.json, { restored: r.changes, eventsPublished: report.eventsPublished, skipped: report.skipped }, () => [
      `restored ${r.changes.length} file(s) as of ${o.at} (${report.eventsPublished} event(s) published; they sync to everyone)`,
      ...r.changes.map((c) => line(c, true)),
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
