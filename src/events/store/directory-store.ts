import { constants as fsConstants, type Dirent, type Stats } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { BmError, ErrorCode } from '../../errors.js';
import { compareKeys } from './memory-store.js';
import { computeReadBufferSize, lendFileChunks, writeChunk, type Chunks } from './lent-chunks.js';
import { syncDir } from './sync-dir.js';
import {
  bytesEqual,
  isStreamBody,
  mustListPrefix,
  mustObjectKey,
  objectExistsError,
  type Body,
  type ListPage,
  type ListedObject,
  type ObjectStore,
} from './object-store.js';

const TMP_PREFIX = '.tmp-';

/**
 * The embedded default remote: a plain directory every client can reach (a shared disk,
 * a network mount, a synced folder of another tool). One file per object key.
 *
 * Create-only writes are atomic: bytes go to a temp file in the target folder, are
 * fsynced, then `link`ed to the final name. link(2) fails with EEXIST instead of
 * replacing, so the file system itself enforces create-only, and a crash at any instant
 * leaves either no object or the whole object (plus at worst a stray temp file, which
 * listings skip).
 *
 * Nothing below the root is reached through a symbolic link (ADR-0015): every folder on the
 * way to a key is checked with lstat (and created one level at a time, never by a recursive
 * mkdir that would follow a link), files are opened with O_NOFOLLOW, and a listing that meets
 * a link fails. Each such case throws bad-path saying which link; nothing is read, written,
 * listed or deleted through it. (The root itself may be a link: it is what the user named.)
 */
export class DirectoryStore implements ObjectStore {
  readonly description: string;

  constructor(readonly root: string) {
    this.description = `directory ${root}`;
  }

  private file(key: string): string {
    return path.join(this.root, ...mustObjectKey(key).split('/'));
  }

  private wrap(e: unknown, what: string): never {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      throw new BmError(
        ErrorCode.diskFull,
        `remote directory is full while ${what}`,
        'free space on the remote disk, then sync again; nothing was half-written',
        {},
        { cause: e },
      );
    }
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      // Not a passing fault: retrying changes nothing until someone grants write access.
      const why = code === 'EROFS' ? 'it is on a read-only file system' : 'permission denied';
      throw new BmError(
        ErrorCode.config,
        `remote directory ${this.root} is not writable for this user (${code}: ${why}) while ${what}`,
        'bm-log writes its own objects to the remote: get write access to the folder (or mount it read-write), then retry; nothing was half-written',
        {},
        { cause: e },
      );
    }
    throw new BmError(
      ErrorCode.remoteUnavailable,
      `remote directory ${this.root}: ${what} failed (${code ?? String(e)})`,
      'check that the remote folder is mounted and writable, then retry',
      {},
      { cause: e },
    );
  }

  private linkError(rel: string): BmError {
    return new BmError(
      ErrorCode.badPath,
      `remote directory ${this.root}: ${rel} is a symbolic link; bm-log never reads, writes, lists or deletes through a link inside the remote`,
      'replace the link with a real folder or file inside the remote (move what it points to in), then run the command again; ' +
        'nothing was read or written through it',
      { key: rel },
    );
  }

  /**
   * Checks the folders of `rel` (a '/'-separated path below the root) one by one, from the
   * root down: a symbolic link throws bad-path; a missing folder makes it return false, or is
   * created when `create` (one level at a time). True when every folder exists as a folder.
   */
  private async checkFolders(rel: string, create: boolean): Promise<boolean> {
    const parts = rel.split('/').filter((p) => p !== '');
    let dir = this.root;
    for (const [i, part] of parts.entries()) {
      dir = path.join(dir, part);
      const st = await lstatOrUndefined(dir);
      if (st?.isSymbolicLink()) throw this.linkError(parts.slice(0, i + 1).join('/'));
      if (st?.isDirectory()) continue;
      if (st !== undefined || !create) return false;
      await this.mkdirOne(dir, i === 0);
      // Created (or made by another writer meanwhile): check it again, it may be a link.
      const again = await fs.lstat(dir);
      if (again.isSymbolicLink()) throw this.linkError(parts.slice(0, i + 1).join('/'));
    }
    return true;
  }

  /** Creates one folder (a first-level one also creates a missing root); one that exists is fine. */
  private async mkdirOne(dir: string, firstLevel: boolean): Promise<void> {
    try {
      await fs.mkdir(dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return;
      if (code !== 'ENOENT' || !firstLevel) throw e;
      await fs.mkdir(this.root, { recursive: true });
      await this.mkdirOne(dir, false);
    }
  }

  /** Opens `key` for reading without following links; undefined when it (or a folder) is missing. */
  private async openForRead(key: string): Promise<fs.FileHandle | undefined> {
    const file = this.file(key);
    try {
      if (!(await this.checkFolders(folderOf(key), false))) return undefined;
      return await fs.open(file, NOFOLLOW_READ);
    } catch (e) {
      if (e instanceof BmError) throw e;
      if (isMissing(e)) return undefined;
      if (isLink(e)) throw this.linkError(key);
      this.wrap(e, `reading ${key}`);
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const handle = await this.openForRead(key);
    if (handle === undefined) return undefined;
    try {
      return await handle.readFile();
    } catch (e) {
      this.wrap(e, `reading ${key}`);
    } finally {
      await handle.close();
    }
  }

  async getChunks(key: string, size?: number): Promise<Chunks | undefined> {
    const handle = await this.openForRead(key);
    if (handle === undefined) return undefined;
    // One buffer per read, sized to the object: one read for a small object, 1 MiB chunks
    // for a large one. A 1-8 KB blob read through a default stream took a 64 KB buffer, and a
    // 50 MiB one left fifty 1 MiB buffers for V8 to collect (ADR-0013).
    const wrap = (e: unknown): never => this.wrap(e, `reading ${key}`);
    return (async function* () {
      try {
        yield* lendFileChunks(() => Promise.resolve(handle), computeReadBufferSize(size));
      } catch (e) {
        wrap(e);
      }
    })();
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array | undefined> {
    const handle = await this.openForRead(key);
    if (handle === undefined) return undefined;
    try {
      const buf = Buffer.alloc(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await handle.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buf.subarray(0, got);
    } catch (e) {
      this.wrap(e, `reading ${key}`);
    } finally {
      await handle.close();
    }
  }

  async head(key: string): Promise<{ size: number } | undefined> {
    const file = this.file(key);
    try {
      if (!(await this.checkFolders(folderOf(key), false))) return undefined;
      const st = await fs.lstat(file);
      if (st.isSymbolicLink()) throw this.linkError(key);
      return st.isFile() ? { size: st.size } : undefined;
    } catch (e) {
      if (e instanceof BmError) throw e;
      if (isMissing(e)) return undefined;
      this.wrap(e, `checking ${key}`);
    }
  }

  async putIfAbsent(key: string, body: Body): Promise<'created' | 'identical'> {
    const file = this.file(key);
    const dir = path.dirname(file);
    const tmp = path.join(dir, `${TMP_PREFIX}${randomBytes(8).toString('hex')}`);
    try {
      await this.checkFolders(folderOf(key), true);
      if (isStreamBody(body)) {
        const hash = createHash('sha256');
        let size = 0;
        const fh = await fs.open(tmp, 'wx', 0o644);
        try {
          // Each lent chunk is hashed and written before the next is read into its buffer.
          for await (const chunk of body.open()) {
            hash.update(chunk);
            size += chunk.length;
            await writeChunk(fh, chunk);
          }
          if (size !== body.size || hash.digest('hex') !== body.sha256) {
            throw new BmError(ErrorCode.localIo, `source for ${key} changed while uploading`, 'nothing was stored; the next sync retries');
          }
          await fh.sync();
        } finally {
          await fh.close();
        }
      } else {
        const fh = await fs.open(tmp, 'wx', 0o644);
        try {
          await fh.writeFile(body);
          await fh.sync();
        } finally {
          await fh.close();
        }
      }
      try {
        await fs.link(tmp, file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        if ((await fs.lstat(file)).isSymbolicLink()) throw this.linkError(key);
        if (await this.sameContent(file, body)) return 'identical';
        throw objectExistsError(key);
      }
      await syncDir(dir);
      return 'created';
    } catch (e) {
      if (e instanceof BmError) throw e;
      this.wrap(e, `writing ${key}`);
    } finally {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
    }
  }

  private async sameContent(file: string, body: Body): Promise<boolean> {
    if (!isStreamBody(body)) return bytesEqual(await fs.readFile(file, { flag: NOFOLLOW_READ }), body);
    const hash = createHash('sha256');
    for await (const chunk of lendFileChunks(() => fs.open(file, NOFOLLOW_READ), computeReadBufferSize(body.size))) hash.update(chunk);
    return hash.digest('hex') === body.sha256;
  }

  async list(prefix: string, options: { startAfter?: string; limit?: number } = {}): Promise<ListPage> {
    mustListPrefix(prefix);
    const limit = Math.max(1, Math.min(options.limit ?? 1000, 1000));
    const after = options.startAfter ?? '';
    const all: ListedObject[] = [];
    const base = prefix === '' ? this.root : path.join(this.root, ...prefix.slice(0, -1).split('/'));
    try {
      if (!(await this.checkFolders(prefix, false))) return { objects: [], truncated: false };
      await this.walk(base, prefix, after, all);
    } catch (e) {
      if (e instanceof BmError) throw e;
      this.wrap(e, `listing ${prefix || '(root)'}`);
    }
    all.sort((a, b) => compareKeys(a.key, b.key));
    return { objects: all.slice(0, limit), truncated: all.length > limit };
  }

  private async walk(dir: string, keyPrefix: string, after: string, out: ListedObject[]): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (isMissing(e) || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return;
      throw e;
    }
    for (const ent of entries) {
      if (ent.name.startsWith(TMP_PREFIX)) continue;
      const key = keyPrefix + ent.name;
      if (ent.isSymbolicLink()) throw this.linkError(key);
      if (ent.isDirectory()) {
        // Skip whole subtrees that sort entirely at or before startAfter.
        if (compareKeys(`${key}/\u{10ffff}`, after) <= 0) continue;
        await this.walk(path.join(dir, ent.name), `${key}/`, after, out);
      } else if (ent.isFile() && compareKeys(key, after) > 0) {
        const st = await fs.lstat(path.join(dir, ent.name), { bigint: true });
        if (st.isSymbolicLink()) throw this.linkError(key);
        out.push({ key, size: Number(st.size), tag: `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}` });
      }
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.file(key);
    try {
      if (!(await this.checkFolders(folderOf(key), false))) return;
      if ((await fs.lstat(file)).isSymbolicLink()) throw this.linkError(key);
      await fs.unlink(file);
    } catch (e) {
      if (e instanceof BmError) throw e;
      if (isMissing(e)) return;
      this.wrap(e, `deleting ${key}`);
    }
  }

  async close(): Promise<void> {}
}

/** The folder part of a key ('' for a key at the root). */
function folderOf(key: string): string {
  const slash = key.lastIndexOf('/');
  return slash < 0 ? '' : key.slice(0, slash);
}

/** Read-only, and failing with ELOOP instead of following a link at the file itself. */
const NOFOLLOW_READ = fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW;

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT';
}

/** What opening a symbolic link with O_NOFOLLOW fails with. */
function isLink(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === 'ELOOP';
}

async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await fs.lstat(p);
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}
