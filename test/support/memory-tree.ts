import { BmError, ErrorCode } from '../../src/errors.js';
import { computePathProblem, type SyncPath } from '../../src/events/sync-path.js';
import { sha256Hex } from '../../src/events/signing.js';
import { collectChunks, lendBytesStrictly, type Chunks } from '../../src/events/store/lent-chunks.js';
import { decodeMsgpack, encodeMsgpack } from '../../src/events/codec.js';
import type { LocalFile } from '../../src/reconcile/ports.js';
import type { GuardedResult, LocalTree, ScanBase, ScanNotice, ScanResult } from '../../src/reconcile/ports.js';
import { computePathKey, planStoredName, type FsSemantics } from './name-semantics.js';

/** One regular file of a MemoryTree. The hash is a cache for the checks, never shown to a scan. */
export interface MemoryFile {
  readonly bytes: Uint8Array;
  readonly mode: number;
  readonly mtimeMs: number;
  readonly ino: number;
  readonly hash: string;
}

/** Who changed the tree: the sync engine (through the guarded port) or the simulated user. */
export type MemoryWriter = 'engine' | 'user';

/** One change to a MemoryTree, for the simulation's checks. */
export interface MemoryTreeChange {
  readonly by: MemoryWriter;
  readonly kind: 'write' | 'remove';
  readonly path: string;
  /** Hash of what was at the path before (undefined: nothing). */
  readonly before: string | undefined;
  /** Hash of what is there after (undefined: removed). */
  readonly after: string | undefined;
}

function enoent(p: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOENT: no such file or directory, open '${p}'`), { code: 'ENOENT' });
}

function ancestors(p: string): string[] {
  const parts = p.split('/');
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** A witness: the tree's stat rows, each with the hash the scan returned ('' when it returned none). */
function witnessRows(w: Uint8Array): [string, number, number, number, number, string][] {
  return decodeMsgpack(w, 'scan witness') as [string, number, number, number, number, string][];
}

/**
 * LocalTree in memory, with the contract and the observable semantics of FsTree (see
 * local-tree.ts): the scan reuses the manifest hash when size, mtime and inode match;
 * writeFile and removeFile re-check `expect` right before acting and answer 'changed'
 * instead; a write checks the content's hash before it replaces anything and is atomic by
 * construction (one Map update, so no reader or crash ever sees half a file). Folders are
 * implicit: a folder exists while a file lies under it, as FsTree removes folders a delete
 * left empty.
 *
 * Mtimes come from `now` (a fake clock), inodes from a counter that never reuses a number.
 * User edits go through the `user*` helpers; every change is logged in `changes`.
 *
 * `fs` says how names behave (name-semantics.ts): on `apfs`, `hfs` and `ntfs` a path opens
 * the entry whose name matches it case-insensitively (and, on macOS, in any normalisation),
 * a new entry is stored under the name the volume gives it, and `files` holds the stored
 * names, as a listing of the volume would show them.
 */
export class MemoryTree implements LocalTree {
  readonly files = new Map<string, MemoryFile>();
  /** Every change, engine and user, in order. */
  readonly changes: MemoryTreeChange[] = [];
  private nextIno = 1;
  private readonly unreadableNext = new Set<string>();

  constructor(
    readonly root: string,
    private readonly now: () => number,
    readonly fs: FsSemantics = 'posix',
  ) {}

  // ---- the LocalTree port (what the engine uses)

  async scan(manifest: ScanBase, isIgnored: (path: string) => boolean): Promise<ScanResult> {
    const files = new Map<SyncPath, LocalFile>();
    const dirs = new Set<string>();
    const unreadable: string[] = [];
    const notices: ScanNotice[] = [];
    const blocked = new Set(this.unreadableNext);
    this.unreadableNext.clear();
    let hashed = 0;
    for (const [p, f] of [...this.files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      // Walk like FsTree: an ignored or unreadable folder hides everything under it.
      let hidden = false;
      for (const d of ancestors(p)) {
        if (isIgnored(`${d}/`)) {
          hidden = true;
          break;
        }
        dirs.add(d);
        if (blocked.has(d)) {
          if (!unreadable.includes(d)) {
            unreadable.push(d);
            notices.push({ path: d, detail: 'folder cannot be read (EACCES); its files are left as they are' });
          }
          hidden = true;
          break;
        }
      }
      if (hidden || isIgnored(p)) continue;
      if (computePathProblem(p) !== undefined) {
        notices.push({ path: p, detail: 'name cannot be synced portably (reserved or unsafe name); skipped' });
        continue;
      }
      if (blocked.has(p)) {
        unreadable.push(p);
        notices.push({ path: p, detail: 'cannot be read (EACCES); left as it is' });
        continue;
      }
      const m = manifest.get(p);
      let hash: string;
      if (m !== undefined && m.size === f.bytes.length && m.mtimeMs === f.mtimeMs && m.ino === f.ino) {
        hash = m.hash; // trusted like FsTree: an edit that keeps size, mtime and inode goes unseen
      } else {
        hash = sha256Hex(f.bytes);
        hashed++;
      }
      files.set(p as SyncPath, { path: p as SyncPath, hash, size: f.bytes.length, mode: f.mode, mtimeMs: f.mtimeMs, ino: f.ino });
    }
    const result = { files, dirs, unreadable, notices, hashed };
    return unreadable.length === 0
      ? { ...result, witness: encodeMsgpack(this.stateRows().map((r) => [...r, files.get(r[0] as SyncPath)?.hash ?? ''])) }
      : result;
  }

  /** In memory a full scan is cheap: it simply scans. */
  rescan(_prev: ScanResult, _touched: readonly SyncPath[], manifest: ScanBase, isIgnored: (path: string) => boolean): Promise<ScanResult> {
    return this.scan(manifest, isIgnored);
  }

  /** True when every file (scanned or not) still has the size, mtime, inode and mode it had. */
  async unchanged(witness: Uint8Array): Promise<boolean> {
    if (this.unreadableNext.size > 0) return false;
    const then = witnessRows(witness);
    const now = this.stateRows();
    return then.length === now.length && then.every((r, i) => r.slice(0, 5).join(',') === now[i]!.join(','));
  }

  /** The files the witnessed scan returned (rows with a hash), as a scan base. */
  witnessBase(witness: Uint8Array): ScanBase | undefined {
    const at = new Map<string, { hash: string; size: number; mtimeMs: number; ino: number }>();
    for (const [p, size, mtimeMs, ino, , hash] of witnessRows(witness)) if (hash !== '') at.set(p, { hash, size, mtimeMs, ino });
    return { get: (p) => at.get(p) };
  }

  /** The files whose stat rows differ between the two witnesses, and every folder above them. */
  diffWitness(witness: Uint8Array, scan: ScanResult): Set<string> | undefined {
    if (scan.witness === undefined) return undefined;
    const rows = (w: Uint8Array) => new Map(witnessRows(w).map(([p, ...st]) => [p, st.slice(0, 4).join(',')]));
    const then = rows(witness);
    const now = rows(scan.witness);
    const dirty = new Set<string>();
    const add = (p: string) => {
      for (let i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) dirty.add(p.slice(0, i));
      dirty.add(p);
    };
    for (const [p, st] of now) if (then.get(p) !== st) add(p);
    for (const p of then.keys()) if (!now.has(p)) add(p);
    return dirty;
  }

  /** The whole tree's stat state (like FsTree's listing: names, kinds and stats, no bytes). */
  private stateRows(): [string, number, number, number, number][] {
    return [...this.files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([p, f]) => [p, f.bytes.length, f.mtimeMs, f.ino, f.mode]);
  }

  openRead(p: SyncPath): Chunks {
    // Read lazily, like FsTree: what is there when the upload reads it. Lent strictly, so
    // the simulation catches a store that keeps a lent chunk.
    const files = this.files;
    const at = this.resolve(p);
    return (async function* () {
      const f = at === undefined ? undefined : files.get(at);
      if (f === undefined) throw enoent(p);
      yield* lendBytesStrictly(f.bytes, 4);
    })();
  }

  async statFile(p: SyncPath): Promise<LocalFile | undefined> {
    const at = this.resolve(p);
    const f = at === undefined ? undefined : this.files.get(at);
    return f === undefined ? undefined : this.localFile(p, f);
  }

  async writeFile(p: SyncPath, content: Chunks, hash: string, mode: number, expect: LocalFile | null): Promise<LocalFile | 'changed'> {
    this.mustInside(p);
    this.mustFolders(p, `cannot write ${p}`);
    const bytes = await collectChunks(content);
    if (sha256Hex(bytes) !== hash) {
      throw new BmError(
        ErrorCode.blobCorrupt,
        `content for ${p} does not match its hash ${hash}`,
        'the file was not written; run `bm-log verify`',
      );
    }
    // Everything below runs without an await: the guard and the replace are one step.
    this.mustFolders(p, `cannot write ${p}`);
    const at = this.mustStoredPath(p, `cannot write ${p}`);
    if (!this.stillIs(at, expect)) return 'changed';
    const f = this.put('engine', at, bytes, mode & 0o777 || 0o644, this.nextIno++);
    return this.localFile(p, f);
  }

  async removeFile(p: SyncPath, expect: LocalFile): Promise<GuardedResult> {
    this.mustInside(p);
    // As FsTree's walk down the folders: a file in the way throws, a missing folder means done.
    for (const d of ancestors(p)) {
      const at = this.resolve(d);
      if (at !== undefined && this.files.has(at))
        throw new BmError(ErrorCode.localIo, `${p}: ${d} is not a folder (symlink or file)`, 'left as it is');
      if (at === undefined || !this.isFolder(at)) return 'done';
    }
    const at = this.resolve(p);
    if (at === undefined) return 'changed';
    if (!this.stillIs(at, expect)) return 'changed';
    this.remove('engine', at);
    return 'done';
  }

  // ---- fault injection and user edits (what the simulation uses)

  /** The next scan reports `path` (a file or a folder) as unreadable. */
  markUnreadable(path: string): void {
    this.unreadableNext.add(path);
  }

  /** Drops marks no scan has used (a sync that stopped before scanning). */
  clearUnreadable(): void {
    this.unreadableNext.clear();
  }

  /**
   * The user saves `bytes` at `path`. `inPlace` keeps the inode of an existing file (an
   * editor writing into the file); otherwise the save makes a new file (write and rename).
   * Returns false, changing nothing, where a file stands in place of a needed folder or a
   * folder stands at `path`.
   */
  userWrite(path: string, bytes: Uint8Array, options: { mode?: number; inPlace?: boolean } = {}): boolean {
    const at = this.storedPath(path);
    if (at === undefined || this.folderBlocked(at) || this.isFolder(at)) return false;
    const old = this.files.get(at);
    const ino = options.inPlace === true && old !== undefined ? old.ino : this.nextIno++;
    this.put('user', at, bytes, options.mode ?? old?.mode ?? 0o644, ino);
    return true;
  }

  /** The user deletes `path`; false when there was no file. */
  userDelete(path: string): boolean {
    const at = this.resolve(path);
    if (at === undefined || !this.files.has(at)) return false;
    this.remove('user', at);
    return true;
  }

  /** The user changes the permission bits (mtime unchanged, as chmod leaves it). */
  userChmod(path: string, mode: number): boolean {
    const at = this.resolve(path);
    const f = at === undefined ? undefined : this.files.get(at);
    if (at === undefined || f === undefined) return false;
    this.files.set(at, { ...f, mode });
    this.changes.push({ by: 'user', kind: 'write', path: at, before: f.hash, after: f.hash });
    return true;
  }

  /**
   * The user renames `from` to `to` (replacing a file there): a delete plus a write keeping
   * inode, mtime and mode, as rename(2) does. False, changing nothing, when it cannot.
   */
  userRename(from: string, to: string): boolean {
    const src = this.resolve(from);
    const f = src === undefined ? undefined : this.files.get(src);
    if (src === undefined || f === undefined) return false;
    // A case-only rename (the same entry under another spelling) renames in place, as on macOS and Windows.
    const same = computePathKey(this.fs, src) === computePathKey(this.fs, to);
    const dst = same ? this.renamedInPlace(src, to) : this.storedPath(to);
    if (dst === undefined || dst === src || this.folderBlocked(dst) || this.isFolder(dst)) return false;
    this.remove('user', src);
    this.changes.push({ by: 'user', kind: 'write', path: dst, before: this.files.get(dst)?.hash, after: f.hash });
    this.files.set(dst, f);
    return true;
  }

  // ---- names (name-semantics.ts)

  /** The stored path that `p` opens (file or folder), or undefined when nothing is there. */
  resolve(p: string): string | undefined {
    if (this.fs === 'posix') return this.files.has(p) || this.isFolder(p) ? p : undefined;
    const key = computePathKey(this.fs, p);
    for (const stored of this.files.keys()) {
      const k = computePathKey(this.fs, stored);
      if (k === key) return stored;
      if (k.startsWith(`${key}/`)) return stored.split('/').slice(0, p.split('/').length).join('/');
    }
    return undefined;
  }

  /** Where a write of `p` lands: the existing entries on its way, new names as the volume stores them; undefined when it cannot be created. */
  private storedPath(p: string): string | undefined {
    if (this.fs === 'posix') return p.split('/').some((seg) => Buffer.byteLength(seg, 'utf8') > 255) ? undefined : p;
    const segs = p.split('/');
    const out: string[] = [];
    for (let i = 0; i < segs.length; i++) {
      const existing = this.resolve([...out, segs[i]!].join('/'));
      if (existing !== undefined) {
        out.push(existing.split('/').at(-1)!);
        continue;
      }
      const planned = planStoredName(this.fs, segs[i]!);
      if ('error' in planned) return undefined;
      out.push(planned.name);
    }
    return out.join('/');
  }

  private mustStoredPath(p: string, what: string): string {
    const at = this.storedPath(p);
    if (at === undefined)
      throw new BmError(ErrorCode.localIo, `${what}: the ${this.fs} volume refuses the name (EINVAL or ENAMETOOLONG)`, 'left as it is');
    return at;
  }

  /** `src` renamed to the spelling `to` (the same entry): the last name as the volume would store it. */
  private renamedInPlace(src: string, to: string): string | undefined {
    const planned = planStoredName(this.fs, to.split('/').at(-1)!);
    return 'error' in planned ? undefined : [...src.split('/').slice(0, -1), planned.name].join('/');
  }

  // ---- internals

  private localFile(p: SyncPath, f: MemoryFile): LocalFile {
    return { path: p, hash: f.hash, size: f.bytes.length, mode: f.mode, mtimeMs: f.mtimeMs, ino: f.ino };
  }

  private put(by: MemoryWriter, p: string, bytes: Uint8Array, mode: number, ino: number): MemoryFile {
    const f: MemoryFile = { bytes, mode, mtimeMs: this.now(), ino, hash: sha256Hex(bytes) };
    this.changes.push({ by, kind: 'write', path: p, before: this.files.get(p)?.hash, after: f.hash });
    this.files.set(p, f);
    return f;
  }

  private remove(by: MemoryWriter, p: string): void {
    this.changes.push({ by, kind: 'remove', path: p, before: this.files.get(p)?.hash, after: undefined });
    this.files.delete(p);
  }

  /** Refuses a path that would land outside the root (FsTree joins it under the root). */
  private mustInside(p: string): void {
    const problem = computePathProblem(p);
    if (problem !== undefined) throw new BmError(ErrorCode.badPath, `unsafe path ${JSON.stringify(p)}: ${problem}`, 'nothing was written');
  }

  /** Throws local-io, like FsTree's folder walk, where a file stands in place of a folder of `p`. */
  private mustFolders(p: string, what: string): void {
    const anc = ancestors(p).find((d) => {
      const at = this.resolve(d);
      return at !== undefined && this.files.has(at);
    });
    if (anc !== undefined)
      throw new BmError(
        ErrorCode.localIo,
        `${what}: ${anc} is not a folder (symlink or file)`,
        'left as it is; move the obstacle away and sync again',
      );
  }

  private folderBlocked(p: string): boolean {
    return ancestors(p).some((d) => {
      const at = this.resolve(d);
      return at !== undefined && this.files.has(at);
    });
  }

  private isFolder(p: string): boolean {
    const prefix = `${p}/`;
    for (const k of this.files.keys()) if (k.startsWith(prefix)) return true;
    return false;
  }

  /** FsTree.stillIs: absent when `expect` is null; else a regular file with the same stat or bytes. */
  private stillIs(p: string, expect: LocalFile | null): boolean {
    const f = this.files.get(p);
    if (f === undefined) return expect === null && !this.isFolder(p);
    if (expect === null) return false;
    if (f.bytes.length === expect.size && f.mtimeMs === expect.mtimeMs && f.ino === expect.ino) return true;
    return f.bytes.length === expect.size && f.hash === expect.hash;
  }
}
