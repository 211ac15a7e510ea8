import { BmError, ErrorCode } from '../errors.js';
import type { ObjectStore } from '../events/store/object-store.js';
import { collectChunks } from '../events/store/lent-chunks.js';
import type { SyncPath } from '../events/sync-path.js';
import { computeMergeBase } from '../projections/merge-base.js';
import { computeHeads, type PathState } from '../projections/project-paths.js';
import type { VersionRecord } from '../projections/version-record.js';
import type { ClientSession } from '../client/client-session.js';
import { loadProjection } from '../client/client-queries.js';
import { findVersion, logCommand } from './restore-note.js';
import { computeDiff, type FileDiff, type Pair, readVersionSide, type Side } from './version-diff.js';

export type { DiffHunk, FileDiff } from './version-diff.js';

/*
 * Unified diffs between versions and the file here (issue 22, `bm-log diff`; the API's and
 * MCP's `diff`, issue 26), made with the `diff` package (jsdiff; ADR-0020). A path: the file
 * here against the version it was synced from; an open conflict: each head against the
 * heads' common ancestor; `from`/`to`: those versions of the path (either defaults as
 * before); two version ids: any two versions. One implementation for the CLI and the API.
 */

/** What to compare: a path (with optional versions), or two versions of any paths. */
export type DiffTarget =
  | { readonly path: SyncPath; readonly from?: string | undefined; readonly to?: string | undefined }
  | { readonly versions: readonly [string, string] };

/**
 * The diffs `target` names, from this client's own records (as of its last sync) and the
 * remote's blobs (each checked against its hash). Usage errors name the version ids to use.
 */
export async function executeDiff(s: ClientSession, target: DiffTarget): Promise<FileDiff[]> {
  const { projection, versions } = await loadProjection(s);
  const pairs =
    'versions' in target
      ? [await versionPair(s.store, versions, target.versions[0], target.versions[1])]
      : await pathPairs(s, projection.get(target.path), target);
  return pairs.map(computeDiff);
}

async function versionPair(store: ObjectStore, versions: readonly VersionRecord[], a: string, b: string): Promise<Pair> {
  return {
    from: await readVersionSide(store, findVersion(versions, a.toUpperCase())),
    to: await readVersionSide(store, findVersion(versions, b.toUpperCase())),
  };
}

/** The file here (read through the folder's tree: never outside the root, never through a link). */
async function localSide(s: ClientSession, p: SyncPath): Promise<Side> {
  const f = await s.ctx.tree.statFile(p);
  const bytes = f === undefined ? null : await collectChunks(s.ctx.tree.openRead(p, f.size));
  return { label: `${p} (here)`, version: null, bytes };
}

async function pathPairs(
  s: ClientSession,
  st: PathState | undefined,
  t: { readonly path: SyncPath; readonly from?: string | undefined; readonly to?: string | undefined },
): Promise<Pair[]> {
  const p = t.path;
  const history = st === undefined ? [] : [...st.versions.values()];
  const heads = st === undefined ? [] : computeHeads(st);
  if (t.from === undefined && t.to === undefined && heads.length > 1) return conflictPairs(s.store, st!, heads);
  const synced = (await s.index.getManifest()).get(p)?.version ?? heads[0]?.id;
  const fromId = t.from ?? synced;
  if (fromId === undefined)
    throw new BmError(ErrorCode.notFound, `${p} has no version in the log`, `see \`${logCommand()}\` for the paths it holds`);
  const from = await readVersionSide(s.store, findVersion(history, fromId.toUpperCase(), p));
  const to = t.to === undefined ? await localSide(s, p) : await readVersionSide(s.store, findVersion(history, t.to.toUpperCase(), p));
  return [{ from, to }];
}

/** An open conflict: each head against the heads' common ancestor (or against nothing, when there is none). */
async function conflictPairs(store: ObjectStore, st: PathState, heads: readonly VersionRecord[]): Promise<Pair[]> {
  const found = computeMergeBase(st, heads);
  const base: Side =
    found.kind === 'base'
      ? await readVersionSide(store, found.base)
      : { label: `(no common ancestor: ${found.kind})`, version: null, bytes: null };
  const out: Pair[] = [];
  for (const h of heads) out.push({ from: base, to: await readVersionSide(store, h) });
  return out;
}
