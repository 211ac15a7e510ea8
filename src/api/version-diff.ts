import { createTwoFilesPatch, structuredPatch } from 'diff';
import { merge as diff3WithMarkers } from 'node-diff3';
import { BmError, ErrorCode } from '../errors.js';
import { readContent } from '../events/packs.js';
import { sha256Hex } from '../events/signing.js';
import type { ObjectStore } from '../events/store/object-store.js';
import { collectChunks } from '../events/store/lent-chunks.js';
import type { SyncPath } from '../events/sync-path.js';
import { computeText } from '../merge/text-content.js';
import { computeMergeBase } from '../projections/merge-base.js';
import { computeHeads } from '../projections/project-paths.js';
import type { VersionRecord } from '../projections/version-record.js';
import type { ClientSession } from '../client/client-session.js';
import { clientNames } from '../client/client-queries.js';
import { describeVersion } from '../client/describe-records.js';
import { readPathState } from './note-io.js';
import { findVersion } from './restore-note.js';

/*
 * Diffs between versions (`bm-log diff`, the web view) made with the `diff` package (jsdiff,
 * ADR-0020), and an open conflict's sides with their common ancestor (the web view, ADR-0030).
 * Every version's bytes are read from its blob and checked against its hash.
 */

/** One side of a diff: its name and bytes (null: absent or deleted). */
export interface Side {
  readonly label: string;
  readonly version: string | null;
  readonly bytes: Uint8Array | null;
}

export interface Pair {
  readonly from: Side;
  readonly to: Side;
}

/** A version's bytes, checked against its hash (a delete: null bytes). */
export async function readVersionSide(store: ObjectStore, v: VersionRecord): Promise<Side> {
  const label = `${v.path}@${v.id}`;
  if (v.content === null) return { label, version: v.id, bytes: null };
  const bytes = await collectChunks(await readContent(store, v.content));
  if (sha256Hex(bytes) !== v.content.hash)
    throw new BmError(ErrorCode.blobCorrupt, `blob ${v.content.hash} does not match its hash`, 'nothing was shown; run `bm-log verify`');
  return { label, version: v.id, bytes };
}

/** One hunk of a unified diff: line numbers and the lines, each prefixed ' ', '-' or '+'. */
export interface DiffHunk {
  readonly oldStart: number;
  readonly oldLines: number;
  readonly newStart: number;
  readonly newLines: number;
  readonly lines: readonly string[];
}

/** One pair of sides compared: their labels and versions (null: the file here, or nothing), and the diff. */
export interface FileDiff {
  readonly from: string;
  readonly to: string;
  readonly fromVersion: string | null;
  readonly toVersion: string | null;
  /** Either side is not text: no hunks, only whether the bytes are the same. */
  readonly binary: boolean;
  readonly same: boolean;
  readonly hunks: readonly DiffHunk[];
  /** The unified diff as text ('' when binary). */
  readonly text: string;
}

/** Pure: the unified diff of a pair, or that it is binary. */
export function computeDiff(pair: Pair): FileDiff {
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
  const hunks = structuredPatch(from.label, to.label, a, b).hunks.map(({ oldStart, oldLines, newStart, newLines, lines }) => ({
    oldStart,
    oldLines,
    newStart,
    newLines,
    lines,
  }));
  return { ...head, binary: false, same: a === b, hunks, text: createTwoFilesPatch(from.label, to.label, a, b).trimEnd() };
}

/** A diff as `computeDiff` makes it. */
export type VersionDiff = FileDiff;

/** The versions of `p` this client knows (a not-found error for none). */
async function mustPathVersions(s: Pick<ClientSession, 'index'>, p: SyncPath): Promise<VersionRecord[]> {
  const st = await readPathState(s, p);
  if (st === undefined) throw new BmError(ErrorCode.notFound, `${p} has no version in the log`, 'pick a path from the timeline');
  return [...st.versions.values()];
}

/** The diff of `p` from version `from` (null: from nothing) to version `to` (ids or their last 8+ characters). */
export async function executeVersionDiff(s: ClientSession, p: SyncPath, from: string | null, to: string): Promise<VersionDiff> {
  const versions = await mustPathVersions(s, p);
  const fromSide: Side =
    from === null
      ? { label: '(nothing)', version: null, bytes: null }
      : await readVersionSide(s.store, findVersion(versions, from.toUpperCase(), p));
  return computeDiff({ from: fromSide, to: await readVersionSide(s.store, findVersion(versions, to.toUpperCase(), p)) });
}

/** One side of an open conflict as the web view shows it: the version, and its text (null: deleted or not text). */
export interface ConflictSide {
  readonly version: ReturnType<typeof describeVersion> | null;
  readonly text: string | null;
  readonly binary: boolean;
}

/** An open conflict's heads (winner first) beside their common ancestor, and a merge of two text heads with markers to edit. */
export interface ConflictSides {
  readonly path: string;
  readonly ancestor: ConflictSide;
  readonly heads: readonly ConflictSide[];
  /** The heads merged line by line from the ancestor, overlapping changes between git-style markers; null when not text. */
  readonly proposal: { readonly text: string; readonly clean: boolean } | null;
}

function toConflictSide(side: Side, v: VersionRecord | null, names: ReadonlyMap<string, string>): ConflictSide {
  const text = side.bytes === null ? null : computeText(side.bytes);
  return { version: v === null ? null : describeVersion(v, names), text, binary: side.bytes !== null && text === null };
}

/** Pure: the first two heads merged from the ancestor with conflict markers (a proposal for a person to edit). */
export function computeMarkedMerge(ancestor: string, a: string, b: string, labels: { a: string; b: string }) {
  const r = diff3WithMarkers(a.split('\n'), ancestor.split('\n'), b.split('\n'), { stringSeparator: '\n', label: labels });
  return { text: (r.result as string[]).join('\n'), clean: !r.conflict };
}

/** The sides of the open conflict at `p`; a not-found error when there is none. */
export async function executeConflictSides(s: ClientSession, p: SyncPath): Promise<ConflictSides> {
  const st = await readPathState(s, p);
  const heads = st === undefined ? [] : computeHeads(st);
  if (st === undefined || heads.length < 2)
    throw new BmError(ErrorCode.notFound, `${p} is not in conflict`, 'the conflict may have been resolved meanwhile: reload the list');
  const names = await clientNames(s);
  const found = computeMergeBase(st, heads);
  const base = found.kind === 'base' ? found.base : null;
  const ancestor = base === null ? { label: '', version: null, bytes: null } : await readVersionSide(s.store, base);
  const sides: ConflictSide[] = [];
  for (const h of heads) sides.push(toConflictSide(await readVersionSide(s.store, h), h, names));
  const [x, y] = sides;
  const o = ancestor.bytes === null ? '' : computeText(ancestor.bytes);
  const proposal =
    x?.text != null && y?.text != null && o !== null
      ? computeMarkedMerge(o, x.text, y.text, { a: heads[0]!.id.slice(-8), b: heads[1]!.id.slice(-8) })
      : null;
  return { path: p, ancestor: toConflictSide(ancestor, base, names), heads: sides, proposal };
}
