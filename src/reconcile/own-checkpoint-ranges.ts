import type { KeyObject } from 'node:crypto';
import { EncodedPaths, encodeWriterCheckpointParts } from '../events/checkpoint-parts.js';
import type { WriterCheckpointBody, WriterPath } from '../events/checkpoint-schema.js';
import type { SegmentBody } from '../events/schema.js';
import type { SyncPath } from '../events/sync-path.js';
import {
  computePreviousVersions,
  OwnLogSummary,
  WriterCheckpointBuilder,
  type CheckpointFacts,
} from '../projections/compute-writer-checkpoint.js';
import type { PathState } from '../projections/project-paths.js';
import type { VersionRecord } from '../projections/version-record.js';

/*
 * A writer's checkpoint of its own log computed and encoded a range of paths at a time
 * (ADR-0014's checkpoint, ADR-0029): from the index's per-path rows instead of a fold of the
 * whole log, so that a sync that writes one holds one range's states and entries, not every
 * path's (a lazy sync at 100,000 files used to fold everything for it: 540 MB).
 */

/** Paths a range holds (as the first sync's stages, ADR-0011). */
export const CHECKPOINT_RANGE_PATHS = 2000;

/** Where a checkpoint computed in ranges reads from: the local index, as it stands after the sync's last commit. */
export interface CheckpointSources {
  /** The writer's own segments after the previous checkpoint, up to its latest, in seq order. */
  own(): AsyncIterable<SegmentBody>;
  /** Every path with a folded state, once each, ascending in UTF-8 byte order (`SyncIndex.iterateStatePaths`). */
  paths(): AsyncIterable<string>;
  /** The folded states of the paths in [from, to) (open ends where undefined). */
  readRange(from: string | undefined, to: string | undefined): Promise<ReadonlyMap<SyncPath, PathState>>;
  /** The folded states of these paths. */
  readStates(paths: Iterable<string>): Promise<ReadonlyMap<SyncPath, PathState>>;
}

/** A checkpoint computed in ranges, encoded and signed. */
export interface RangedCheckpoint {
  readonly bytes: Uint8Array;
  readonly seq: number;
  readonly paths: number;
  readonly versions: number;
  readonly claims: number;
  /** The writers whose versions its claims are about. */
  readonly owners: readonly string[];
  readonly relies: WriterCheckpointBody['relies'];
}

/**
 * Paths whose UTF-16 order (the checkpoint's, `Array.prototype.sort`) may differ from their
 * UTF-8 byte order (the index's): those with a code unit at or above U+D800.
 */
const OUT_OF_BYTE_ORDER = /[\uD800-\uFFFF]/;

/** The own segments: the summary of all, and the one at `seq` the checkpoint stands on. */
async function readOwnSummary(sources: CheckpointSources, previous: WriterCheckpointBody | undefined, seq: number) {
  const own = new OwnLogSummary(previous);
  let segment: SegmentBody | undefined;
  for await (const s of sources.own()) {
    own.add(s);
    if (s.seq === seq) segment = s;
  }
  return { own, segment };
}

/** The writer's own versions since its previous checkpoint at the paths of `states`. */
function computeOwnVersions(states: ReadonlyMap<SyncPath, PathState>, facts: CheckpointFacts): VersionRecord[] {
  const after = facts.previous?.seq ?? 0;
  const out: VersionRecord[] = [];
  for (const st of states.values())
    for (const v of st.versions.values()) if (v.client === facts.client && v.seq > after && v.seq <= facts.segment.seq) out.push(v);
  return out;
}

/**
 * The writer's checkpoint at its own segment `seq`, computed a range of paths at a time and
 * encoded as it goes: the same bytes `encodeWriterCheckpoint(computeWriterCheckpoint(...))`
 * gives from the whole fold (property-tested). Undefined when some path's UTF-16 order may
 * differ from the index's order (a character at or above U+D800): the caller then computes it
 * from the whole fold.
 */
export async function computeCheckpointInRanges(
  facts: Omit<CheckpointFacts, 'segment'> & { readonly seq: number },
  sources: CheckpointSources,
  key: KeyObject,
  rangePaths = CHECKPOINT_RANGE_PATHS,
): Promise<RangedCheckpoint | undefined> {
  const previous = facts.previous?.paths ?? [];
  if (previous.some((e) => OUT_OF_BYTE_ORDER.test(e.path))) return undefined;
  const { own, segment } = await readOwnSummary(sources, facts.previous, facts.seq);
  if (segment === undefined) throw new Error(`own segment ${facts.seq} is not in the index`);
  const full: CheckpointFacts = {
    ...facts,
    segment: { seq: segment.seq, time: segment.time, seen: segment.seen, events: segment.events.length },
  };
  const builder = new WriterCheckpointBuilder(full);
  const encoded = new EncodedPaths();
  let next = 0;
  const addRange = async (from: string | undefined, to: string | undefined) => {
    const states = await sources.readRange(from, to);
    const before: WriterPath[] = [];
    for (; next < previous.length && (to === undefined || previous[next]!.path < to); next++) before.push(previous[next]!);
    const candidates = [...before.flatMap((e) => computePreviousVersions(facts.previous!, e)), ...computeOwnVersions(states, full)];
    encoded.add(builder.addRange(states, candidates, before), full.segment.seq);
  };
  let batch: string[] = [];
  let from: string | undefined;
  for await (const p of sources.paths()) {
    if (OUT_OF_BYTE_ORDER.test(p)) return undefined;
    if (batch.length >= rangePaths) {
      await addRange(from, p);
      [from, batch] = [p, []];
    }
    batch.push(p);
  }
  await addRange(from, undefined);
  const rest = builder.finish(own, await sources.readStates(own.collectedPaths(facts.previous)));
  const paths = encoded.count;
  const bytes = encodeWriterCheckpointParts(rest, encoded, key);
  return {
    bytes,
    seq: full.segment.seq,
    paths,
    versions: builder.versions,
    claims: builder.claims,
    owners: [...builder.owners].sort(),
    relies: rest.relies,
  };
}
