import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import ignore from 'ignore';
import { BmError, ErrorCode } from '../errors.js';

export const IGNORE_FILE = '.bmignore';

/**
 * Always ignored: bm-log's own state (at any depth: a nested bm-log folder's too, ADR-0016),
 * version-control folders, OS junk, editor swap/backup files and bm-log's own temp files
 * (ADR-0006). A .bmignore negation can re-include some of these for the matcher, never
 * `.bm-log`: the scan and the path check refuse it whatever the rules say.
 */
export const BUILTIN_IGNORES: readonly string[] = [
  '.bm-log/',
  '.git/',
  '.bm-tmp-*',
  '.DS_Store',
  '._*',
  'Thumbs.db',
  'desktop.ini',
  '.Trash-*/',
  '*.swp',
  '*.swx',
  '*~',
  '.~lock.*#',
  '*.crdownload',
  '*.part',
];

/**
 * `ignore` caches the answer for every path it is asked about, and a scan asks about every
 * file: 100,000 cached answers held through a first sync. The matcher starts a new instance
 * (rules compiled again, in well under a millisecond) after this many answers.
 */
const MATCHER_ANSWERS = 10_000;

/** Pure: a matcher over gitignore-syntax rules. Folder paths are tested with a trailing '/'. */
export function computeIgnoreMatcher(rules: string): (p: string) => boolean {
  const build = () =>
    ignore()
      .add([...BUILTIN_IGNORES])
      .add(rules);
  let ig = build();
  let answers = 0;
  return (p: string) => {
    if (++answers > MATCHER_ANSWERS) {
      ig = build();
      answers = 1;
    }
    return ig.ignores(p);
  };
}

/** Reads `<root>/.bmignore` (absent: built-ins only). */
export async function readIgnoreMatcher(root: string): Promise<(p: string) => boolean> {
  return computeIgnoreMatcher(await readIgnoreRules(root));
}

/** The text of `<root>/.bmignore` ('' when absent). */
export async function readIgnoreRules(root: string): Promise<string> {
  try {
    return await fs.readFile(path.join(root, IGNORE_FILE), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT')
      throw new BmError(
        ErrorCode.localIo,
        `cannot read ${IGNORE_FILE} (${code})`,
        'fix its permissions; nothing was synced',
        {},
        { cause: e },
      );
    return '';
  }
}
