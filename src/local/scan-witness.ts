import type { Dirent } from 'node:fs';
import { decodeMsgpack, encodeMsgpack } from '../events/codec.js';

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
export interface Listing {
  readonly dirs: string[];
  readonly names: string[];
  readonly kinds: string[];
  /** Per folder: size, mtimeMs, ino, mode of each F entry, in order. */
  readonly stats: number[][];
}

export interface DecodedListing {
  readonly dirs: readonly string[];
  readonly names: readonly string[];
  readonly kinds: readonly string[];
  /** Every folder's stats, concatenated in folder order. */
  readonly stats: Float64Array;
}

const WITNESS_VERSION = 1;

export function rawKind(ent: Dirent): string {
  return ent.isFile() ? 'f' : ent.isDirectory() ? 'd' : ent.isSymbolicLink() ? 'l' : 'o';
}

export function encodeListing(l: Listing): Uint8Array {
  const flat = new Float64Array(l.stats.reduce((n, s) => n + s.length, 0));
  let k = 0;
  for (const s of l.stats) {
    flat.set(s, k);
    k += s.length;
  }
  return encodeMsgpack({ v: WITNESS_VERSION, dirs: l.dirs, names: l.names, kinds: l.kinds, stats: new Uint8Array(flat.buffer) });
}

/** The listing, or undefined when `bytes` is not one this version wrote (then: rescan). */
export function decodeListing(bytes: Uint8Array): DecodedListing | undefined {
  let w: unknown;
  try {
    w = decodeMsgpack(bytes, 'scan witness');
  } catch {
    return undefined;
  }
  if (typeof w !== 'object' || w === null) return undefined;
  const { v, dirs, names, kinds, stats } = w as Record<string, unknown>;
  const strings = (a: unknown): a is string[] => Array.isArray(a) && a.every((x) => typeof x === 'string');
  if (v !== WITNESS_VERSION || !strings(dirs) || !strings(names) || !strings(kinds) || !(stats instanceof Uint8Array)) return undefined;
  if (names.length !== dirs.length || kinds.length !== dirs.length || stats.byteLength % 32 !== 0) return undefined;
  // Copied: the decoded bytes may sit at an offset a Float64Array cannot start at.
  const flat = new Float64Array(stats.byteLength / 8);
  new Uint8Array(flat.buffer).set(stats);
  return { dirs, names, kinds, stats: flat };
}
