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
      throw new BmError(ErrorCode.diskFull, `remote directory is full while ${what}`, 'free space on the remote disk, then sync again; nothing was half-written', {}, { cause: e });
    }
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      // Not a passing fault: retrying changes nothing until someone grants write access.
      const why = code === 'EROFS' ? 'it is on a read-only file system' : 'permission denied';
      throw new BmError(ErrorCode.config, `remote directory ${this.root} is not writable for this user (${code}: ${why}) while ${what}`, 'bm-log writes its own objects to the remote: get write access to the folder (or mount it read-write), then retry; nothing was half-written', {}, { cause: e });
    }
    throw new BmError(ErrorCode.remoteUnavailable, `remote directory ${this.root}: ${what} failed (${code ?? String(e)})`, 'check that the remote folder is mounted and writable, then retry', {}, { cause: e });
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return await fs.readFile(this.file(key));
    } catch (e) {
      if (isMissing(e)) return undefined;
      this.wrap(e, `reading ${key}`);
    }
  }

  async getChunks(key: string, size?: number): Promise<Chunks | undefined> {
    const file = this.file(key);
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(file, 'r');
    } catch (e) {
      if (isMissing(e)) return undefined;
      this.wrap(e, `reading ${key}`);
    }
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

  async head(key: string): Promise<{ size: number } | undefined> {
    try {
      const st = await fs.stat(this.file(key));
      return st.isFile() ? { size: st.size } : undefined;
    } catch (e) {
      if (isMissing(e)) return undefined;
      this.wrap(e, `checking ${key}`);
    }
  }

  async putIfAbsent(key: string, body: Body): Promise<'created' | 'identical'> {
    const file = this.file(key);
    const dir = path.dirname(file);
    const tmp = path.join(dir, `${TMP_PREFIX}${randomBytes(8).toString('hex')}`);
    try {
      await fs.mkdir(dir, { recursive: true });
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
    if (!isStreamBody(body)) return bytesEqual(await fs.readFile(file), body);
    const hash = createHash('sha256');
    for await (const chunk of lendFileChunks(() => fs.open(file, 'r'), computeReadBufferSize(body.size))) hash.update(chunk);
    return hash.digest('hex') === body.sha256;
  }

  async list(prefix: string, options: { startAfter?: string; limit?: number } = {}): Promise<ListPage> {
    mustListPrefix(prefix);
    const limit = Math.max(1, Math.min(options.limit ?? 1000, 1000));
    const after = options.startAfter ?? '';
    const all: ListedObject[] = [];
    const base = prefix === '' ? this.root : path.join(this.root, ...prefix.slice(0, -1).split('/'));
    try {
      await this.walk(base, prefix, after, all);
    } catch (e) {
      if (e instanceof BmError) throw e;
      this.wrap(e, `listing ${prefix || '(root)'}`);
    }
    all.sort((a, b) => compareKeys(a.key, b.key));
    return { objects: all.slice(0, limit), truncated: all.length > limit };
  }

  private async walk(dir: string, keyPrefix: string, after: string, out: ListedObject[]): Promise<void> {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (isMissing(e) || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return;
      throw e;
    }
    for (const ent of entries) {
      if (ent.name.startsWith(TMP_PREFIX)) continue;
      const key = keyPrefix + ent.name;
      if (ent.isDirectory()) {
        // Skip whole subtrees that sort entirely at or before startAfter.
        if (compareKeys(`${key}/\u{10ffff}`, after) <= 0) continue;
        await this.walk(path.join(dir, ent.name), `${key}/`, after, out);
      } else if (ent.isFile() && compareKeys(key, after) > 0) {
        const st = await fs.stat(path.join(dir, ent.name));
        out.push({ key, size: st.size });
      }
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await fs.unlink(this.file(key));
    } catch (e) {
      if (isMissing(e)) return;
      this.wrap(e, `deleting ${key}`);
    }
  }

  async close(): Promise<void> {}
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT';
}
