// Deterministic test trees: generation from a seed, the "300 changes" mutation, and a
// digest used to check that two trees ended up identical.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

/** sfc32: small, fast, seedable PRNG. `rand()` returns a uint32. */
export function makeRng(seed) {
  let a = 0x9e3779b9 ^ seed;
  let b = 0x243f6a88 ^ Math.imul(seed, 0x85ebca6b);
  let c = 0xb7e15162 ^ Math.imul(seed, 0xc2b2ae35);
  let d = 1;
  const next = () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    const r = (t + d) | 0;
    c = (c + r) | 0;
    return r >>> 0;
  };
  for (let i = 0; i < 16; i++) next();
  return {
    u32: next,
    /** Integer in [lo, hi]. */
    int: (lo, hi) => lo + (next() % (hi - lo + 1)),
  };
}

const ALPHABET = Buffer.from('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789    .,;:-#*\n\n');

/** `size` bytes of Markdown-ish printable text from the PRNG. */
export function textBytes(rng, size) {
  const buf = Buffer.allocUnsafe(size);
  let i = 0;
  while (i < size) {
    let r = rng.u32();
    for (let k = 0; k < 4 && i < size; k++, r >>>= 8) buf[i++] = ALPHABET[(r & 0xff) % ALPHABET.length];
  }
  return buf;
}

/** Raw PRNG bytes (for the large binary files), filled 4 bytes at a time. */
function binaryBytes(rng, size) {
  const words = new Uint32Array(Math.ceil(size / 4));
  for (let i = 0; i < words.length; i++) words[i] = rng.u32();
  return Buffer.from(words.buffer, 0, size);
}

/** The folder layout: `fanout` top folders × `fanout` sub-folders (32×32 = 1,024 leaf folders). */
export function leafFolders(fanout) {
  const out = [];
  for (let i = 0; i < fanout; i++)
    for (let j = 0; j < fanout; j++) out.push(`area-${String(i).padStart(2, '0')}/topic-${String(j).padStart(2, '0')}`);
  return out;
}

/**
 * Writes the tree into `dir` (which must not exist). Small files: `files` files of
 * minSize..maxSize bytes spread at random over the leaf folders; then `largeCount` files
 * of `largeSize` bytes under large/. Returns a description (counts, bytes).
 */
export async function generateTree(dir, spec, seed) {
  const rng = makeRng(seed);
  const folders = leafFolders(spec.fanout);
  await fsp.mkdir(dir, { recursive: true });
  for (const f of folders) fs.mkdirSync(path.join(dir, f), { recursive: true });
  let bytes = 0;
  const pending = [];
  for (let i = 0; i < spec.files; i++) {
    const folder = folders[rng.u32() % folders.length];
    const size = rng.int(spec.minSize, spec.maxSize);
    bytes += size;
    const p = path.join(dir, folder, `note-${String(i).padStart(6, '0')}.md`);
    pending.push(fsp.writeFile(p, textBytes(rng, size)));
    if (pending.length >= 64) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  if (spec.largeCount > 0) {
    await fsp.mkdir(path.join(dir, 'large'), { recursive: true });
    for (let i = 0; i < spec.largeCount; i++) {
      const fh = await fsp.open(path.join(dir, 'large', `video-${i}.bin`), 'w');
      const chunk = 8 << 20;
      for (let done = 0; done < spec.largeSize; done += chunk) await fh.write(binaryBytes(rng, Math.min(chunk, spec.largeSize - done)));
      await fh.close();
      bytes += spec.largeSize;
    }
  }
  return {
    files: spec.files + spec.largeCount,
    smallFiles: spec.files,
    largeFiles: spec.largeCount,
    folders: folders.length + spec.fanout + (spec.largeCount > 0 ? 1 : 0),
    bytes,
  };
}

/** Relative paths of the small generated files in `dir` (sorted), skipping state folders. */
export async function listSmallFiles(dir) {
  const out = [];
  for (const top of (await fsp.readdir(dir)).sort()) {
    if (!top.startsWith('area-')) continue;
    for (const sub of (await fsp.readdir(path.join(dir, top))).sort()) {
      for (const f of (await fsp.readdir(path.join(dir, top, sub))).sort()) out.push(`${top}/${sub}/${f}`);
    }
  }
  return out;
}

/**
 * The "300 changes" edit: `change` existing small files rewritten with new content,
 * `add` new files in existing folders, `del` files deleted. The choice depends only on
 * the seed and the file list, so every tool gets the same edit in one run.
 */
export async function mutateTree(dir, files, seed, { change = 100, add = 100, del = 100, minSize = 1024, maxSize = 8192 } = {}) {
  const rng = makeRng(seed);
  const picked = new Set();
  const pick = () => {
    for (;;) {
      const i = rng.u32() % files.length;
      if (!picked.has(i)) {
        picked.add(i);
        return files[i];
      }
    }
  };
  const changed = Array.from({ length: change }, pick);
  const deleted = Array.from({ length: del }, pick);
  const added = Array.from({ length: add }, (_, i) => {
    const folder = path.posix.dirname(files[rng.u32() % files.length]);
    return `${folder}/added-${seed}-${String(i).padStart(3, '0')}.md`;
  });
  for (const p of changed) await fsp.writeFile(path.join(dir, p), textBytes(rng, rng.int(minSize, maxSize)));
  for (const p of added) await fsp.writeFile(path.join(dir, p), textBytes(rng, rng.int(minSize, maxSize)));
  for (const p of deleted) await fsp.rm(path.join(dir, p));
  return { changed, added, deleted };
}

/**
 * Digest of a tree: sorted relative paths with sizes, plus the SHA-256 of every file's
 * bytes when `content` is set. Skips tool state (.bm-log, .unison, rclone temp files).
 */
export async function treeDigest(dir, { content = false } = {}) {
  const entries = [];
  const walk = async (rel) => {
    const ents = await fsp.readdir(rel === '' ? dir : path.join(dir, rel), { withFileTypes: true });
    for (const e of ents) {
      const p = rel === '' ? e.name : `${rel}/${e.name}`;
      if (rel === '' && (e.name === '.bm-log' || e.name.startsWith('.unison'))) continue;
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) entries.push(p);
    }
  };
  await walk('');
  entries.sort();
  const h = createHash('sha256');
  let bytes = 0;
  for (const p of entries) {
    const abs = path.join(dir, p);
    const st = await fsp.stat(abs);
    bytes += st.size;
    h.update(`${p}\0${st.size}\0`);
    if (content) h.update(await fsp.readFile(abs));
  }
  return { files: entries.length, bytes, digest: h.digest('hex').slice(0, 16) };
}
