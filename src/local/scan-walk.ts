import { lstatSync, readdirSync, rmSync, type Dirent, type Stats } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { createSyncPathCheck, isStateDirName, type SyncPath } from '../events/sync-path.js';
import { computeFileDigest, computeSmallFileDigest } from './file-digest.js';
import { errno, joinRoot, sameStat, TMP_PREFIX } from './local-fs.js';
import type { ProgressSink, ScanBase, ScanNotice } from '../reconcile/ports.js';
import { ScanColumns } from './scan-files.js';
import { rawKind, WitnessBase } from './scan-witness.js';

// The walk of one scan of a real folder (FsTree.scan and rescan): the folders listed and
// their files lstat'ed into columns (ADR-0010), then the new or changed files hashed.

/** What `rescan` hands the walk: the earlier scan's columns and the folders to list again. */
export interface Reuse {
  readonly columns: ScanColumns;
  readonly touchedDirs: ReadonlySet<string>;
  readonly slotOf: ReadonlyMap<string, number>;
}

const HASH_CONCURRENCY = 8;

/** Files up to this size are hashed in one synchronous read by the scan. */
const SMALL_FILE_BYTES = 256 * 1024;

/** A simple counting semaphore for bounded parallel hashing. */
function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (active >= n) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/**
 * What the scan does with one entry of a listed folder (its kind in the listing follows):
 * - `state`: bm-log's state, this folder's or a nested bm-log folder's: never read, whatever
 *   the ignore rules say (its name is refused by the path check too);
 * - `staleTemp`: a temp file of a bm-log killed mid-write (removed; the caller holds the
 *   folder lock, so no live bm-log owns it, and it never held anything the log lacks);
 * - `temp`: a temp file a nested bm-log folder's own bm-log may be writing right now;
 * - `symlink`, `special`: skipped with a notice unless ignored (`ignored*` otherwise);
 * - `ignoredDir`, `dir`: a folder passed over, or walked;
 * - `ignoredFile`, `unsafeName` (skipped with a notice), `file`: a regular file.
 */
export type EntryVerdict =
  | 'state'
  | 'staleTemp'
  | 'temp'
  | 'symlink'
  | 'ignoredSymlink'
  | 'ignoredDir'
  | 'dir'
  | 'special'
  | 'ignoredSpecial'
  | 'ignoredFile'
  | 'unsafeName'
  | 'file';

/** The verdict on entry `ent` at path `p`; `inner` when the folder is inside a nested bm-log folder. Pure. */
export function planEntry(
  ent: Dirent,
  p: string,
  inner: boolean,
  isIgnored: (p: string) => boolean,
  isSyncPath: (p: string) => boolean,
): EntryVerdict {
  if (isStateDirName(ent.name)) return 'state';
  if (ent.name.startsWith(TMP_PREFIX)) return ent.isFile() && !inner ? 'staleTemp' : 'temp';
  if (ent.isSymbolicLink()) return isIgnored(p) ? 'ignoredSymlink' : 'symlink';
  if (ent.isDirectory()) return isIgnored(`${p}/`) ? 'ignoredDir' : 'dir';
  if (!ent.isFile()) return isIgnored(p) ? 'ignoredSpecial' : 'special';
  if (isIgnored(p)) return 'ignoredFile';
  return isSyncPath(p) ? 'file' : 'unsafeName';
}

/** A file found by the walk whose hash could not be reused: its index in the columns. */
interface PendingFile {
  readonly i: number;
  readonly path: SyncPath;
}

/**
 * One walk over the folder. It is synchronous on purpose: with a warm cache readdir and lstat
 * answer from memory, and 100,000 promise round trips through the thread pool cost more than
 * the calls themselves. Only hashing (changed files) is asynchronous, after the walk (`hash`).
 * A folder's subfolders are walked after its own files, so that each folder's files are
 * contiguous in the columns. Scanning against a witnessed scan (a lazy sync), unchanged
 * folders are taken from it; rescanning (`reuse`), untouched folders are copied.
 */
export class ScanWalk {
  readonly dirs = new Set<string>();
  readonly unreadable: string[] = [];
  readonly notices: ScanNotice[] = [];
  readonly cols: ScanColumns;
  /** False when something changed under the walk (the result then gets no witness). */
  exact = true;
  hashed = 0;
  private pending: PendingFile[] = [];
  private readonly guide: WitnessBase | undefined;
  private readonly isSyncPath = createSyncPathCheck();

  constructor(
    private readonly root: string,
    private readonly manifest: ScanBase,
    private readonly isIgnored: (p: string) => boolean,
    private readonly reuse: Reuse | undefined,
  ) {
    this.guide = manifest instanceof WitnessBase ? manifest : undefined;
    // Sized for about as many files as the last scan had (the witness's, or the manifest's).
    this.cols = new ScanColumns(this.guide?.fileCount ?? reuse?.columns.count ?? (manifest as { size?: number }).size ?? 0);
  }

  /**
   * Walks folder `rel` and everything under it. `nested`: the folder is inside a bm-log folder
   * nested in this one (ADR-0016), whose own bm-log may be writing temp files there right now.
   */
  walk(rel: string, nested: boolean): void {
    const prevSlot = this.reuse !== undefined && !this.reuse.touchedDirs.has(rel) ? this.reuse.slotOf.get(rel) : undefined;
    if (prevSlot !== undefined) {
      this.reuseFolder(prevSlot, nested);
      return;
    }
    let entries: Dirent[];
    // Entries are joined to their folder by hand: path.join per file showed in profiles.
    const absDir = joinRoot(this.root, rel);
    const absPrefix = `${absDir}${path.sep}`;
    try {
      entries = readdirSync(absDir, { withFileTypes: true });
    } catch (e) {
      this.unreadable.push(rel);
      // Vanished between its parent's listing and now (moved, or swapped by another tool):
      // unknown, like a file that vanishes below, never read as "all its files deleted".
      if (errno(e) === 'ENOENT') return;
      this.notices.push({ path: rel, detail: `folder cannot be read (${errno(e)}); its files are left as they are` });
      return;
    }
    const witnessed = this.guide?.slotOf.get(rel);
    // (A folder with a `.bm-log` in it is the root of a nested bm-log folder.)
    const inner = nested || (rel !== '' && entries.some((ent) => isStateDirName(ent.name)));
    if (witnessed !== undefined && this.takeAsWitnessed(rel, witnessed, entries, absPrefix, inner)) return;
    const subdirs = this.listFolder(rel, entries, absPrefix, inner);
    for (const d of subdirs) this.walk(d, inner);
  }

  /** Records the entries of a listed folder in the columns; returns the subfolders to walk. */
  private listFolder(rel: string, entries: readonly Dirent[], absPrefix: string, inner: boolean): string[] {
    const slot = this.cols.openFolder(rel);
    const names: string[] = [];
    let kinds = '';
    const subdirs: string[] = [];
    const record = (name: string, kind: string) => {
      names.push(name);
      kinds += kind;
    };
    const notice = this.folderNotice(slot);
    for (const ent of entries) {
      const p = rel === '' ? ent.name : `${rel}/${ent.name}`;
      switch (planEntry(ent, p, inner, this.isIgnored, this.isSyncPath)) {
        case 'state':
        case 'temp':
          record(ent.name, rawKind(ent));
          break;
        case 'staleTemp':
          // Not recorded in the listing: a later check that still finds it rescans.
          try {
            rmSync(absPrefix + ent.name, { force: true });
          } catch {
            this.exact = false;
          }
          break;
        case 'symlink':
          record(ent.name, 'l');
          notice({ path: p, detail: 'symlink skipped (bm-log syncs regular files only)' });
          break;
        case 'ignoredSymlink':
          record(ent.name, 'l');
          break;
        case 'ignoredDir':
          record(ent.name, 'd');
          break;
        case 'dir':
          record(ent.name, 'D');
          this.dirs.add(p);
          subdirs.push(p);
          break;
        case 'special':
          record(ent.name, 'o');
          notice({ path: p, detail: 'special file skipped' });
          break;
        case 'ignoredSpecial':
          record(ent.name, 'o');
          break;
        case 'ignoredFile':
          record(ent.name, 'f');
          break;
        case 'unsafeName':
          record(ent.name, 'f');
          notice({ path: p, detail: 'name cannot be synced portably (reserved or unsafe name); skipped' });
          break;
        case 'file':
          record(ent.name, 'F');
          this.addFile(p as SyncPath, absPrefix + ent.name, this.manifest.get(p), notice);
          break;
      }
    }
    this.cols.closeFolder(slot, names.join('\0'), kinds);
    return subdirs;
  }

  /** Records a notice both with the folder at `slot` (a rescan reuses it) and in the scan's list. */
  private folderNotice(slot: number): (n: ScanNotice) => void {
    return (n) => {
      this.cols.notices[slot]!.push(n);
      this.notices.push(n);
    };
  }

  /**
   * A folder that lists exactly as the witnessed scan listed it (names, and kinds as readdir
   * reports them), holding only files it returned and folders: the same rules give the same
   * verdicts, so those are taken from the witness without matching ignore rules or checking
   * names (folders whose entries drew notices or were passed over go the long way). Each
   * file is still lstat'ed; one whose stats differ from the witness's is hashed. False when
   * the folder does not qualify (nothing done then).
   */
  private takeAsWitnessed(rel: string, g: number, entries: readonly Dirent[], absPrefix: string, inner: boolean): boolean {
    const guide = this.guide!;
    const w = guide.listing;
    const kinds = w.kinds[g]!;
    if (kinds.length !== entries.length || /[flo]/.test(kinds)) return false;
    let names = '';
    for (let j = 0; j < entries.length; j++) {
      const ent = entries[j]!;
      names += j === 0 ? ent.name : `\0${ent.name}`;
      if (kinds[j]!.toLowerCase() !== rawKind(ent)) return false;
    }
    if (names !== w.names[g]) return false;
    const slot = this.cols.openFolder(rel);
    this.cols.closeFolder(slot, w.names[g]!, kinds); // the witness's strings: shared, not copied
    const notice = this.folderNotice(slot);
    const subdirs: string[] = [];
    let k = guide.firstFile[g]!;
    for (let j = 0; j < entries.length; j++) {
      const kind = kinds[j]!;
      if (kind === 'd') continue;
      const name = entries[j]!.name;
      const p = rel === '' ? name : `${rel}/${name}`;
      if (kind === 'D') {
        this.dirs.add(p);
        subdirs.push(p);
        continue;
      }
      this.addFile(p as SyncPath, absPrefix + name, k++, notice);
    }
    for (const d of subdirs) this.walk(d, inner);
    return true;
  }

  /**
   * One regular file of a listed folder: lstat'ed and added to the columns, with the hash of
   * `was` (a manifest row, or the index of the witness's entry) when size, mtime and inode
   * still match it, else marked for hashing. Vanished or unreadable: unknown, never read as
   * deleted (added as absent, so the folder's entries stay aligned with its kinds).
   */
  private addFile(p: SyncPath, abs: string, was: ReturnType<ScanBase['get']> | number, notice: (n: ScanNotice) => void): void {
    let st: Stats;
    try {
      st = lstatSync(abs);
    } catch (e) {
      this.cols.addFile(0, 0, 0, 0);
      this.unreadable.push(p); // vanished between listing and reading: unknown, not deleted
      if (errno(e) !== 'ENOENT') notice({ path: p, detail: `cannot be read (${errno(e)}); left as it is` });
      return;
    }
    if (!st.isFile()) {
      this.cols.addFile(0, 0, 0, 0);
      this.exact = false; // swapped for something else since the listing
      return;
    }
    const i = this.cols.addFile(st.size, st.mtimeMs, st.ino, st.mode & 0o777);
    if (typeof was === 'number') {
      if (this.guide!.isSameStat(was, st)) this.cols.setHash(i, this.guide!.hashBytes(was));
      else this.pending.push({ i, path: p });
    } else if (was !== undefined && sameStat(st, was)) this.cols.setHash(i, was.hash);
    else this.pending.push({ i, path: p });
  }

  /** A folder nothing touched since `reuse`'s scan: its listing, files and notices as they were. */
  private reuseFolder(prevSlot: number, nested: boolean): void {
    const cols = this.cols;
    const slot = cols.copyFolder(this.reuse!.columns, prevSlot);
    this.notices.push(...cols.notices[slot]!);
    const rel = cols.dirs[slot]!;
    const kinds = cols.kinds[slot]!;
    if (!kinds.includes('D')) return;
    const names = cols.names[slot]!.split('\0');
    const inner = nested || (rel !== '' && names.some(isStateDirName));
    for (let j = 0; j < kinds.length; j++) {
      if (kinds[j] !== 'D') continue;
      const p = rel === '' ? names[j]! : `${rel}/${names[j]!}`;
      this.dirs.add(p);
      this.walk(p, inner);
    }
  }

  /**
   * Hashes what is new or changed: small files one after another, synchronously (per-file
   * open/read/close dominates there, and the thread pool's round trips only add to it:
   * bench/core.js measured 71,000 small files/s this way against 21,000 with streams, 8 at a
   * time); large files streamed, a few at a time. A file changed while hashed is unknown.
   */
  async hash(progress?: ProgressSink): Promise<void> {
    const limit = limiter(HASH_CONCURRENCY);
    const stats = this.cols.stats;
    const statOf = (i: number) => ({ size: stats[4 * i]!, mtimeMs: stats[4 * i + 1]!, ino: stats[4 * i + 2]! });
    if (progress !== undefined && this.pending.length > 0) {
      const bytes = this.pending.reduce((sum, { i }) => sum + statOf(i).size, 0);
      progress({ kind: 'total', work: 'hash', files: this.pending.length, bytes });
    }
    await Promise.all(
      this.pending.map(({ i, path: p }) => {
        const stat = statOf(i);
        const small = stat.size <= SMALL_FILE_BYTES;
        return (small ? (fn: () => Promise<void>) => fn() : limit)(() => this.hashFile(i, p, stat, small, progress));
      }),
    );
    // The result's getters keep this walk alive as long as the scan: a first sync's list was
    // every file (~5 MB at 100k).
    this.pending = [];
  }

  private async hashFile(
    i: number,
    p: SyncPath,
    stat: { size: number; mtimeMs: number; ino: number },
    small: boolean,
    progress: ProgressSink | undefined,
  ): Promise<void> {
    const abs = joinRoot(this.root, p);
    let told = 0;
    const onBytes = (n: number) => {
      told += n;
      progress?.({ kind: 'bytes', work: 'hash', bytes: n });
    };
    try {
      const digest = small ? computeSmallFileDigest(abs) : await computeFileDigest(abs, onBytes);
      this.hashed++;
      const after = small ? lstatSync(abs) : await fs.lstat(abs);
      if (!sameStat(after, stat)) {
        // Modified while hashing: its content is unknown, so it is left for the next sync.
        this.unreadable.push(p);
        this.notices.push({ path: p, detail: 'changed while being hashed; will be synced next time' });
        return;
      }
      this.cols.setHash(i, digest);
    } catch (e) {
      this.unreadable.push(p);
      if (errno(e) !== 'ENOENT') this.notices.push({ path: p, detail: `cannot be read (${errno(e)}); left as it is` });
    } finally {
      progress?.({ kind: 'file', work: 'hash', bytes: Math.max(0, stat.size - told) });
    }
  }
}
