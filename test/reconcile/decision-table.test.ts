/**
 * The ADR-0001 decision table tested row by row against the table function itself
 * (`decidePath`, src/reconcile/decide-path.ts): one golden per row in test/reconcile/table/,
 * named as the row's scenario (test/reconcile/scenarios/ runs the same row through whole
 * syncs). Each golden holds one or more cases: one path's base row, local file and cloud
 * versions, in a short notation, and the ops, conflicts and notices the table gives.
 *
 *   "versions": ["v1 a put one", "v2 b tombstone replaces v1", "v3 a resolve - replaces v1 v2"]
 *       every version of the path, in publishing order (a later one has the larger clock);
 *       content is a label standing for the bytes (its hash); "resolve -" deletes
 *   "base": {"file": "one", "version": "v1", "heads": ["v1"]}   the base row (absent: none)
 *   "local": "two"             the file here now (absent: none); "two@755" sets the mode
 *   "copies": [{"version": "v2", "local": "two"}]   tracked conflict copies (local absent: deleted)
 *   "files": {"p": "x"}        other local files; "collected": ["v1"] versions a GC collected
 *   "move": {"from": "p", "to": "q", "version": "v1"}   a move this client made (the move stage's pair)
 *   "follow": {"heads": [...], "to": "q", "edit": "v3", "content": "x", "beside": true}   where the
 *       move stage sends an edit that met a move (ADR-0020); "v2 a tombstone to=q replaces v1" is a move's tombstone
 *   "folderHere", "blocked", "ignored" (path prefixes), "unreadable", "subscriptions",
 *   "untrackedCopyNames": what the table reads around the path (PathSurroundings)
 *
 * Golden mode: `UPDATE_GOLDEN=1 npx vitest run test/reconcile/decision-table.test.ts` rewrites
 * every `expect` from what the code does now; review the diff: a golden is a decision.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ClientId, ContentHash, VersionId } from '../../src/events/ids.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { collectPath, emptyPathState, evolvePath, type PathState } from '../../src/projections/project-paths.js';
import type { VersionRecord } from '../../src/projections/version-record.js';
import type { BaseEntry } from '../../src/reconcile/ports.js';
import { computeConflictCopyPath } from '../../src/reconcile/conflict-copy-name.js';
import { decidePath, type PathDecision, type PathSurroundings } from '../../src/reconcile/decide-path.js';
import type { LocalFile } from '../../src/reconcile/ports.js';
import type { PathFollow } from '../../src/reconcile/path-follow.js';
import type { MergeRefusal, PathMerge } from '../../src/reconcile/path-merge.js';
import type { LocalMove } from '../../src/reconcile/plan.js';
import type { PlanOp } from '../../src/reconcile/plan-sync.js';

interface Case {
  readonly path: string;
  readonly versions?: string[];
  readonly collected?: string[];
  readonly base?: { readonly file: string; readonly version: string | null; readonly heads: string[] };
  readonly local?: string;
  readonly copies?: { readonly version: string; readonly local?: string }[];
  readonly files?: Record<string, string>;
  readonly folderHere?: boolean;
  readonly blocked?: string[];
  readonly ignored?: string[];
  readonly unreadable?: string[];
  readonly subscriptions?: string[];
  readonly untrackedCopyNames?: boolean;
  /** The merge stage's outcome for the heads `heads`: merged into `bytes` from `base`, or refused for `refused`. */
  readonly merge?: { readonly heads: string[]; readonly base?: string; readonly bytes?: string; readonly refused?: string };
  /** A move this client made, paired by the move stage (ADR-0020). */
  readonly move?: { readonly from: string; readonly to: string; readonly version: string };
  /** The move stage's outcome for an edit that met a move of the path (ADR-0020). */
  readonly follow?: {
    readonly heads: string[];
    readonly to: string;
    readonly toHeads?: string[];
    readonly edit: string;
    /** What the old name's tombstone replaces (default: every head). */
    readonly ends?: string[];
    readonly content: string;
    readonly beside?: boolean;
  };
  expect?: { ops: string[]; conflicts: string[]; notices: string[] };
}

interface Golden {
  readonly row: string;
  readonly self: string;
  readonly cases: Case[];
}

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.join(here, 'table');
const adrFile = path.join(here, '..', '..', 'docs', 'adr', '0001-reconcile-decision-table.md');
const updateGolden = process.env['UPDATE_GOLDEN'] === '1';
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();

/** "two" or "two@755": a label standing for the bytes (used as their hash) and the mode. */
function parseContent(label: string): { hash: string; size: number; mode: number } {
  const [hash, mode] = label.split('@') as [string, string | undefined];
  return { hash, size: hash.length, mode: mode === undefined ? 0o644 : parseInt(mode, 8) };
}

function makeFile(p: string, label: string): LocalFile {
  return { path: p as SyncPath, ...parseContent(label), mtimeMs: 1, ino: 1 };
}

/** "v2 b put two replaces v1": the version's id, writer, type, content and replaces. */
function parseVersion(p: string, text: string, seq: number): VersionRecord {
  const [id, client, type, ...words] = text.split(' ') as [string, string, string, ...string[]];
  const to = words.find((w) => w.startsWith('to='))?.slice(3);
  const rest = words.filter((w) => !w.startsWith('to='));
  const at = rest.indexOf('replaces');
  const replaces = (at < 0 ? [] : rest.slice(at + 1)) as VersionId[];
  const label = type === 'tombstone' ? undefined : rest[0];
  if (type !== 'put' && type !== 'resolve' && type !== 'tombstone') throw new Error(`unknown version type in ${text}`);
  const content = label === undefined || label === '-' ? null : { ...parseContent(label), hash: parseContent(label).hash as ContentHash };
  return {
    id: id as VersionId,
    path: p as SyncPath,
    type,
    client: client as ClientId,
    seq,
    time: '',
    replaces,
    content,
    seen: {},
    snapshot: null,
    ...(to === undefined ? {} : { to: to as SyncPath }),
  };
}

function computeCloud(c: Case): { state: PathState | undefined; byId: Map<string, VersionRecord> } {
  const byId = new Map<string, VersionRecord>();
  if (c.versions === undefined) return { state: undefined, byId };
  let state = emptyPathState;
  c.versions.forEach((text, i) => {
    const v = parseVersion(c.path, text, i + 1);
    byId.set(v.id, v);
    state = evolvePath(state, v);
  });
  if (c.collected !== undefined) state = collectPath(state, c.collected as VersionId[]);
  return { state, byId };
}

function makeBase(p: string, label: string, version: string | null, heads: string[], copyOf?: BaseEntry['copyOf']): BaseEntry {
  const f = makeFile(p, label);
  const row = {
    path: f.path,
    hash: f.hash,
    size: f.size,
    mode: f.mode,
    mtimeMs: 1,
    ino: 1,
    heads: heads as VersionId[],
    version: version as VersionId | null,
  };
  return copyOf === undefined ? row : { ...row, copyOf };
}

function runCase(self: string, c: Case): PathDecision {
  const p = c.path as SyncPath;
  const { state, byId } = computeCloud(c);
  const localFiles = new Map<string, LocalFile>(Object.entries(c.files ?? {}).map(([fp, label]) => [fp, makeFile(fp, label)]));
  if (c.local !== undefined) localFiles.set(p, makeFile(p, c.local));
  const copies = (c.copies ?? []).map((copy) => {
    const v = byId.get(copy.version);
    if (v?.content == null) throw new Error(`copy of ${copy.version}: no live version with that id`);
    const cp = computeConflictCopyPath(p, v.client, v.id);
    if (copy.local !== undefined) localFiles.set(cp, makeFile(cp, copy.local));
    return makeBase(cp, v.content.hash, v.id, [v.id], { path: p, version: v.id });
  });
  const tracked = new Set<string>(copies.map((b) => b.path));
  if (c.base !== undefined) tracked.add(p);
  const isUnderAny = (q: string, list: readonly string[] | undefined) => (list ?? []).some((u) => q === u || q.startsWith(`${u}/`));
  const s: PathSurroundings = {
    options: {
      subscriptions: c.subscriptions ?? [],
      isIgnored: (q) => isUnderAny(q, c.ignored),
      clientName: (client) => client,
      self,
    },
    unreadable: c.unreadable ?? [],
    localFile: (q) => localFiles.get(q),
    isTracked: (q) => tracked.has(q),
    isBlocked: (q) => (c.blocked ?? []).includes(q),
    hasUntrackedCopyNames: c.untrackedCopyNames ?? false,
    mergeOf: (q) => (q === p && c.merge !== undefined ? makeMerge(c.merge) : undefined),
    moveOf: (q) => (c.move !== undefined && (q === c.move.from || q === c.move.to) ? makeMove(c.move) : undefined),
    followOf: (q) => (q === p && c.follow !== undefined ? makeFollow(c.follow) : undefined),
  };
  const base = c.base === undefined ? undefined : makeBase(p, c.base.file, c.base.version, c.base.heads);
  return decidePath({ path: p, base, local: localFiles.get(p), cloud: state, copies, folderHere: c.folderHere ?? false }, s);
}

/** A merge stage outcome in the golden's notation: bytes are a label, as file contents are. */
function makeMerge(m: NonNullable<Case['merge']>): PathMerge {
  const heads = [...m.heads].sort() as VersionId[];
  if (m.bytes === undefined)
    return { kind: 'refused', heads, reason: (m.refused ?? 'overlap') as MergeRefusal, detail: m.refused ?? 'overlap' };
  const content = { ...parseContent(m.bytes), hash: m.bytes as ContentHash };
  const record = { base: (m.base ?? null) as VersionId | null, parents: heads, algo: 'lines/1' };
  return { kind: 'merged', heads, content, bytes: new TextEncoder().encode(m.bytes), record };
}

function makeMove(m: NonNullable<Case['move']>): LocalMove {
  const [from, to] = [m.from as SyncPath, m.to as SyncPath];
  return { from, to, fromVersion: { path: from, version: m.version as VersionId } };
}

function makeFollow(f: NonNullable<Case['follow']>): PathFollow {
  return {
    kind: 'follow',
    heads: [...f.heads].sort() as VersionId[],
    to: f.to as SyncPath,
    toHeads: (f.toHeads ?? []) as VersionId[],
    edit: f.edit as VersionId,
    ends: [...(f.ends ?? f.heads)].sort() as VersionId[],
    content: { ...parseContent(f.content), hash: f.content as ContentHash },
    bytes: null,
    replacesTarget: f.beside !== true,
  };
}

function formatOp(op: PlanOp): string {
  switch (op.kind) {
    case 'follow': {
      const f = op.follow;
      const where = f.replacesTarget ? `replacing ${f.toHeads.join(',') || 'nothing'}` : 'beside its head';
      return `follow ${op.path} to ${f.to} ${f.content.hash} (edit ${f.edit}, ${where}) replaces ${f.ends.join(',')}`;
    }
    case 'merge':
      return `merge ${op.path} ${op.merge.content.hash} replaces ${op.merge.heads.join(',')} expect ${op.expect === null ? '(absent)' : op.expect.hash}`;
    case 'upload':
      return `upload ${op.path} ${op.file.hash}${formatReplaces(op.replaces)}${op.from === undefined ? '' : ` from ${op.from.path}@${op.from.version}`}`;
    case 'tombstone':
      return `tombstone ${op.path}${formatReplaces(op.replaces)}${op.to === undefined ? '' : ` to ${op.to}`}`;
    case 'resolve':
      return `resolve ${op.path} ${op.file === null ? '(delete)' : op.file.hash}${formatReplaces(op.replaces)}`;
    case 'download':
      return `download ${op.path} ${op.version.id} expect ${op.expect === null ? '(absent)' : op.expect.hash}`;
    case 'deleteLocal':
      return `deleteLocal ${op.path} expect ${op.expect.hash}${op.version === null ? '' : ` (${op.version.id})`}`;
    case 'writeCopy':
      return `writeCopy ${op.path} ${op.version.id} of ${op.of}`;
    case 'removeCopy':
      return `removeCopy ${op.path} expect ${op.expect.hash}`;
    case 'record':
      return `record ${op.path} ${op.version} heads ${op.heads.join(',')}${op.copyOf === undefined ? '' : ` copy of ${op.copyOf}`}`;
    case 'forget':
      return `forget ${op.path}`;
  }
}

function formatReplaces(ids: readonly string[]): string {
  return ids.length === 0 ? ' replaces nothing' : ` replaces ${ids.join(',')}`;
}

function formatDecision(d: PathDecision): NonNullable<Case['expect']> {
  return {
    ops: d.ops.map(formatOp),
    conflicts: d.conflicts.map(
      (c) =>
        `${c.kind} ${c.path}${c.heads.length > 0 ? `: ${c.heads.map((h) => h.id).join(' > ')}` : ''}${c.notMerged === undefined ? '' : ` (not merged: ${c.notMerged})`}`,
    ),
    notices: d.notices.map((n) => `${n.reason} ${n.path}`),
  };
}

describe('the ADR-0001 decision table, row by row against decidePath (goldens in test/reconcile/table)', () => {
  it.each(files)('%s', (file) => {
    const full = path.join(dir, file);
    const golden = JSON.parse(readFileSync(full, 'utf8')) as Golden;
    expect(golden.cases.length, 'a golden with no case').toBeGreaterThan(0);
    for (const c of golden.cases) {
      const actual = formatDecision(runCase(golden.self, c));
      if (updateGolden) c.expect = actual;
      else expect(actual, `${file}: ${c.path}`).toEqual(c.expect);
    }
    if (updateGolden) writeFileSync(full, `${JSON.stringify(golden, null, 2)}\n`);
  });

  it('every row of the ADR-0001 table has a table golden here, and every golden is a row', () => {
    const adr = readFileSync(adrFile, 'utf8');
    const named = new Set([...adr.matchAll(/(?:scenarios|table)\/([a-z0-9-]+\.json)/g)].map((m) => m[1]!));
    expect(
      [...named].filter((f) => !files.includes(f)),
      'rows without a table golden',
    ).toEqual([]);
    expect(
      files.filter((f) => !named.has(f)),
      'table goldens the ADR does not name',
    ).toEqual([]);
  });
});
