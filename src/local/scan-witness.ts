import type { Dirent } from 'node:fs';
import { BmError, ErrorCode } from '../errors.js';
import { ByteParts, decodeMsgpack, encodeMsgpack, encodeMsgpackSized } from '../events/codec.js';
import type { ScanBase } from '../reconcile/ports.js';

/**
 * What a scan of a real folder saw, compactly, so that a later check can tell that a scan
 * now would return the same result without matching ignore rules, hashing or reading the
 * manifest (the clean-state shortcut of ADR-0008). Folders in walk order; for each, the
 * names readdir gave joined by NUL and one kind letter per name:
 *   F  a regular file the scan returned (its size, mtime, inode and mode are in `stats`)
 *   f  a regular file it passed over (ignored, or a name that cannot be synced)
 *   D  a folder it walked (listed later in `dirs`)      d  a folder it did not walk
 *   l  a symlink                                         o  anything else
 * Lowercased, a kind is what readdir reports by itself (`rawKind`).
 */
export interface DecodedListing {
  /** Folders in walk order; per folder its names joined by NUL, and one kind letter per name. */
  readonly dirs: readonly string[];
  readonly names: readonly string[];
  readonly kinds: readonly string[];
  /** Size, mtimeMs, ino and mode of each F entry, folder after folder. */
  readonly stats: Float64Array;
  /** The hash the scan returned for each F entry, 32 bytes each, in the same order. */
  readonly hashes: Uint8Array;
}

const WITNESS_VERSION = 2;

export function rawKind(ent: Dirent): string {
  return ent.isFile() ? 'f' : ent.isDirectory() ? 'd' : ent.isSymbolicLink() ? 'l' : 'o';
}

/**
 * The witness of listing `l` as parts whose concatenation is its msgpack: a map whose two
 * large byte arrays (stats, hashes) follow as they are, views of `l`'s arrays, not copies.
 */
export function encodeListingParts(l: DecodedListing): ByteParts {
  // At most 5 bytes of header per string, plus the map's keys.
  let size = 64;
  for (const list of [l.dirs, l.names, l.kinds]) for (const s of list) size += 5 + Buffer.byteLength(s);
  const head = encodeMsgpackSized({ v: WITNESS_VERSION, dirs: l.dirs, names: l.names, kinds: l.kinds }, size);
  // The same map with six entries (msgpackr heads a map as fixmap or map 16): its last two,
  // byte arrays, appended as bin 32.
  const map6 = Buffer.from(head);
  if (map6[0] === 0x84) map6[0] = 0x86;
  else if (map6[0] === 0xde && map6.readUInt16BE(1) === 4) map6.writeUInt16BE(6, 1);
  else throw new BmError(ErrorCode.internal, `the scan witness's head starts with byte ${map6[0]}, not a map of four`);
  const bin = (key: string, bytes: Uint8Array): Uint8Array[] => {
    const k = encodeMsgpack(key);
    const len = Buffer.alloc(5);
    len[0] = 0xc6;
    len.writeUInt32BE(bytes.byteLength, 1);
    return [k, len, bytes];
  };
  const stats = new Uint8Array(l.stats.buffer, l.stats.byteOffset, l.stats.byteLength);
  return new ByteParts([map6, ...bin('stats', stats), ...bin('hashes', l.hashes)]);
}

/** Decoded witnesses, by their bytes: a lazy sync asks for its record's listing more than once. */
const decoded = new WeakMap<Uint8Array, DecodedListing | null>();

/** The listing, or undefined when `bytes` is not one this version wrote (then: rescan). */
export function decodeListing(bytes: Uint8Array): DecodedListing | undefined {
  let l = decoded.get(bytes);
  if (l === undefined) decoded.set(bytes, (l = computeDecodedListing(bytes) ?? null));
  return l ?? undefined;
}

function computeDecodedListing(bytes: Uint8Array): DecodedListing | undefined {
  let w: unknown;
  try {
    w = decodeMsgpack(bytes, 'scan witness');
  } catch {
    return undefined;
  }
  if (typeof w !== 'object' || w === null) return undefined;
  const { v, dirs, names, kinds, stats, hashes } = w as Record<string, unknown>;
  const strings = (a: unknown): a is string[] => Array.isArray(a) && a.every((x) => typeof x === 'string');
  if (
    v !== WITNESS_VERSION ||
    !strings(dirs) ||
    !strings(names) ||
    !strings(kinds) ||
    !(stats instanceof Uint8Array) ||
    !(hashes instanceof Uint8Array)
  )
    return undefined;
  if (names.length !== dirs.length || kinds.length !== dirs.length || stats.byteLength % 32 !== 0 || hashes.byteLength !== stats.byteLength)
    return undefined;
  // Copied: the decoded bytes may sit at an offset a Float64Array cannot start at.
  const flat = new Float64Array(stats.byteLength / 8);
  new Uint8Array(flat.buffer).set(stats);
  // Copied too, so that the witness bytes themselves need not be kept while the listing is used.
  return { dirs, names, kinds, stats: flat, hashes: new Uint8Array(hashes) };
}

/** The parts of a listing that say where a folder's files are. */
interface FileSlots {
  readonly names: readonly string[];
  readonly kinds: readonly string[];
  /** Per folder, the index of its first F entry among all F entries of the listing. */
  readonly firstFile: readonly number[];
}

/** Folder `slot`'s files (F entries): name -> index among all F entries of the listing. */
function computeFileIndexes(l: FileSlots, slot: number): Map<string, number> {
  const out = new Map<string, number>();
  const kinds = l.kinds[slot]!;
  const list = kinds.length === 0 ? [] : l.names[slot]!.split('\0');
  let k = l.firstFile[slot]!;
  for (let j = 0; j < kinds.length; j++) if (kinds[j] === 'F') out.set(list[j]!, k++);
  return out;
}

/**
 * Finds a file of a listing by folder and name. A folder's first few lookups read its names
 * string; from the fourth on, the folder gets a name index. (A full plan looks up every file;
 * a lazy sync a few hundred, spread over as many folders, whose indexes held ~50,000 names
 * for the whole sync.)
 */
export class FileFinder {
  private readonly indexes = new Map<number, Map<string, number>>();
  private readonly lookups = new Map<number, number>();

  constructor(private readonly l: FileSlots) {}

  /** The index among all F entries of `name` in folder `slot`, if it is an F entry there. */
  find(slot: number, name: string): number | undefined {
    const index = this.indexes.get(slot);
    if (index !== undefined) return index.get(name);
    const n = (this.lookups.get(slot) ?? 0) + 1;
    if (n > 3) {
      const built = computeFileIndexes(this.l, slot);
      this.indexes.set(slot, built);
      this.lookups.delete(slot);
      return built.get(name);
    }
    this.lookups.set(slot, n);
    const names = this.l.names[slot]!;
    const kinds = this.l.kinds[slot]!;
    let start = 0;
    let k = this.l.firstFile[slot]!;
    for (let j = 0; j < kinds.length; j++) {
      let end = names.indexOf('\0', start);
      if (end < 0) end = names.length;
      const isName = end - start === name.length && names.startsWith(name, start);
      if (kinds[j] === 'F') {
        if (isName) return k;
        k++;
      } else if (isName) return undefined;
      start = end + 1;
    }
    return undefined;
  }
}

/**
 * The witnessed scan's files as a scan base (`LocalTree.witnessBase`): for each file it
 * returned, the size, mtime and inode it had and the hash it got, so a later scan reuses the
 * hash of a file whose stats did not change without reading the manifest (ADR-0009). FsTree
 * also walks by it: a folder that lists exactly as witnessed is taken entry by entry from it.
 */
export class WitnessBase implements ScanBase {
  /** Folder -> its slot in the listing. */
  readonly slotOf = new Map<string, number>();
  /** Per slot, the index of its first F entry among all F entries (stats and hashes). */
  readonly firstFile: number[] = [];
  private readonly finder: FileFinder;
  private readonly hex: Buffer;

  constructor(readonly listing: DecodedListing) {
    let k = 0;
    for (let i = 0; i < listing.dirs.length; i++) {
      this.slotOf.set(listing.dirs[i]!, i);
      this.firstFile.push(k);
      const kinds = listing.kinds[i]!;
      for (let j = 0; j < kinds.length; j++) if (kinds[j] === 'F') k++;
    }
    this.hex = Buffer.from(listing.hashes.buffer, listing.hashes.byteOffset, listing.hashes.byteLength);
    this.finder = new FileFinder({ names: listing.names, kinds: listing.kinds, firstFile: this.firstFile });
  }

  get(p: string) {
    const slash = p.lastIndexOf('/');
    const slot = this.slotOf.get(slash < 0 ? '' : p.slice(0, slash));
    if (slot === undefined) return undefined;
    const i = this.finder.find(slot, p.slice(slash + 1));
    return i === undefined ? undefined : this.file(i);
  }

  /** How many files the witnessed scan returned. */
  get fileCount(): number {
    return this.listing.stats.length / 4;
  }

  /** True when `st` has the size, mtime and inode of the `i`th F entry. */
  isSameStat(i: number, st: { size: number; mtimeMs: number; ino: number }): boolean {
    const w = this.listing.stats;
    return st.size === w[4 * i] && st.mtimeMs === w[4 * i + 1] && st.ino === w[4 * i + 2];
  }

  /** The hash of the `i`th F entry, 32 bytes (a view). */
  hashBytes(i: number): Uint8Array {
    return this.listing.hashes.subarray(32 * i, 32 * i + 32);
  }

  /** The `i`th F entry of the listing. */
  file(i: number): { size: number; mtimeMs: number; ino: number; mode: number; hash: string } {
    const st = this.listing.stats;
    return {
      size: st[4 * i]!,
      mtimeMs: st[4 * i + 1]!,
      ino: st[4 * i + 2]!,
      mode: st[4 * i + 3]!,
      hash: this.hex.toString('hex', 32 * i, 32 * i + 32),
    };
  }
}

export function computeWitnessBase(l: DecodedListing): WitnessBase {
  return new WitnessBase(l);
}

/** One folder of a listing: its names and kinds, and its files' stats at `stats[at...]`. */
interface FolderView {
  readonly names: string;
  readonly kinds: string;
  readonly stats: ArrayLike<number>;
  readonly at: number;
}

function computeFolderViews(l: DecodedListing): Map<string, FolderView> {
  const out = new Map<string, FolderView>();
  let k = 0;
  for (let i = 0; i < l.dirs.length; i++) {
    const kinds = l.kinds[i]!;
    out.set(l.dirs[i]!, { names: l.names[i]!, kinds, stats: l.stats, at: k });
    for (let j = 0; j < kinds.length; j++) if (kinds[j] === 'F') k += 4;
  }
  return out;
}

/** A folder's entries: name -> kind letter, with size, mtime, inode and mode for F entries. */
function computeFolderEntries(f: FolderView): Map<string, string> {
  const out = new Map<string, string>();
  const list = f.kinds.length === 0 ? [] : f.names.split('\0');
  let k = f.at;
  for (let j = 0; j < f.kinds.length; j++) {
    const kind = f.kinds[j]!;
    if (kind === 'F') {
      out.set(list[j]!, `F${f.stats[k]},${f.stats[k + 1]},${f.stats[k + 2]},${f.stats[k + 3]}`);
      k += 4;
    } else out.set(list[j]!, kind);
  }
  return out;
}

function isSameFolder(a: FolderView, b: FolderView): boolean {
  if (a.names !== b.names || a.kinds !== b.kinds) return false;
  let n = 0;
  for (let j = 0; j < b.kinds.length; j++) if (b.kinds[j] === 'F') n += 4;
  for (let k = 0; k < n; k++) if (a.stats[a.at + k] !== b.stats[b.at + k]) return false;
  return true;
}

/**
 * The paths where two listings of one tree differ (see `LocalTree.diffWitness`): per folder,
 * only where its names, kinds or file stats differ; a folder in one listing only counts with
 * every entry it has. Linear in folders, plus the entries of the folders that differ.
 */
export function computeListingDiff(then: DecodedListing, now: DecodedListing): Set<string> {
  const dirty = new Set<string>();
  const join = (rel: string, name: string) => (rel === '' ? name : `${rel}/${name}`);
  const a = computeFolderViews(then);
  const b = computeFolderViews(now);
  for (const [rel, fb] of b) {
    const fa = a.get(rel);
    if (fa !== undefined && isSameFolder(fa, fb)) continue;
    const eb = computeFolderEntries(fb);
    if (fa === undefined) {
      dirty.add(rel);
      for (const name of eb.keys()) dirty.add(join(rel, name));
      continue;
    }
    const ea = computeFolderEntries(fa);
    for (const [name, v] of eb) if (ea.get(name) !== v) dirty.add(join(rel, name));
    for (const name of ea.keys()) if (!eb.has(name)) dirty.add(join(rel, name));
  }
  for (const [rel, fa] of a) {
    if (b.has(rel)) continue;
    dirty.add(rel);
    for (const name of computeFolderEntries(fa).keys()) dirty.add(join(rel, name));
  }
  return dirty;
}
