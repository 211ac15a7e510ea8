import { createTwoFilesPatch, structuredPatch } from 'diff';
import { BmError, ErrorCode } from '../errors.js';
import { readContent } from '../events/packs.js';
import { sha256Hex } from '../events/signing.js';
import type { ObjectStore } from '../events/store/object-store.js';
import { collectChunks } from '../events/store/lent-chunks.js';
import { mustSyncPath, type SyncPath } from '../events/sync-path.js';
import { computeText } from '../merge/text-content.js';
import { computeMergeBase } from '../projections/merge-base.js';
import { computeHeads, type Projection } from '../projections/project-paths.js';
import type { VersionRecord } from '../projections/version-record.js';
import type { ClientSession } from '../client/client-session.js';
import { loadProjection, withClient } from '../client/client-queries.js';
import { ExitCode } from './exit-codes.js';
import { findVersion, logCommand } from '../api/restore-note.js';
import type { FolderOptions } from './options.js';
import type { Output } from './output.js';

/*
 * `bm-log diff` (issue 22): unified diffs between versions and the file here, made with the
 * `diff` package (jsdiff; ADR-0020). `diff PATH`: the file here against the version it was
 * synced from; for an open conflict, each head against the heads' common ancestor.
 * `diff PATH --from V --to V` (either defaults as before); `diff V1 V2`: any two versions.
 */

export interface DiffFlags extends FolderOptions {
  readonly from?: string;
  readonly to?: string;
}

/** One side of a diff: its name and bytes (null: absent or deleted). */
interface Side {
  readonly label: string;
  readonly version: string | null;
  readonly bytes: Uint8Array | null;
}

interface Pair {
  readonly from: Side;
  readonly to: Side;
}

/** `bm-log diff PATH [--from V] [--to V]` or `bm-log diff V1 V2`. */
export async function runDiffCommand(args: readonly string[], o: DiffFlags, out: Output): Promise<number> {
  if (args.length < 1 || args.length > 2)
    throw new BmError(ErrorCode.usage, 'diff takes a PATH, or two versions', 'for example: bm-log diff notes/plan.md');
  return withClient(o.dir, async (s) => {
    const { projection, versions } = await loadProjection(s);
    const pairs =
      args.length === 2 ? [await versionPair(s.store, versions, args[0]!, args[1]!)] : await pathPairs(s, projection, args[0]!, o);
    const diffs = pairs.map(computeDiff);
    out.result(o.json, { diffs }, () =>
      diffs.flatMap((d) => (d.binary ? [`binary files ${d.from} and ${d.to} differ`] : d.text.split('\n'))),
    );
    return ExitCode.ok;
  });
}

async function versionSide(store: ObjectStore, v: VersionRecord): Promise<Side> {
  const label = `${v.path}@${v.id}`;
  if (v.content === null) return { label, version: v.id, bytes: null };
  const bytes = await collectChunks(await readContent(store, v.content));
  if (sha256Hex(bytes) !== v.content.hash)
    throw new BmError(ErrorCode.blobCorrupt, `blob ${v.content.hash} does not match its hash`, 'nothing was shown; run `bm-log verify`');
  return { label, version: v.id, bytes };
}

async function versionPair(store: ObjectStore, versions: readonly VersionRecord[], a: string, b: string): Promise<Pair> {
  return {
    from: await versionSide(store, findVersion(versions, a.toUpperCase())),
    to: await versionSide(store, findVersion(versions, b.toUpperCase())),
  };
}

/** The file here (read through the folder's tree: never outside the root, never through a link). */
async function localSide(s: ClientSession, p: SyncPath): Promise<Side> {
  const f = await s.ctx.tree.statFile(p);
  const bytes = f === undefined ? null : await collectChunks(s.ctx.tree.openRead(p, f.size));
  return { label: `${p} (here)`, version: null, bytes };
}

async function pathPairs(s: ClientSession, projection: Projection, arg: string, o: DiffFlags): Promise<Pair[]> {
  const p = mustSyncPath(arg.replace(/^\.\//, ''));
  const st = projection.get(p);
  const history = st === undefined ? [] : [...st.versions.values()];
  const heads = st === undefined ? [] : computeHeads(st);
  if (o.from === undefined && o.to === undefined && heads.length > 1) return conflictPairs(s.store, st!, heads);
  const synced = (await s.index.getManifest()).get(p)?.version ?? heads[0]?.id;
  const fromId = o.from ?? synced;
  if (fromId === undefined)
    throw new BmError(ErrorCode.notFound, `${p} has no version in the log`, `see \`${logCommand()}\` for the paths it holds`);
  const from = await versionSide(s.store, findVersion(history, fromId.toUpperCase(), p));
  const to = o.to === undefined ? await localSide(s, p) : await versionSide(s.store, findVersion(history, o.to.toUpperCase(), p));
  return [{ from, to }];
}

/** An open conflict: each head against the heads' common ancestor (or against nothing, when there is none). */
async function conflictPairs(
  store: ObjectStore,
  st: NonNullable<ReturnType<Projection['get']>>,
  heads: readonly VersionRecord[],
): Promise<Pair[]> {
  const found = computeMergeBase(st, heads);
  const base: Side =
    found.kind === 'base'
      ? await versionSide(store, found.base)
      : { label: `(no common ancestor: ${found.kind})`, version: null, bytes: null };
  const out: Pair[] = [];
  for (const h of heads) out.push({ from: base, to: await versionSide(store, h) });
  return out;
}

/** Pure: the unified diff of a pair, or that it is binary. */
function computeDiff(pair: Pair) {
  const { from, to } = pair;
  const a = from.bytes === null ? '' : computeText(from.bytes);
  const b = to.bytes === null ? '' : computeText(to.bytes);
  const head = { from: from.label, to: to.label, fromVersion: from.version, toVersion: to.version };
  if (a === null || b === null)
    return {
      ...head,
      binary: true,
      same: Buffer.compare(from.bytes ?? Buffer.alloc(0), to.bytes ?? Buffer.alloc(0)) === 0,
      hunks: [],
      text: '',
    };
  const hunks = structuredPatch(from.label, to.label, a, b).hunks;
  return { ...head, binary: false, same: a === b, hunks, text: createTwoFilesPatch(from.label, to.label, a, b).trimEnd() };
}
