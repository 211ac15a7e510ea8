import { createHash } from 'node:crypto';
import { ErrorCode, isBmError } from '../errors.js';
import type { FetchedSegment } from '../events/log.js';
import { computePackCollectHash, createPackSpans, keyOfContent, readContent } from '../events/packs.js';
import { computeEventContent, type ContentRef, type PackLocation } from '../events/schema.js';
import type { SyncPath } from '../events/sync-path.js';
import type { BaseEntry, LocalTree } from '../reconcile/ports.js';
import { openUploadSource } from '../reconcile/sync/execute-plan.js';
import type { ObjectStore } from '../events/store/object-store.js';

/*
 * `bm-log verify` for packs (ADR-0035): every entry the events name is read (each pack's span
 * once) and checked against its hash; a missing or damaged pack is reported once, with the
 * versions whose bytes it held. `--repair` puts a missing pack back at its own key, each entry
 * at its own offset, from the files of this folder that still hold those bytes (checked against
 * the hash while read); an entry no file holds stays zeros and is reported as lost, by version.
 * A damaged pack is not rewritten (packs are create-only): its damaged versions are named.
 */

type PackedRef = ContentRef & { readonly pack: PackLocation };

/** One entry of a pack, and the versions (path, id) whose content it is. */
interface NamedEntry {
  readonly ref: PackedRef;
  readonly versions: { readonly path: string; readonly id: string }[];
}

/** A pack the log names: its key, collect hash (for GC's records) and entries. */
export interface NamedPack {
  readonly key: string;
  readonly collectHash: string;
  readonly entries: NamedEntry[];
}

/** Pure: every pack the segments name, with its entries and the versions naming each. */
export function computeNamedPacks(segments: readonly FetchedSegment[]): Map<string, NamedPack> {
  const packs = new Map<string, NamedPack>();
  const entries = new Map<string, NamedEntry>();
  for (const seg of segments) {
    for (const e of seg.segment.body.events) {
      const ref = computeEventContent(e);
      if (ref?.pack === undefined || (e.type !== 'put' && e.type !== 'resolve')) continue;
      const key = keyOfContent(ref);
      let pack = packs.get(key);
      if (pack === undefined) {
        pack = { key, collectHash: computePackCollectHash(ref.pack.client, ref.pack.id), entries: [] };
        packs.set(key, pack);
      }
      const at = `${key}@${ref.pack.offset}/${ref.hash}`;
      let entry = entries.get(at);
      if (entry === undefined) {
        entry = { ref: ref as PackedRef, versions: [] };
        entries.set(at, entry);
        pack.entries.push(entry);
      }
      entry.versions.push({ path: e.path, id: e.id });
    }
  }
  return packs;
}

/** "a.md (version 01J…), b.md (…)" for the versions of `entries`, at most 10 named. */
export function formatPackVersions(entries: readonly NamedEntry[]): string {
  const all = entries.flatMap((e) => e.versions.map((v) => `${v.path} (version ${v.id})`));
  const shown = all.slice(0, 10).join(', ');
  return all.length > 10 ? `${shown} and ${all.length - 10} more` : shown;
}

/** How each entry of a pack read: ok, damaged (bytes differ from the hash), or missing (the pack is gone). */
export interface PackCheck {
  readonly pack: NamedPack;
  readonly damaged: NamedEntry[];
  readonly missing: boolean;
}

/** Reads every entry of `pack` (shared spans), sorting them into damaged ones, or the pack missing. */
export async function checkPack(store: ObjectStore, pack: NamedPack): Promise<PackCheck> {
  const spans = createPackSpans(
    store,
    pack.entries.map((e) => e.ref),
  );
  const damaged: NamedEntry[] = [];
  let missing = 0;
  for (const entry of pack.entries) {
    try {
      for await (const _ of await readContent(store, entry.ref, spans)) void _;
    } catch (e) {
      if (!isBmError(e, ErrorCode.blobCorrupt, ErrorCode.blobMissing)) throw e;
      if (e.code === ErrorCode.blobMissing) missing++;
      else damaged.push(entry);
    }
  }
  return { pack, damaged, missing: missing > 0 && missing === pack.entries.length };
}

/** Pure: which entries of a missing pack a file of this folder holds (by the manifest's hash and size). */
export function planPackRepair(
  pack: NamedPack,
  manifest: ReadonlyMap<SyncPath, BaseEntry>,
): { restorable: { entry: NamedEntry; paths: SyncPath[] }[]; lost: NamedEntry[] } {
  const byHash = new Map<string, SyncPath[]>();
  for (const row of manifest.values()) byHash.set(`${row.hash}/${row.size}`, [...(byHash.get(`${row.hash}/${row.size}`) ?? []), row.path]);
  const restorable: { entry: NamedEntry; paths: SyncPath[] }[] = [];
  const lost: NamedEntry[] = [];
  for (const entry of pack.entries) {
    const paths = byHash.get(`${entry.ref.hash}/${entry.ref.size}`);
    if (paths === undefined) lost.push(entry);
    else restorable.push({ entry, paths });
  }
  return { restorable, lost };
}

/** The bytes of the first of `paths` that still hold `ref`'s content, or undefined. */
async function readLocalEntry(tree: LocalTree, ref: PackedRef, paths: readonly SyncPath[]): Promise<Uint8Array | undefined> {
  for (const p of paths) {
    try {
      const parts: Buffer[] = [];
      for await (const chunk of openUploadSource(tree, p, ref.size)) parts.push(Buffer.from(chunk));
      const bytes = Buffer.concat(parts);
      if (bytes.byteLength === ref.size && createHash('sha256').update(bytes).digest('hex') === ref.hash) return bytes;
    } catch (e) {
      if (!isBmError(e, ErrorCode.localIo)) throw e;
    }
  }
  return undefined;
}

/**
 * Puts a missing pack back, create-only, at its own key: each restorable entry's bytes at its
 * offset (read from a file here, checked against the hash), zeros elsewhere. Returns the entries
 * it could not fill (lost here), or null when no entry could be filled (nothing is written).
 */
export async function executePackRepair(
  store: ObjectStore,
  tree: LocalTree,
  pack: NamedPack,
  plan: ReturnType<typeof planPackRepair>,
): Promise<NamedEntry[] | null> {
  const end = Math.max(...pack.entries.map((e) => e.ref.pack.offset + e.ref.pack.length));
  const body = Buffer.alloc(end);
  const lost = [...plan.lost];
  let filled = 0;
  for (const { entry, paths } of plan.restorable) {
    const bytes = await readLocalEntry(tree, entry.ref, paths);
    if (bytes === undefined) {
      lost.push(entry);
      continue;
    }
    body.set(bytes, entry.ref.pack.offset);
    filled++;
  }
  if (filled === 0) return null;
  await store.putIfAbsent(pack.key, body);
  return lost;
}
