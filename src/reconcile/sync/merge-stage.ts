import { BmError, ErrorCode, isBmError } from '../../errors.js';
import { readContent } from '../../events/packs.js';
import { sha256Hex } from '../../events/signing.js';
import type { ObjectStore } from '../../events/store/object-store.js';
import { collectChunks } from '../../events/store/lent-chunks.js';
import type { SyncPath } from '../../events/sync-path.js';
import { DEFAULT_MERGE_POLICY, type MergePolicy } from '../../merge/merge-policy.js';
import type { Projection } from '../../projections/project-paths.js';
import type { VaultState } from '../../projections/project-vault.js';
import type { VersionRecord } from '../../projections/version-record.js';
import { ConflictKind, type ConflictNote } from '../conflict-notes.js';
import { computeHeadKey, computeMergeCandidate, computePathMerge, isMergeOf, type MergeCandidate, type PathMerge } from '../path-merge.js';

/*
 * The merge stage (ADR-0020): for each path a plan found with concurrent heads, the bytes of
 * its heads and their common ancestor are read from the remote (each checked against its hash)
 * and merged by the pure `computePathMerge`. The planner then plans the path again with the
 * outcome as one more input: a merge op, or the conflict as before with why it did not merge.
 */

/**
 * The merge policy of a vault (ADR-0020, ADR-0037): the `settings.merge` of the config event in
 * effect (the vault fold keeps the first by `compareConfigs`, counted only when its writer may
 * publish one), else the default. Never a per-client setting.
 */
export function computeVaultMergePolicy(vault: Pick<VaultState, 'config'>): MergePolicy {
  return vault.config?.settings.merge ?? DEFAULT_MERGE_POLICY;
}

/** What the stage reads from: the remote and the projection the plan was made from. */
export interface MergeSource {
  readonly store: ObjectStore;
  readonly projection: Projection;
  readonly policy: MergePolicy;
}

/**
 * Merges the heads of every conflict in `conflicts` that `merges` has no outcome for yet (for
 * those very heads), recording each outcome in `merges`. Returns the paths with a new outcome:
 * the ones to plan again.
 */
export async function computeMerges(
  src: MergeSource,
  conflicts: readonly ConflictNote[],
  merges: Map<string, PathMerge>,
): Promise<SyncPath[]> {
  const fresh: SyncPath[] = [];
  for (const note of conflicts) {
    if (note.kind !== ConflictKind.concurrentEdits && note.kind !== ConflictKind.editVersusDelete) continue;
    const had = merges.get(note.path);
    if (had !== undefined && isMergeOf(had, note.heads)) continue;
    const state = src.projection.get(note.path);
    if (state === undefined) continue;
    const candidate = computeMergeCandidate(note.path, state, note.heads, src.policy);
    merges.set(note.path, 'kind' in candidate ? candidate : await readAndMerge(src, candidate));
    fresh.push(note.path);
  }
  return fresh;
}

/** The candidate's bytes from the remote, merged; refused as 'unavailable' when a blob is missing or corrupt. */
async function readAndMerge(src: MergeSource, c: MergeCandidate): Promise<PathMerge> {
  try {
    const base = c.base?.content == null ? null : await readVerified(src.store, c.base);
    const heads = await Promise.all(c.heads.map((h) => readVerified(src.store, h)));
    return computePathMerge(c, src.policy, base, heads);
  } catch (e) {
    if (!isBmError(e, ErrorCode.blobMissing, ErrorCode.blobCorrupt)) throw e;
    return {
      kind: 'refused',
      heads: c.heads.map((h) => h.id).sort(),
      reason: 'unavailable',
      detail: `a version's bytes could not be read (${e.code})`,
    };
  }
}

/** A version's bytes, checked against its content hash. */
async function readVerified(store: ObjectStore, v: VersionRecord): Promise<Uint8Array> {
  const content = v.content!;
  const bytes = await collectChunks(await readContent(store, content));
  if (bytes.byteLength !== content.size || sha256Hex(bytes) !== content.hash) {
    throw new BmError(ErrorCode.blobCorrupt, `blob ${content.hash} does not match its hash`, 'not merged; run `bm-log verify`');
  }
  return bytes;
}

/**
 * Pure: `conflicts` with why each was not merged, where `merges` has a refusal for exactly its
 * heads. For the report only: the plan itself never carries it, so that a plan focused on an
 * earlier one equals a full plan whatever merges either had computed.
 */
export function computeConflictsWithReasons(conflicts: readonly ConflictNote[], merges: ReadonlyMap<string, PathMerge>): ConflictNote[] {
  return conflicts.map((note) => {
    const m = merges.get(note.path);
    if (m?.kind !== 'refused' || note.heads.length < 2 || !isMergeOf(m, note.heads)) return note;
    return { ...note, notMerged: m.reason, notMergedDetail: m.detail };
  });
}

/**
 * Takes the refusals a report's conflicts carry (an earlier sync's clean-state record) as merge
 * outcomes for those very heads, so that a sync that does not read those paths again (a lazy
 * one) still reports why they were not merged. A refusal applies only while the heads are the same.
 */
export function rememberRefusals(merges: Map<string, PathMerge>, conflicts: readonly ConflictNote[]): void {
  for (const c of conflicts) {
    if (c.notMerged === undefined || merges.has(c.path)) continue;
    merges.set(c.path, { kind: 'refused', heads: computeHeadKey(c.heads), reason: c.notMerged, detail: c.notMergedDetail ?? c.notMerged });
  }
}
