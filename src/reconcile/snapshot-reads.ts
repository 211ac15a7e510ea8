import { BmError, ErrorCode } from '../errors.js';
import { keyOfContent, type ContentFallback } from '../events/packs.js';
import type { ContentRef } from '../events/schema.js';
import { sha256Hex } from '../events/signing.js';
import type { SnapshotPort } from '../events/store/snapshot-port.js';
import type { PathState } from '../projections/project-paths.js';
import type { SyncIndex } from './ports.js';
import { readHeldBaseline } from './snapshot-baseline.js';

/*
 * Contents read back from bucket snapshots (ADR-0034 §4, issue 25): a blob or pack a sync had
 * seen that is gone from the live bucket is read from the snapshot this client synced against
 * (its baseline), then from the snapshots other clients recorded when they replaced a version
 * with that content. Read only: nothing is put back here (a restore that names the content
 * again writes it itself), so a store is never repopulated behind ADR-0015's or GC's back.
 */

/** At most this many snapshots are tried for one content. */
const MAX_SNAPSHOT_TRIES = 4;

/**
 * The bucket snapshots that hold the content `hash` of a path whose state is `st`, newest first:
 * those recorded by another client's versions that replace one with that content. Their
 * writers had fetched that version, so their baselines (taken at a fetch that brought it, or
 * later) hold its segment, and its blob or pack (written before it). A writer's baseline may
 * predate its own uploads, so its own replacing versions do not count. Pure.
 */
export function planBlobSnapshots(st: PathState | undefined, hash: string): string[] {
  const versions = [...(st?.versions.values() ?? [])];
  const holders = new Map(versions.filter((v) => v.content?.hash === hash).map((v) => [v.id as string, v.client]));
  const out: string[] = [];
  const later = versions.filter((v) => v.snapshot !== null && v.replaces.some((r) => holders.has(r) && holders.get(r) !== v.client));
  for (const v of later.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0))) {
    if (!out.includes(v.snapshot!)) out.push(v.snapshot!);
  }
  return out.slice(0, MAX_SNAPSHOT_TRIES - 1);
}

/**
 * The snapshots to read a content from, in order: this client's `baseline` (the snapshot its
 * last fetch synced against: it holds every segment that fetch read, and so every blob and
 * pack they name, written before them), then `planBlobSnapshots`. Pure.
 */
export function planContentSnapshots(baseline: string | null | undefined, st: PathState | undefined, hash: string): string[] {
  const out = baseline == null ? [] : [baseline];
  for (const v of planBlobSnapshots(st, hash)) if (!out.includes(v)) out.push(v);
  return out.slice(0, MAX_SNAPSHOT_TRIES);
}

/** Whether `bytes` are the content `ref` names (size and hash). Pure. */
function isContentOf(ref: ContentRef, bytes: Uint8Array): boolean {
  return bytes.byteLength === ref.size && sha256Hex(bytes) === ref.hash;
}

/** The error for a content no snapshot holds: what is lost and what to do. */
function lostContent(ref: ContentRef, missing: BmError, versions: readonly string[]): BmError {
  const where =
    versions.length === 0 ? 'this client holds no bucket snapshot that had it' : `nor in bucket snapshots ${versions.join(', ')}`;
  return new BmError(
    ErrorCode.blobMissing,
    `${missing.message}, ${where}: the bytes of this version (${ref.hash}, ${ref.size} bytes) are lost from the bucket`,
    'nothing was written for it. If a machine still has the file, sync there: it uploads it again. ' +
      'Otherwise restore another version (see `bm-log log PATH`); `bm-log verify` lists what else is missing',
    { ...missing.details, snapshots: [...versions] },
  );
}

/**
 * A content fallback reading from `versions` of `port` (undefined without snapshots: the read
 * fails as before). Each candidate is checked against the ref's size and hash; one that does
 * not match is passed over. A pack is read whole from a snapshot (the port has no ranged read);
 * the last one read is kept, so the entries of one pack, read in pack order, cost one read.
 */
export function createSnapshotFallback(port: SnapshotPort | undefined, versions: readonly string[]): ContentFallback | undefined {
  if (port === undefined) return undefined;
  let last: { version: string; key: string; bytes: Promise<Uint8Array | undefined> } | undefined;
  const readAt = (version: string, key: string): Promise<Uint8Array | undefined> => {
    if (last?.version !== version || last.key !== key) last = { version, key, bytes: port.get(version, key) };
    return last.bytes;
  };
  return async (ref, missing) => {
    for (const version of versions) {
      const whole = await readAt(version, keyOfContent(ref));
      if (whole === undefined) continue;
      const bytes = ref.pack === undefined ? whole : whole.subarray(ref.pack.offset, ref.pack.offset + ref.pack.length);
      if (isContentOf(ref, bytes)) return bytes;
    }
    throw lostContent(ref, missing, versions);
  };
}

/**
 * The fallback of a client's reads outside a sync (`show`, `restore --to`, the API's reads): the
 * baseline it last synced against. Undefined where the remote has no snapshots.
 */
export async function readSessionFallback(s: {
  readonly index: Pick<SyncIndex, 'getMeta'>;
  readonly ctx?: { readonly snapshots?: SnapshotPort | undefined };
}): Promise<ContentFallback | undefined> {
  const port = s.ctx?.snapshots;
  if (port === undefined) return undefined;
  const held = await readHeldBaseline(s.index);
  return createSnapshotFallback(port, held === undefined ? [] : [held]);
}
