import { openCountedHistory } from '../reconcile/member-state.js';
import type { LocalSession } from '../client/client-session.js';
import { clientNames, loadProjection } from '../client/client-queries.js';
import { describeConflict, describeFault, describeVersion } from '../client/describe-records.js';
import type { SyncPath } from '../events/sync-path.js';
import { computeHeads } from '../projections/project-paths.js';
import type { VersionRecord } from '../projections/version-record.js';
import { pathArg } from '../client/hints.js';
import { shellCommand } from '../client/human-text.js';
import type { MergePolicy } from '../merge/merge-policy.js';
import type { Projection } from '../projections/project-paths.js';
import { computeOpenConflicts, type ConflictNote } from '../reconcile/conflict-notes.js';
import { computeMergeCandidate } from '../reconcile/path-merge.js';
import { computeVaultMergePolicy } from '../reconcile/sync/merge-stage.js';
import type { SyncReport } from '../reconcile/run-sync.js';
import { readPathState } from './note-io.js';

/*
 * The API's reads of a client's own records (no remote request): open conflicts, history,
 * status; and the small summary of a sync it hands back.
 */

/** One version of a path, as history and conflicts list it. */
export type VersionInfo = ReturnType<typeof describeVersion> & { readonly path: string };
/** An open conflict: its heads (the winner first) and the conflict copies they leave. */
export type ConflictInfo = ReturnType<typeof describeConflict>;

/** What one sync did, small: counts, open conflicts, what it could not do. */
export interface SyncSummary {
  readonly eventsPublished: number;
  readonly applied: Readonly<Record<string, number>>;
  readonly conflicts: readonly string[];
  readonly skipped: readonly { readonly path: string; readonly detail: string }[];
  readonly faults: readonly ReturnType<typeof describeFault>[];
}

/** Pure: a sync report as the API hands it back. */
export function summarizeSync(r: SyncReport): SyncSummary {
  const applied = Object.fromEntries(Object.entries(r.appliedCounts).filter(([, n]) => n > 0));
  return {
    eventsPublished: r.eventsPublished,
    applied,
    conflicts: r.conflicts.map((c) => c.path),
    skipped: r.skipped.map((k) => ({ path: k.path, detail: k.detail })),
    faults: r.faults.map(describeFault),
  };
}

/**
 * Why a conflict's heads were not merged, from the log alone (no bytes are read, so this works
 * offline): the policy, a delete, the size, the ancestry or the modes; otherwise their lines
 * (overlapping or adjacent changes, or not text: a sync reports which).
 */
function withMergeReason(c: ConflictNote, projection: Projection, policy: MergePolicy): ConflictNote {
  const st = projection.get(c.path);
  if (c.heads.length < 2 || st === undefined || c.kind === 'file-versus-folder') return c;
  const r = computeMergeCandidate(c.path, st, c.heads, policy);
  const why =
    'kind' in r && r.kind === 'refused'
      ? { notMerged: r.reason, notMergedDetail: r.detail }
      : {
          notMerged: 'content' as const,
          notMergedDetail: `the versions overlap or are not text (\`${shellCommand(['diff', pathArg(c.path)])}\` shows each against their ancestor)`,
        };
  return { ...c, ...why };
}

/** The open conflicts the log shows, sorted by path (as `bm-log conflicts` lists them). */
export async function listConflicts(s: Pick<LocalSession, 'index'>): Promise<ConflictInfo[]> {
  const { projection, state } = await loadProjection(s);
  const names = await clientNames(s);
  const policy = computeVaultMergePolicy(state.vault);
  return computeOpenConflicts(projection).map((c) => describeConflict(withMergeReason(c, projection, policy), names));
}

/** The heads of `p` now, winner first. */
export async function listHeads(s: Pick<LocalSession, 'index'>, p: SyncPath): Promise<string[]> {
  const st = await readPathState(s, p);
  return st ? computeHeads(st).map((h) => h.id) : [];
}

/** The versions of `p` (every path's, without one), newest first, at most `limit` (default 100). */
export async function listHistory(s: Pick<LocalSession, 'index'>, p: SyncPath | undefined, limit = 100): Promise<VersionInfo[]> {
  const versions: VersionRecord[] = p !== undefined ? await openCountedHistory(s.index)(p) : (await loadProjection(s)).versions;
  const names = await clientNames(s);
  const newest = [...versions].sort((a, b) => (a.time === b.time ? (a.id < b.id ? 1 : -1) : a.time < b.time ? 1 : -1));
  return newest.slice(0, limit).map((v) => ({ ...describeVersion(v, names), path: v.path }));
}
