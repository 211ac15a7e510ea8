import { createHash } from 'node:crypto';
import { ErrorCode } from '../errors.js';
import type { ContentHash } from '../events/ids.js';
import { keyOfBlob, VAULT_KEY } from '../events/layout.js';
import type { FetchedSegment } from '../events/log.js';
import { computeEventContent, type ContentRef } from '../events/schema.js';
import { computePackCollectHash, keyOfContent } from '../events/packs.js';
import { createLogState, projectLogSegment, type LogState } from '../projections/project-log.js';
import { isCovered } from '../projections/project-vault.js';
import { computeVaultFinding, parseRemotePins, REMOTE_PINS_KEY } from '../reconcile/remote-check.js';
import { executeBlobRepair, isCondemned, planBlobRepair } from '../reconcile/repair-blobs.js';
import { checkPack, computeNamedPacks, executePackRepair, formatPackVersions, planPackRepair, type NamedPack } from './verify-packs.js';
import type { ClientSession } from './client-session.js';
import { pasteable } from './hints.js';

/** One problem `bm-log verify` found. */
export interface Finding {
  readonly object: string;
  readonly code: string;
  readonly message: string;
}

/** The vault marker against the bytes this client pinned (ADR-0015), or against its vault id. */
export async function verifyVaultMarker(s: ClientSession): Promise<Finding[]> {
  const pins = parseRemotePins(await s.index.getMeta<unknown>(REMOTE_PINS_KEY).catch(() => undefined));
  const problem = computeVaultFinding(await s.store.get(VAULT_KEY), pins.vault, s.config.vaultId);
  return problem === undefined ? [] : [{ object: VAULT_KEY, code: problem.code, message: `${problem.message}; ${problem.hint}` }];
}

/** What `verifyBlobs` found and did. */
export interface VerifiedBlobs {
  readonly findings: Finding[];
  /** Blob keys put back (`--repair`). */
  readonly repaired: string[];
  /** Blobs read. */
  readonly checked: number;
}

/**
 * Reads every blob the fetched events name, checking it against its hash. A missing one is a
 * finding unless a recorded GC deleted it or a GC condemned it (ADR-0007: gone on purpose). With
 * `repair`, a missing blob whose bytes a file here still holds is put back (ADR-0015).
 */
export async function verifyBlobs(s: ClientSession, segments: readonly FetchedSegment[], repair: boolean): Promise<VerifiedBlobs> {
  const { hashes, gone, packed } = computeNamedBlobs(segments);
  const packs = await verifyPacks(s, segments, gone, repair);
  const findings: Finding[] = [...packs.findings];
  const missing: ContentHash[] = [];
  for (const h of hashes) {
    const stream = await s.store.getChunks(keyOfBlob(h));
    if (stream === undefined) {
      if (!gone(h)) missing.push(h as ContentHash);
      continue;
    }
    const hash = createHash('sha256');
    for await (const chunk of stream) hash.update(chunk);
    if (hash.digest('hex') === h) continue;
    findings.push({ object: keyOfBlob(h), code: ErrorCode.blobCorrupt, message: `blob ${h} does not hold the bytes its name says` });
  }
  if (missing.length === 0) return { findings, repaired: packs.repaired, checked: hashes.size + packed.length };
  const state = createLogState();
  for (const seg of segments) projectLogSegment(state, seg.segment.body);
  const plan = planBlobRepair(missing, state, await s.index.getManifest());
  const done = repair ? await executeBlobRepair(s.store, s.ctx.tree, plan) : { repaired: [], failed: [] };
  const failed = new Set<string>(done.failed);
  const repairHere = pasteable(['verify', '--repair'], { cwd: process.cwd(), root: s.root });
  for (const b of plan) {
    const object = keyOfBlob(b.hash);
    if (b.kind === 'condemned' || done.repaired.includes(object)) continue;
    const message =
      b.kind === 'restorable' && !failed.has(b.hash)
        ? `blob ${b.hash} named by an event is missing; a file here holds its bytes: \`${repairHere}\` puts it back`
        : `blob ${b.hash} named by an event is missing, and no file here holds its bytes: it cannot be put back from this folder ` +
          '(run `bm-log verify --repair` on a client that still has the file)';
    findings.push({ object, code: ErrorCode.blobMissing, message });
  }
  return { findings, repaired: [...packs.repaired, ...done.repaired], checked: hashes.size + packed.length };
}

/**
 * Reads every pack entry the events name (ADR-0022; each pack's span once), checking each against
 * its hash. A missing pack is a finding, naming the versions it held, unless a GC deleted or
 * condemned it (ADR-0035: gone on purpose); with `repair` it is put back from the files here that
 * hold its entries, and what no file holds is named as lost. A damaged pack names its damaged versions.
 */
async function verifyPacks(
  s: ClientSession,
  segments: readonly FetchedSegment[],
  gone: (hash: string) => boolean,
  repair: boolean,
): Promise<{ findings: Finding[]; repaired: string[] }> {
  const findings: Finding[] = [];
  const repaired: string[] = [];
  let state: LogState | undefined;
  for (const pack of computeNamedPacks(segments).values()) {
    const check = await checkPack(s.store, pack);
    if (check.damaged.length > 0) {
      const message =
        `pack ${pack.key} does not hold the bytes of ${check.damaged.length} entr(y/ies): ${formatPackVersions(check.damaged)}; ` +
        'a pack is create-only and is not rewritten: saving those files again (or `bm-log restore` of another version) makes new versions';
      findings.push({ object: pack.key, code: ErrorCode.blobCorrupt, message });
    }
    if (!check.missing || gone(pack.collectHash)) continue;
    state ??= foldSegments(segments);
    if (isCondemned(pack.collectHash, state)) continue;
    const finding = await repairMissingPack(s, pack, repair);
    if (finding.repaired) repaired.push(pack.key);
    if (finding.message !== null) findings.push({ object: pack.key, code: ErrorCode.blobMissing, message: finding.message });
  }
  return { findings, repaired };
}

/** A missing pack: put back (with `repair`) from this folder's files, and what stays lost. */
async function repairMissingPack(
  s: ClientSession,
  pack: NamedPack,
  repair: boolean,
): Promise<{ repaired: boolean; message: string | null }> {
  const held = `pack ${pack.key} is missing; it held ${formatPackVersions(pack.entries)}`;
  const plan = planPackRepair(pack, await s.index.getManifest());
  if (!repair) {
    const repairHere = pasteable(['verify', '--repair'], { cwd: process.cwd(), root: s.root });
    const here =
      plan.restorable.length === 0
        ? 'no file here holds any of them'
        : `files here hold ${plan.restorable.length} of its ${pack.entries.length} entr(y/ies): \`${repairHere}\` puts them back`;
    return { repaired: false, message: `${held}; ${here}` };
  }
  const lost = await executePackRepair(s.store, s.ctx.tree, pack, plan);
  if (lost === null)
    return {
      repaired: false,
      message: `${held}; no file here holds any of them: they are lost from this folder (run \`bm-log verify --repair\` on a client that still has them)`,
    };
  if (lost.length === 0) return { repaired: true, message: null };
  return {
    repaired: true,
    message: `pack ${pack.key} was put back without ${lost.length} entr(y/ies) no file here holds, now lost: ${formatPackVersions(lost)}`,
  };
}

function foldSegments(segments: readonly FetchedSegment[]): LogState {
  const state = createLogState();
  for (const seg of segments) projectLogSegment(state, seg.segment.body);
  return state;
}

/** Every blob the segments name, and whether a GC recorded deleting one (ADR-0007). */
function computeNamedBlobs(segments: readonly FetchedSegment[]): {
  hashes: Set<string>;
  gone: (hash: string) => boolean;
  packed: ContentRef[];
} {
  const hashes = new Set<string>();
  const packed = new Map<string, ContentRef>();
  const namedBy = new Map<string, { client: string; seq: number }[]>();
  const deletedBy = new Map<string, { client: string; seq: number; seen: Readonly<Record<string, number>> }[]>();
  for (const seg of segments) {
    for (const e of seg.segment.body.events) {
      const content = computeEventContent(e);
      if (content?.pack !== undefined) {
        packed.set(`${keyOfContent(content)}@${content.pack.offset}/${content.hash}`, content);
        const h = computePackCollectHash(content.pack.client, content.pack.id);
        namedBy.set(h, [...(namedBy.get(h) ?? []), { client: seg.client, seq: seg.seq }]);
      } else if (content !== null) {
        hashes.add(content.hash);
        namedBy.set(content.hash, [...(namedBy.get(content.hash) ?? []), { client: seg.client, seq: seg.seq }]);
      }
      if (e.type !== 'gc') continue;
      for (const h of e.deleted)
        deletedBy.set(h, [...(deletedBy.get(h) ?? []), { client: seg.client, seq: seg.seq, seen: seg.segment.body.seen }]);
    }
  }
  // A blob (or pack, by its collect hash: ADR-0035) a GC deleted is expected to be gone, unless an event its deletion had not seen names it.
  const gone = (h: string) => {
    const recs = deletedBy.get(h) ?? [];
    return recs.length > 0 && (namedBy.get(h) ?? []).every((n) => recs.some((r) => isCovered(n.client, n.seq, r)));
  };
  return { hashes, gone, packed: [...packed.values()] };
}
