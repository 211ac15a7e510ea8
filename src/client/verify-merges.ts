import { readContent as readStoredContent } from '../events/packs.js';
import { keyOfSegment } from '../events/layout.js';
import type { FetchedSegment } from '../events/log.js';
import type { ContentRef, PutEvent } from '../events/schema.js';
import { sha256Hex } from '../events/signing.js';
import type { ObjectStore } from '../events/store/object-store.js';
import { collectChunks } from '../events/store/lent-chunks.js';
import { computeMerge } from '../merge/compute-merge.js';
import { MergeAlgo } from '../merge/merge-policy.js';
import { isBmError } from '../errors.js';
import type { Finding } from './verify-remote.js';

/*
 * `verify` for merges (ADR-0020): a merge put's bytes are a pure function of its recorded
 * base, parents and algorithm, so they are recomputed from those versions' blobs and compared.
 * A merge whose bytes differ, whose parents are not in canonical order, or that names a version
 * or algorithm this bm-log does not know is reported. (Blobs a GC collected cannot be read:
 * such a merge is not checked, as a collected blob is not missing.)
 */

/** A merge put and where it was published. */
interface MergeAt {
  readonly event: PutEvent & { merge: NonNullable<PutEvent['merge']> };
  readonly object: string;
}

/** Every merge put in `segments`, and the content of every version they hold (null: a delete). */
function collectMerges(segments: readonly FetchedSegment[]): { merges: MergeAt[]; contents: Map<string, ContentRef | null> } {
  const merges: MergeAt[] = [];
  const contents = new Map<string, ContentRef | null>();
  for (const seg of segments) {
    for (const e of seg.segment.body.events) {
      if (e.type === 'put' || e.type === 'resolve') contents.set(e.id, e.content);
      else if (e.type === 'tombstone') contents.set(e.id, null);
      if (e.type === 'put' && e.merge !== undefined)
        merges.push({ event: e as MergeAt['event'], object: keyOfSegment(seg.client, seg.seq) });
    }
  }
  return { merges, contents };
}

/** Recomputes every merge in `segments` and reports those that do not give their bytes. */
export async function verifyMerges(store: ObjectStore, segments: readonly FetchedSegment[]): Promise<Finding[]> {
  const { merges, contents } = collectMerges(segments);
  const findings: Finding[] = [];
  for (const m of merges) {
    const problem = await computeMergeProblem(store, m.event, contents);
    if (problem !== undefined)
      findings.push({ object: m.object, code: 'merge-mismatch', message: `merge ${m.event.id} of ${m.event.path}: ${problem}` });
  }
  return findings;
}

async function readContent(store: ObjectStore, c: ContentRef): Promise<Uint8Array | undefined> {
  try {
    const bytes = await collectChunks(await readStoredContent(store, c));
    return sha256Hex(bytes) === c.hash ? bytes : undefined;
  } catch (e) {
    if (isBmError(e)) return undefined;
    throw e;
  }
}

/** Why a merge's bytes are not what its record gives (undefined: they are, or they cannot be read). */
async function computeMergeProblem(
  store: ObjectStore,
  e: MergeAt['event'],
  contents: ReadonlyMap<string, ContentRef | null>,
): Promise<string | undefined> {
  const { base, parents, algo } = e.merge;
  if (algo !== MergeAlgo.lines && algo !== MergeAlgo.markdown) return `algorithm ${algo} is unknown to this bm-log (upgrade bm-log)`;
  const named = [...(base === null ? [] : [base]), ...parents];
  const missing = named.filter((id) => !contents.has(id));
  if (missing.length > 0) return `names version(s) no log holds: ${missing.join(', ')}`;
  if (parents.some((p) => contents.get(p) === null)) return 'a parent is a delete';
  const baseRef = base === null ? null : contents.get(base)!;
  const baseBytes = baseRef === null ? null : await readContent(store, baseRef);
  const heads = await Promise.all(parents.map(async (p) => ({ version: p, bytes: await readContent(store, contents.get(p)!) })));
  if (baseBytes === undefined || heads.some((h) => h.bytes === undefined)) return undefined; // unreadable: reported as a blob finding
  const out = computeMerge(algo, baseBytes, heads as { version: string; bytes: Uint8Array }[]);
  if (out.kind === 'conflict') return `its parents do not merge (${out.reason}: ${out.detail})`;
  if (out.parents.join() !== parents.join()) return 'its parents are not in canonical order';
  const hash = sha256Hex(out.bytes);
  return hash === e.content.hash ? undefined : `its bytes (sha256 ${e.content.hash}) are not the merge of its parents (sha256 ${hash})`;
}
