import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, readdirSync, type Dirent, type Stats } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { BmError, ErrorCode } from '../errors.js';
import { computePathProblem, type SyncPath } from '../events/sync-path.js';
import type { LocalFile } from '../reconcile/ports.js';
import type { GuardedResult, LocalTree, ProgressSink, ScanBase, ScanResult } from '../reconcile/ports.js';
import { syncDir } from '../events/store/sync-dir.js';
import { computeReadBufferSize, lendFileChunks, writeChunk, type Chunks } from '../events/store/lent-chunks.js';
import { computeListingDiff, computeWitnessBase, decodeListing, encodeListingParts, rawKind } from './scan-witness.js';
import type { ByteParts } from '../events/codec.js';
import { asInteger, type ScanColumns, ScanFiles } from './scan-files.js';
import { errno, joinRoot, sameStat, TMP_PREFIX } from './local-fs.js';
import { ScanWalk, type Reuse } from './scan-walk.js';

import { computeFileHash } from './file-digest.js';

export { computeFileHash };

function localIoError(e: unknown, what: string): BmError {
  const code = errno(e);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new BmError(
      ErrorCode.diskFull,
      `local disk full while ${what}`,
      'free some space and sync again; the file was left as it was',
      {},
      { cause: e },
    );
  }
  return new BmError(
    ErrorCode.localIo,
    `${what} failed (${code ?? String(e)})`,
    'the file was left as it was; fix the cause and sync again',
    {},
    { cause: e },
  );
}

/** LocalTree over a real folder (see the contract in local-tree.ts). */
export class FsTree implements LocalTree {
  constructor(readonly root: string) {}

  private abs(p: SyncPath): string {
    return path.join(this.root, ...p.split('/'));
  }

  /**
   * `abs(p)` for a path the engine asks about (a plan's, never the scan's own): checked again
   * here, at the last step before the file system, so that no path naming bm-log's state (a
   * nested folder's `.bm-log` included), leaving the root or unsafe in any other way is ever
   * read, written or deleted, whatever let it through (ADR-0016).
   */
  private mustAbs(p: SyncPath): string {
    const problem = computePathProblem(p);
    if (problem === undefined) return this.abs(p);
    throw new BmError(
      ErrorCode.badPath,
      `refusing to touch ${JSON.stringify(p)}: ${problem}`,
      'nothing was read, written or deleted there',
      { path: p },
    );
  }

  /** The columns of each complete scan, for `rescan` and `diffWitness` (kept only as long as the scan result). */
  private readonly columnsOf = new WeakMap<ScanResult, ScanColumns>();

  async scan(manifest: ScanBase, isIgnored: (p: string) => boolean, progress?: ProgressSink): Promise<ScanResult> {
    return this.walkScan(manifest, isIgnored, undefined, progress);
  }

  /**
   * A scan after this process changed only `touched` since `prev` (a sync round's downloads,
   * copies and local deletes): the folders on the way to a touched path are listed and
   * stat'ed again; every other folder's part of `prev` is reused as it was. Falls back to a
   * full scan when `prev` is not a complete scan of this tree.
   */
  async rescan(
    prev: ScanResult,
    touched: readonly SyncPath[],
    manifest: ScanBase,
    isIgnored: (p: string) => boolean,
    progress?: ProgressSink,
  ): Promise<ScanResult> {
    const columns = this.columnsOf.get(prev);
    if (columns === undefined || prev.unreadable.length > 0) return this.scan(manifest, isIgnored, progress);
    // Nothing written: within the contract, the earlier scan stands as it is.
    if (touched.length === 0) return prev;
    const touchedDirs = new Set<string>(['']);
    for (const p of touched) {
      const parts = p.split('/');
      for (let i = 1; i < parts.length; i++) touchedDirs.add(parts.slice(0, i).join('/'));
    }
    const slotOf = new Map(columns.dirs.map((d, i) => [d, i]));
    return this.walkScan(manifest, isIgnored, { columns, touchedDirs, slotOf }, progress);
  }

  private async walkScan(
    manifest: ScanBase,
    isIgnored: (p: string) => boolean,
    reuse: Reuse | undefined,
    progress: ProgressSink | undefined,
  ): Promise<ScanResult> {
    await this.mustReadableRoot();
    const w = new ScanWalk(this.root, manifest, isIgnored, reuse);
    w.walk('', false);
    progress?.({ kind: 'listed', files: w.cols.count });
    await w.hash(progress);
    const base = { files: new ScanFiles(w.cols), dirs: w.dirs, unreadable: w.unreadable, notices: w.notices, hashed: w.hashed };
    if (!w.exact || w.unreadable.length > 0) return base;
    // The witness is encoded when first asked for: only the scan a clean-state record keeps needs it.
    const cols = w.cols;
    let parts: ByteParts | undefined;
    let witness: Uint8Array | undefined;
    const witnessParts = () => (parts ??= encodeListingParts(cols.listing()));
    const result: ScanResult = Object.defineProperties(
      { ...base },
      {
        witness: { enumerable: true, get: () => (witness ??= witnessParts().concat()) },
        witnessParts: { enumerable: false, get: witnessParts },
      },
    );
    this.columnsOf.set(result, cols);
    return result;
  }

  /** An unreadable root is never read as "everything deleted": the scan stops with an error. */
  private async mustReadableRoot(): Promise<void> {
    try {
      const st = await fs.stat(this.root);
      if (!st.isDirectory()) throw new Error('not a directory');
      await fs.readdir(this.root);
    } catch (e) {
      throw new BmError(
        ErrorCode.localIo,
        `the sync root ${this.root} cannot be read (${errno(e) ?? String(e)})`,
        'nothing was synced (an unreadable root is never read as "everything deleted"); check the folder and its permissions',
      );
    }
  }

  /**
   * True when a scan now would return exactly what the scan that gave `witness` returned
   * (with the same manifest and rules): every folder it listed lists the same names with the
   * same kinds, and every file it returned has the same size, mtime, inode and mode. It
   * neither matches ignore rules nor hashes nor reads the manifest; any doubt answers false.
   */
  async unchanged(witness: Uint8Array): Promise<boolean> {
    const listing = decodeListing(witness);
    if (listing === undefined) return false;
    const { stats } = listing;
    let k = 0;
    for (let i = 0; i < listing.dirs.length; i++) {
      const absDir = this.absDir(listing.dirs[i]!);
      const absPrefix = `${absDir}${path.sep}`;
      const kinds = listing.kinds[i]!;
      let entries: Dirent[];
      try {
        entries = readdirSync(absDir, { withFileTypes: true });
      } catch {
        return false;
      }
      if (entries.length !== kinds.length) return false;
      let names = '';
      for (let j = 0; j < entries.length; j++) {
        const ent = entries[j]!;
        names += j === 0 ? ent.name : `\0${ent.name}`;
        const kind = kinds[j]!;
        if (kind.toLowerCase() !== rawKind(ent)) return false;
        if (kind !== 'F') continue;
        let st: Stats | undefined;
        try {
          st = lstatSync(absPrefix + ent.name, { throwIfNoEntry: false });
        } catch {
          return false; // unreadable now (EACCES...): the full scan reports it
        }
        if (
          st === undefined ||
          !st.isFile() ||
          st.size !== stats[k] ||
          st.mtimeMs !== stats[k + 1] ||
          st.ino !== stats[k + 2] ||
          (st.mode & 0o777) !== stats[k + 3]
        )
          return false;
        k += 4;
      }
      if (names !== listing.names[i]) return false;
    }
    return k === stats.length;
  }

  witnessBase(witness: Uint8Array): ScanBase | undefined {
    const listing = decodeListing(witness);
    return listing === undefined ? undefined : computeWitnessBase(listing);
  }

  diffWitness(witness: Uint8Array, scan: ScanResult): Set<string> | undefined {
    const then = decodeListing(witness);
    const now = this.columnsOf.get(scan)?.listing() ?? (scan.witness === undefined ? undefined : decodeListing(scan.witness));
    if (then === undefined || now === undefined) return undefined;
    return computeListingDiff(then, now);
  }

  private absDir(rel: string): string {
    return joinRoot(this.root, rel);
  }

  openRead(p: SyncPath, size?: number): Chunks {
    const abs = this.mustAbs(p);
    return lendFileChunks(() => fs.open(abs, 'r'), computeReadBufferSize(size));
  }

  async statFile(p: SyncPath): Promise<LocalFile | undefined> {
    const abs = this.mustAbs(p);
    try {
      const st = await fs.lstat(abs);
      if (!st.isFile()) return undefined;
      return {
        path: p,
        hash: await computeFileHash(abs),
        size: asInteger(st.size),
        mode: st.mode & 0o777,
        mtimeMs: st.mtimeMs,
        ino: asInteger(st.ino),
      };
    } catch (e) {
      if (errno(e) === 'ENOENT') return undefined;
      throw localIoError(e, `reading ${p}`);
    }
  }

  /** True when `abs` still holds `expect` (stat match, or same bytes). */
  private async stillIs(abs: string, expect: LocalFile | null): Promise<boolean> {
    let st: Stats;
    try {
      st = await fs.lstat(abs);
    } catch (e) {
      if (errno(e) === 'ENOENT') return expect === null;
      throw e;
    }
    if (expect === null || !st.isFile()) return false;
    if (sameStat(st, expect)) return true;
    return st.size === expect.size && (await computeFileHash(abs)) === expect.hash;
  }

  /**
   * Creates the parent folders of `p`, refusing to pass through a symlink or a file, so a
   * write can never land outside the root.
   */
  private async ensureParents(p: SyncPath): Promise<string> {
    const parts = p.split('/').slice(0, -1);
    let dir = this.root;
    for (const part of parts) {
      dir = path.join(dir, part);
      try {
        const st = await fs.lstat(dir);
        if (!st.isDirectory())
          throw new BmError(
            ErrorCode.localIo,
            `cannot write ${p}: ${path.relative(this.root, dir)} is not a folder (symlink or file)`,
            'left as it is; move the obstacle away and sync again',
          );
      } catch (e) {
        if (errno(e) !== 'ENOENT') throw e;
        await fs.mkdir(dir).catch((err: unknown) => {
          if (errno(err) !== 'EEXIST') throw err;
        });
      }
    }
    return dir;
  }

  async writeFile(p: SyncPath, content: Chunks, hash: string, mode: number, expect: LocalFile | null): Promise<LocalFile | 'changed'> {
    const abs = this.mustAbs(p);
    let tmp: string | undefined;
    // The first chunk is read before anything is touched: a source that fails at once (a
    // download cut before its first byte) leaves no folder behind, and a source that opened
    // a file is always started, so stopping it below closes that file.
    const source = content[Symbol.asyncIterator]();
    let next: IteratorResult<Uint8Array> | undefined;
    try {
      next = await source.next();
      const dir = await this.ensureParents(p);
      tmp = path.join(dir, `${TMP_PREFIX}${randomBytes(6).toString('hex')}`);
      const fh = await fs.open(tmp, 'wx', 0o600);
      const h = createHash('sha256');
      try {
        // Each chunk is written before the next is asked for: the chunks may be lent.
        for (; next.done !== true; next = await source.next()) {
          h.update(next.value);
          await writeChunk(fh, next.value);
        }
        await fh.chmod(mode & 0o777 || 0o644);
        await fh.sync();
      } finally {
        await fh.close();
      }
      if (h.digest('hex') !== hash) {
        throw new BmError(
          ErrorCode.blobCorrupt,
          `content for ${p} does not match its hash ${hash}`,
          'the file was not written; run `bm-log verify`',
        );
      }
      // The guard: right before replacing, the target must still be what the plan saw.
      if (!(await this.stillIs(abs, expect))) return 'changed';
      if (expect === null) {
        try {
          await fs.link(tmp, abs); // fails instead of replacing a file created meanwhile
        } catch (e) {
          if (errno(e) === 'EEXIST') return 'changed';
          throw e;
        }
      } else {
        await fs.rename(tmp, abs);
        tmp = undefined;
      }
      await syncDir(dir);
      const st = await fs.lstat(abs);
      return { path: p, hash, size: asInteger(st.size), mode: st.mode & 0o777, mtimeMs: st.mtimeMs, ino: asInteger(st.ino) };
    } catch (e) {
      if (next !== undefined && next.done !== true) await source.return?.().catch(() => undefined);
      if (e instanceof BmError) throw e;
      throw localIoError(e, `writing ${p}`);
    } finally {
      if (tmp !== undefined) await fs.rm(tmp, { force: true }).catch(() => undefined);
    }
  }

  async removeFile(p: SyncPath, expect: LocalFile): Promise<GuardedResult> {
    const abs = this.mustAbs(p);
    try {
      await this.ensureNoSymlinkParents(p);
      if (!(await this.stillIs(abs, expect))) return 'changed';
      await fs.unlink(abs);
    } catch (e) {
      if (e instanceof BmError) throw e;
      if (errno(e) === 'ENOENT') return 'done';
      throw localIoError(e, `removing ${p}`);
    }
    // Remove folders the delete left empty, up to (never including) the root.
    let dir = path.dirname(abs);
    while (dir !== this.root && dir.startsWith(this.root + path.sep)) {
      try {
        await fs.rmdir(dir);
      } catch {
        break;
      }
      dir = path.dirname(dir);
    }
    return 'done';
  }

  private async ensureNoSymlinkParents(p: SyncPath): Promise<void> {
    let dir = this.root;
    for (const part of p.split('/').slice(0, -1)) {
      dir = path.join(dir, part);
      const st = await fs.lstat(dir);
      if (!st.isDirectory())
        throw new BmError(ErrorCode.localIo, `${p}: ${path.relative(this.root, dir)} is not a folder (symlink or file)`, 'left as it is');
    }
  }
}
