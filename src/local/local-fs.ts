import type { Stats } from 'node:fs';
import * as path from 'node:path';

// Small facts about the local file system shared by the tree (fs-tree.ts) and its scan (scan-walk.ts).

/** The name prefix of bm-log's temp files (written, then renamed over the target). */
export const TMP_PREFIX = '.bm-tmp-';

/** The errno code of a failed file system call (`ENOENT`, ...), if it has one. */
export function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

/** Whether a file's stats still match what was recorded (size, mtime and inode). */
export function sameStat(st: Stats, f: { size: number; mtimeMs: number; ino: number }): boolean {
  return st.size === f.size && st.mtimeMs === f.mtimeMs && st.ino === f.ino;
}

/** The absolute path of `rel` (a `/`-separated path under the root; '' is the root itself). */
export function joinRoot(root: string, rel: string): string {
  return rel === '' ? root : path.join(root, ...rel.split('/'));
}
