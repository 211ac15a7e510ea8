import { computeFoldKey, type SyncPath } from '../events/sync-path.js';
import { isSameFile, type FoldLookup, type LocalFile } from '../reconcile/ports.js';
import type { ScanNotice } from '../reconcile/ports.js';
import { FileFinder, type DecodedListing } from './scan-witness.js';

/**
 * What a walk of a real folder saw, kept in columns (ADR-0010): per folder, the names readdir
 * gave joined by NUL and one kind letter per name (the witness's listing, scan-witness.ts);
 * per returned file (an F entry), its size, mtime, inode and mode in one flat Float64Array and
 * its hash in one flat byte array. About 80 bytes a file, where a Map of LocalFile objects
 * took about 400: at 100,000 files that was most of a sync's heap.
 *
 * A folder's F entries are contiguous (the walk appends a folder's files before it walks its
 * subfolders), in listing order, starting at `firstFile[slot]`.
 */
export class ScanColumns {
  readonly dirs: string[] = [];
  readonly names: string[] = [];
  readonly kinds: string[] = [];
  readonly firstFile: number[] = [];
  /** Per folder, the notices its entries drew (a rescan reuses them with the folder). */
  readonly notices: ScanNotice[][] = [];
  /** F entries so far. */
  count = 0;
  stats: Float64Array;
  hashes: Uint8Array;
  /** 1 where the F entry is in the scan's files (0: it vanished, or could not be hashed). */
  present: Uint8Array;

  /** `expected`: about how many files the walk will find (the arrays double past it). */
  constructor(expected = 0) {
    const n = Math.max(256, Math.ceil(expected * 1.02) + 64);
    this.stats = new Float64Array(4 * n);
    this.hashes = new Uint8Array(32 * n);
    this.present = new Uint8Array(n);
  }

  /** Starts a folder: its files are the F entries added until the next `openFolder`. */
  openFolder(rel: string): number {
    this.firstFile.push(this.count);
    this.names.push('');
    this.kinds.push('');
    this.notices.push([]);
    return this.dirs.push(rel) - 1;
  }

  closeFolder(slot: number, names: string, kinds: string): void {
    this.names[slot] = names;
    this.kinds[slot] = kinds;
  }

  /** Adds an F entry of the open folder (absent until it gets a hash); returns its index. */
  addFile(size: number, mtimeMs: number, ino: number, mode: number): number {
    const i = this.count++;
    if (i === this.present.length) {
      const n = this.present.length * 2;
      this.stats = grow(this.stats, new Float64Array(4 * n));
      this.hashes = grow(this.hashes, new Uint8Array(32 * n));
      this.present = grow(this.present, new Uint8Array(n));
    }
    this.stats[4 * i] = size;
    this.stats[4 * i + 1] = mtimeMs;
    this.stats[4 * i + 2] = ino;
    this.stats[4 * i + 3] = mode;
    return i;
  }

  /** Sets entry `i`'s hash (32 bytes, or lowercase hex) and marks it present. */
  setHash(i: number, hash: Uint8Array | string): void {
    if (typeof hash === 'string') Buffer.from(this.hashes.buffer, this.hashes.byteOffset + 32 * i, 32).write(hash, 'hex');
    else this.hashes.set(hash.subarray(0, 32), 32 * i);
    this.present[i] = 1;
  }

  /** Copies folder `slot` of `from` (its entries, notices and files) as the next folder here. */
  copyFolder(from: ScanColumns, slot: number): number {
    const mine = this.openFolder(from.dirs[slot]!);
    this.closeFolder(mine, from.names[slot]!, from.kinds[slot]!);
    this.notices[mine] = from.notices[slot]!;
    const [a, b] = from.fileRange(slot);
    for (let i = a; i < b; i++) {
      const j = this.addFile(from.stats[4 * i]!, from.stats[4 * i + 1]!, from.stats[4 * i + 2]!, from.stats[4 * i + 3]!);
      this.hashes.set(from.hashes.subarray(32 * i, 32 * i + 32), 32 * j);
      this.present[j] = from.present[i]!;
    }
    return mine;
  }

  /** The F entries of folder `slot`: indexes [from, to). */
  fileRange(slot: number): [number, number] {
    return [this.firstFile[slot]!, slot + 1 < this.dirs.length ? this.firstFile[slot + 1]! : this.count];
  }

  /** The present files of folder `slot`: [index, path], in listing order. */
  *folderFiles(slot: number): Generator<[number, SyncPath]> {
    const kinds = this.kinds[slot]!;
    if (!kinds.includes('F')) return;
    const rel = this.dirs[slot]!;
    const list = this.names[slot]!.split('\0');
    let k = this.firstFile[slot]!;
    for (let j = 0; j < kinds.length; j++) {
      if (kinds[j] !== 'F') continue;
      const i = k++;
      if (this.present[i] === 1) yield [i, (rel === '' ? list[j]! : `${rel}/${list[j]!}`) as SyncPath];
    }
  }

  /** The listing as the witness stores it (views, no copies). */
  listing(): DecodedListing {
    return {
      dirs: this.dirs,
      names: this.names,
      kinds: this.kinds,
      stats: this.stats.subarray(0, 4 * this.count),
      hashes: this.hashes.subarray(0, 32 * this.count),
    };
  }
}

function grow<T extends Float64Array | Uint8Array>(old: T, bigger: T): T {
  bigger.set(old);
  return bigger;
}

/**
 * A scan's files as the planner reads them (`LocalScan.files`), over its columns: a LocalFile
 * object is made when asked for, not kept. Lookups go by folder (a Map of folders, then a
 * `FileFinder` within the folder).
 */
export class ScanFiles implements ReadonlyMap<SyncPath, LocalFile> {
  readonly size: number;
  private readonly slotOf = new Map<string, number>();
  private readonly finder: FileFinder;

  constructor(readonly columns: ScanColumns) {
    let n = 0;
    for (let i = 0; i < columns.count; i++) n += columns.present[i]!;
    this.size = n;
    for (const [slot, d] of columns.dirs.entries()) this.slotOf.set(d, slot);
    this.finder = new FileFinder(columns);
  }

  private indexOf(p: string): number | undefined {
    const slash = p.lastIndexOf('/');
    const slot = this.slotOf.get(slash < 0 ? '' : p.slice(0, slash));
    if (slot === undefined) return undefined;
    const i = this.finder.find(slot, p.slice(slash + 1));
    return i !== undefined && this.columns.present[i] === 1 ? i : undefined;
  }

  private file(path: string, i: number): LocalFile {
    const st = this.columns.stats;
    const h = this.columns.hashes;
    return {
      path: path as SyncPath,
      hash: Buffer.from(h.buffer, h.byteOffset + 32 * i, 32).toString('hex'),
      size: asInteger(st[4 * i]!),
      mtimeMs: st[4 * i + 1]!,
      ino: asInteger(st[4 * i + 2]!),
      mode: asInteger(st[4 * i + 3]!),
    };
  }

  get(p: SyncPath): LocalFile | undefined {
    const i = this.indexOf(p);
    return i === undefined ? undefined : this.file(p, i);
  }

  has(p: SyncPath): boolean {
    return this.indexOf(p) !== undefined;
  }

  /** Every present file: [index, path], folder by folder in listing order. */
  private *walk(): Generator<[number, SyncPath]> {
    for (let slot = 0; slot < this.columns.dirs.length; slot++) yield* this.columns.folderFiles(slot);
  }

  *entries(): MapIterator<[SyncPath, LocalFile]> {
    for (const [i, p] of this.walk()) yield [p, this.file(p, i)];
  }

  *keys(): MapIterator<SyncPath> {
    for (const [, p] of this.walk()) yield p;
  }

  *values(): MapIterator<LocalFile> {
    for (const [i, p] of this.walk()) yield this.file(p, i);
  }

  [Symbol.iterator](): MapIterator<[SyncPath, LocalFile]> {
    return this.entries();
  }

  forEach(fn: (value: LocalFile, key: SyncPath, map: ReadonlyMap<SyncPath, LocalFile>) => void, thisArg?: unknown): void {
    for (const [p, f] of this.entries()) fn.call(thisArg, f, p, this);
  }

  private folds?: {
    readonly twins: string[][];
    readonly groups: Map<string, number[]>;
    readonly byKey: Map<string, Map<string, string[]>>;
  };

  /**
   * The files by fold key, without an index of every path: a fold key is its folder's key, a
   * slash, and its name's key (`computeFoldKey` maps each path segment on its own), so paths
   * of one key lie in the folders of one key. Twins are found folder group by folder group;
   * a lookup indexes only the folders of its key's folder group (kept for later lookups).
   */
  foldLookup(): FoldLookup {
    if (this.folds === undefined) {
      const groups = new Map<string, number[]>();
      this.columns.dirs.forEach((rel, slot) => {
        const k = computeFoldKey(rel);
        const g = groups.get(k);
        if (g === undefined) groups.set(k, [slot]);
        else g.push(slot);
      });
      const twins: string[][] = [];
      for (const slots of groups.values()) for (const paths of this.indexGroup(slots).values()) if (paths.length > 1) twins.push(paths);
      this.folds = { twins, groups, byKey: new Map() };
    }
    const { twins, groups, byKey } = this.folds;
    return {
      twins,
      find: (key) => {
        const slash = key.lastIndexOf('/');
        const dirKey = slash < 0 ? '' : key.slice(0, slash);
        let index = byKey.get(dirKey);
        if (index === undefined) {
          const slots = groups.get(dirKey);
          index = slots === undefined ? new Map() : this.indexGroup(slots);
          byKey.set(dirKey, index);
        }
        return index.get(key) ?? [];
      },
    };
  }

  /** Fold key -> paths, over the present files of `slots`. */
  private indexGroup(slots: readonly number[]): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const slot of slots) {
      for (const [, p] of this.columns.folderFiles(slot)) {
        const key = computeFoldKey(p);
        const had = out.get(key);
        if (had === undefined) out.set(key, [p]);
        else had.push(p);
      }
    }
    return out;
  }

  /**
   * The paths whose file differs between `other` (an earlier scan of the same tree) and this
   * one, in any field, or that only one of them has; undefined when `other` is not in columns.
   * Folders whose entries, stats and hashes are all the same are passed over whole.
   */
  changesSince(other: ReadonlyMap<SyncPath, LocalFile>): Set<string> | undefined {
    if (!(other instanceof ScanFiles)) return undefined;
    const out = new Set<string>();
    const a = other.columns;
    const b = this.columns;
    const same = (slotA: number, slotB: number): boolean => {
      if (a.names[slotA] !== b.names[slotB] || a.kinds[slotA] !== b.kinds[slotB]) return false;
      const [i0, i1] = a.fileRange(slotA);
      const [j0] = b.fileRange(slotB);
      for (let k = 0; k < i1 - i0; k++) {
        if (a.present[i0 + k] !== b.present[j0 + k]) return false;
        for (let s = 0; s < 4; s++) if (a.stats[4 * (i0 + k) + s] !== b.stats[4 * (j0 + k) + s]) return false;
        if (
          Buffer.compare(a.hashes.subarray(32 * (i0 + k), 32 * (i0 + k) + 32), b.hashes.subarray(32 * (j0 + k), 32 * (j0 + k) + 32)) !== 0
        )
          return false;
      }
      return true;
    };
    const listFiles = (m: ScanFiles, slot: number): Map<string, LocalFile> => {
      const files = new Map<string, LocalFile>();
      for (const [i, p] of m.columns.folderFiles(slot)) files.set(p, m.file(p, i));
      return files;
    };
    for (const [rel, slotB] of this.slotOf) {
      const slotA = other.slotOf.get(rel);
      if (slotA !== undefined && same(slotA, slotB)) continue;
      const fb = listFiles(this, slotB);
      const fa = slotA === undefined ? new Map<string, LocalFile>() : listFiles(other, slotA);
      for (const [p, f] of fb) {
        const g = fa.get(p);
        if (g === undefined || !isSameFile(f, g)) out.add(p);
      }
      for (const p of fa.keys()) if (!fb.has(p)) out.add(p);
    }
    for (const [rel, slotA] of other.slotOf) if (!this.slotOf.has(rel)) for (const p of listFiles(other, slotA).keys()) out.add(p);
    return out;
  }
}

/**
 * A number read from a Float64Array (the columns, or a `fs.Stats`), as a small integer where
 * it is a whole one, which V8 stores inline in an object. Stored as read, every size,
 * inode and mode of a LocalFile (and of the manifest rows made from it) was a boxed double of
 * its own: 8 boxes a file, ~16 MB in a first sync of 100,000 files.
 */
export function asInteger(v: number): number {
  const i = v | 0;
  return i === v ? i : v;
}
