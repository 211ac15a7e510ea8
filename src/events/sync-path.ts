import { BmError, ErrorCode } from '../errors.js';

/**
 * A path inside the sync root as it travels in events: relative, '/'-separated, no '.',
 * '..' or empty segments, no NUL/control characters or backslashes, no segment at any depth
 * that aliases bm-log's own state (`.bm-log`: a nested bm-log folder's key and index too,
 * ADR-0016) or a git folder, and no Windows reserved device names.
 * Every path read from an event is checked with `checkSyncPath` before it can reach the
 * file system, so a validly signed event can still never make bm-log write outside the root.
 */
export type SyncPath = string & { readonly __brand: 'SyncPath' };

/** The longest path bm-log syncs, in UTF-8 bytes. */
export const MAX_PATH_BYTES = 1024;
/** The longest name (path segment) in UTF-8 bytes: what ext4, APFS and most file systems allow. */
export const MAX_SEGMENT_BYTES = 255;
// Device names that Windows resolves regardless of extension (con.md is CON).
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
// With the u flag this matches only unpaired surrogates. They have no UTF-8 form: msgpack
// and the file system each substitute other characters, so writer and readers would name
// different files.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Why `p` is not an acceptable sync path, or undefined when it is. Pure. */
export function computePathProblem(p: string): string | undefined {
  const whole = computeWholePathProblem(p);
  if (whole !== undefined) return whole;
  const segments = p.split('/');
  for (const [i, seg] of segments.entries()) {
    const problem = computeSegmentProblem(seg, i === 0);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** The checks on the path as a whole string. */
function computeWholePathProblem(p: string): string | undefined {
  if (typeof p !== 'string' || p.length === 0) return 'empty path';
  if (Buffer.byteLength(p, 'utf8') > MAX_PATH_BYTES) return `longer than ${MAX_PATH_BYTES} bytes`;
  if (CONTROL.test(p)) return 'contains NUL or a control character';
  if (LONE_SURROGATE.test(p)) return 'contains an unpaired UTF-16 surrogate (no UTF-8 form)';
  if (p.includes('\\')) return 'contains a backslash';
  if (p.startsWith('/')) return 'absolute path';
  if (/^[a-zA-Z]:/.test(p)) return 'drive-letter path';
  return undefined;
}

/**
 * A segment as case-insensitive, normalising file systems (and Windows, which drops trailing
 * dots and spaces) see it: `.BM-LOG.` and `.bm-log` name one folder there.
 */
function computeFoldedSegment(seg: string): string {
  // (Printable ASCII is its own NFC form: skip the normalisation, the common case by far.)
  return (PRINTABLE_ASCII.test(seg) ? seg : seg.normalize('NFC')).toLowerCase().replace(/[. ]+$/, '');
}

/**
 * True for a file or folder name that is, or aliases, bm-log's state folder (`.bm-log`).
 * Such a name is never read, synced or written at any depth: it holds a nested bm-log
 * folder's private key, config and index (ADR-0016).
 */
export function isStateDirName(name: string): boolean {
  return name.length >= 7 && name.charCodeAt(0) === 0x2e && computeFoldedSegment(name) === '.bm-log';
}

/** The checks on one '/'-separated segment (`first`: the segment at the root). */
function computeSegmentProblem(seg: string, first: boolean): string | undefined {
  if (seg === '') return 'empty segment (leading, trailing or doubled /)';
  if (seg === '.' || seg === '..') return `'${seg}' segment`;
  if (Buffer.byteLength(seg, 'utf8') > MAX_SEGMENT_BYTES) return `segment longer than ${MAX_SEGMENT_BYTES} bytes`;
  const folded = computeFoldedSegment(seg);
  if (folded === '.bm-log')
    return first ? 'aliases the .bm-log state folder' : 'aliases the .bm-log state folder of a nested bm-log folder';
  if (folded === '.git') return 'aliases a .git folder';
  if (WINDOWS_RESERVED.test(folded)) return 'Windows reserved device name';
  if (/[. ]$/.test(seg)) return 'segment ends in a dot or space (aliases another name on Windows)';
  return undefined;
}

/**
 * `isSyncPath` for checking many paths of one tree: the folder part of each path is checked
 * once per folder (cached), the whole string and the last segment every time. The same
 * answers as `isSyncPath`.
 */
export function createSyncPathCheck(): (p: string) => p is SyncPath {
  const folders = new Map<string, boolean>();
  return (p): p is SyncPath => {
    if (computeWholePathProblem(p) !== undefined) return false;
    const slash = p.lastIndexOf('/');
    if (slash < 0) return computeSegmentProblem(p, true) === undefined;
    const dir = p.slice(0, slash);
    let ok = folders.get(dir);
    if (ok === undefined) {
      ok = dir.split('/').every((seg, i) => computeSegmentProblem(seg, i === 0) === undefined);
      folders.set(dir, ok);
    }
    return ok && computeSegmentProblem(p.slice(slash + 1), false) === undefined;
  };
}

export function isSyncPath(p: string): p is SyncPath {
  return computePathProblem(p) === undefined;
}

/** Returns `p` as a SyncPath or throws a typed bad-path error. */
export function mustSyncPath(p: string): SyncPath {
  const problem = computePathProblem(p);
  if (problem !== undefined) {
    throw new BmError(
      ErrorCode.badPath,
      `unsafe path ${JSON.stringify(p)}: ${problem}`,
      'the event naming it is rejected; nothing was written for it',
      { path: p },
    );
  }
  return p as SyncPath;
}

/**
 * The key under which two paths collide on case-insensitive or normalising file systems
 * (macOS, Windows): NFC, lowercased. Two different paths with one fold key are "twins".
 */
export function computeFoldKey(p: string): string {
  return (PRINTABLE_ASCII.test(p) ? p : p.normalize('NFC')).toLowerCase();
}

/**
 * Compares two paths in the order of their UTF-8 bytes (code point order), the order LevelDB
 * keeps its keys in. JavaScript's `<` compares UTF-16 code units, which differs where a
 * surrogate (a character above U+FFFF) meets U+E000-U+FFFF: ranges of paths taken from the
 * index and from a scan must agree on that.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** A UTF-16 code unit's place in code point order (surrogates come after U+FFFF). */
function codePointRank(u: number): number {
  if (u >= 0xd800 && u <= 0xdfff) return u + 0x2000;
  if (u >= 0xe000) return u - 0x800;
  return u;
}
