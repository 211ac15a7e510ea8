import { isUtf8 } from 'node:buffer';
import type { ClientSession } from '../client/client-session.js';
import { withClient, withLocal } from '../client/client-queries.js';
import { ExitCode, computeSyncExitCode } from './exit-codes.js';
import type { FolderOptions, LsFlags, RestoreFlags } from './options.js';
import type { Output } from './output.js';
import { computeRestoreTarget, executeRestore, parseHistoryPoint, type RestoreTarget } from '../api/restore-note.js';
import { computeFolderPrefix, listFiles, readVersionBytes } from '../api/version-queries.js';
import { displayName } from '../client/human-text.js';
import { executeRestoreTo } from '../api/restore-to.js';

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

/** `restore --to FILE`: one file's old bytes written elsewhere (the API's `restoreTo`); publishes nothing. */
async function runRestoreTo(s: ClientSession, t: RestoreTarget, o: RestoreFlags & { to: string }, out: Output) {
  const data = await executeRestoreTo(s, t, o.at, o.to, o.dryRun === true);
  const upload = data.syncsAs === null ? '' : ` (inside the synced folder: the next sync uploads it as ${displayName(data.syncsAs)})`;
  out.result(o.json, data, () => [
    `${o.dryRun ? 'would write' : 'wrote'} ${displayName(t.rel)} as of ${o.at} to ${displayName(data.to)}${upload}`,
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
    if (o.to !== undefined) return runRestoreTo(s, t, { ...o, to: o.to }, out);
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
