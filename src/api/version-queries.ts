import { createHash } from 'node:crypto';
import { BmError, ErrorCode } from '../errors.js';
import { readContent } from '../events/packs.js';
import { readSessionFallback } from '../reconcile/snapshot-reads.js';
import type { ContentRef } from '../events/schema.js';
import type { SyncPath } from '../events/sync-path.js';
import { computeHeads } from '../projections/project-paths.js';
import type { VersionRecord } from '../projections/version-record.js';
import type { ClientSession, LocalSession } from '../client/client-session.js';
import { loadProjection } from '../client/client-queries.js';
import { displayName } from '../client/human-text.js';
import { findVersion, logCommand, parseHistoryPoint, projectTreeAt } from './restore-note.js';

/*
 * Reading versions from this client's records (`bm-log show`, `bm-log ls`; the API's `show`
 * and `list`, ADR-0028): any version's bytes, checked against their hash, and the tree now
 * or as of a point in history.
 */

/** The bytes of a version, checked against its hash: held whole. */
async function readVerifiedBytes(
  s: Pick<ClientSession, 'index' | 'store'> & Partial<Pick<ClientSession, 'ctx'>>,
  content: ContentRef,
): Promise<Buffer> {
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  // Gone from the live bucket, it is read from the bucket snapshot this client synced against (ADR-0034).
  for await (const chunk of await readContent(s.store, content, undefined, await readSessionFallback(s))) {
    hash.update(chunk);
    chunks.push(Buffer.from(chunk));
  }
  if (hash.digest('hex') !== content.hash) {
    throw new BmError(ErrorCode.blobCorrupt, `blob ${content.hash} does not match its hash`, 'nothing was read; run `bm-log verify`');
  }
  return Buffer.concat(chunks);
}

/** A version with content, and its bytes. */
export interface VersionBytes {
  readonly record: VersionRecord & { readonly content: ContentRef };
  readonly bytes: Buffer;
}

/**
 * The version `version` names (an id, or its last 8+ characters) with its bytes, from the
 * remote's blob checked against its hash. A usage error for an unknown id or a delete.
 */
export async function readVersionBytes(
  s: Pick<ClientSession, 'index' | 'store'> & Partial<Pick<ClientSession, 'ctx'>>,
  version: string,
): Promise<VersionBytes> {
  const { versions } = await loadProjection(s);
  const v = findVersion(versions, version.toUpperCase());
  if (v.content === null) {
    throw new BmError(
      ErrorCode.usage,
      `version ${v.id} of ${displayName(v.path)} is a delete; it has no content`,
      `pick an earlier version from \`${logCommand(v.path)}\``,
    );
  }
  const content = v.content;
  return { record: { ...v, content }, bytes: await readVerifiedBytes(s, content) };
}

/** Pure: a folder as a path prefix ('' for the root; else ending in '/'), as `list` and `bm-log ls` take it. */
export function computeFolderPrefix(folder: string | undefined): string {
  return folder === undefined || folder === '' ? '' : `${folder.replace(/^\.\//, '').replace(/\/+$/, '')}/`;
}

/** One file of the tree (now or as of a point), as `list` and `bm-log ls` show it. */
export interface FileInfo {
  readonly path: string;
  readonly version: string;
  readonly size: number;
  readonly hash: string;
  /** The client that wrote this version, and when (its clock). */
  readonly client: string;
  readonly time: string;
}

/**
 * The files under `prefix` ('' for all; a folder ends in '/') in path order: every path's
 * winner with content now, or, with `at` (a time or a version id, as `restore --at` takes
 * it), as of then. From this client's records, as of its last sync.
 */
export async function listFiles(s: Pick<LocalSession, 'index'>, prefix = '', at?: string): Promise<FileInfo[]> {
  const { versions, projection } = await loadProjection(s);
  let tree: Map<SyncPath, VersionRecord>;
  if (at === undefined) {
    tree = new Map();
    for (const [p, st] of projection) {
      const w = computeHeads(st)[0];
      if (w?.content) tree.set(p, w);
    }
  } else {
    const point = parseHistoryPoint(at);
    const time = 'time' in point ? point.time : Date.parse(findVersion(versions, point.version).time);
    tree = projectTreeAt(versions, time);
  }
  return [...tree.values()]
    .filter((v) => v.path.startsWith(prefix))
    .sort((a, b) => (a.path < b.path ? -1 : 1))
    .map((v) => ({ path: v.path, version: v.id, size: v.content!.size, hash: v.content!.hash, client: v.client, time: v.time }));
}
