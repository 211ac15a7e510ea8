import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { BmError, ErrorCode } from '../errors.js';
import { readContent } from '../events/packs.js';
import { readSessionFallback } from '../reconcile/snapshot-reads.js';
import { writeChunk } from '../events/store/lent-chunks.js';
import type { ContentRef } from '../events/schema.js';
import { TMP_PREFIX } from '../local/local-fs.js';
import type { VersionRecord } from '../projections/version-record.js';
import type { RestoreRequest } from '../reconcile/run-sync.js';
import { openCountedHistory } from '../reconcile/member-state.js';
import type { ClientSession } from '../client/client-session.js';
import { withClient, withLocal } from '../client/client-queries.js';
import { ExitCode, computeSyncExitCode } from './exit-codes.js';
import type { FolderOptions, LsFlags, RestoreFlags } from './options.js';
import type { Output } from './output.js';
import {
  computeRestoreTarget,
  executeRestore,
  logCommand,
  parseHistoryPoint,
  planRestoreNow,
  type RestoreTarget,
} from '../api/restore-note.js';
import { computeFolderPrefix, listFiles, readVersionBytes } from '../api/version-queries.js';
import { displayName } from '../client/human-text.js';
import { readRestoreDestination } from './restore-destination.js';

/** A version's bytes written to a new `file` (never over an existing one), checked against its hash first. */
async function writeBlobTo(s: ClientSession, content: ContentRef, file: string): Promise<void> {
  const hash = createHash('sha256');
  const src = await readContent(s.store, content, undefined, await readSessionFallback(s)); // from a snapshot when gone (ADR-0034)
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
    const { record: v, bytes } = await readVersionBytes(s, version);
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
    const files = await listFiles(s, computeFolderPrefix(folder), o.at);
    const data = files.map((f) => ({ path: f.path, size: f.size, hash: f.hash, version: f.version, client: f.client, time: f.time }));
    const line = (d: (typeof data)[number]) =>
      `${String(d.size).padStart(10)}  ${d.hash.slice(0, 12)}  ${d.version}  ${displayName(d.path)}`;
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

/** How many earlier names `log PATH` follows back (a chain of renames). */
const MAX_EARLIER_NAMES = 64;

/**
 * For `log PATH`: the path's versions and, following the recorded moves back (ADR-0020), the
 * versions of the names it had before, up to the version each move continued. `names` holds the
 * path and its earlier names.
 */
export async function readPathHistory(
  s: Pick<ClientSession, 'index'>,
  p: string,
): Promise<{ versions: VersionRecord[]; names: Set<string> }> {
  const history = openCountedHistory(s.index);
  const versions = await history(p);
  const names = new Set([p]);
  let newest = versions;
  while (names.size < MAX_EARLIER_NAMES) {
    const earlier = newest.flatMap((v) => (v.from !== undefined && !names.has(v.from.path) ? [v.from] : []));
    if (earlier.length === 0) break;
    newest = [];
    for (const from of earlier) {
      names.add(from.path);
      newest.push(...computeAncestry(await history(from.path), from.version));
    }
    versions.push(...newest);
  }
  return { versions, names };
}

/** Pure: the version `id` of one path's `history` and every version it descends from through `replaces`. */
export function computeAncestry(history: readonly VersionRecord[], id: string): VersionRecord[] {
  const byId = new Map(history.map((v) => [v.id as string, v]));
  const out = new Map<string, VersionRecord>();
  const stack = [id];
  while (stack.length > 0) {
    const v = byId.get(stack.pop()!);
    if (v === undefined || out.has(v.id)) continue;
    out.set(v.id, v);
    stack.push(...v.replaces);
  }
  return [...out.values()];
}
