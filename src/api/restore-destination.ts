import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { BmError, ErrorCode } from '../errors.js';
import { computePathProblem, isStateDirName } from '../events/sync-path.js';
import { displayName } from '../client/human-text.js';

// Where `restore --to FILE` may write (ADR-0026). Anywhere the user can write, as a new file:
// outside the synced folder it is a plain copy; inside it, it is a new file that the next
// sync uploads like any other (it must then be a name bm-log can sync). Never into a
// `.bm-log` state folder at any depth, however the path reaches it (symlinks are resolved).

/** Where the file goes: its absolute path (symlinks resolved), and its path in the synced folder when it is inside it. */
export interface RestoreDestination {
  readonly file: string;
  /** The sync path the next sync uploads it as, or null when the file is outside the folder. */
  readonly syncsAs: string | null;
}

/**
 * Pure: where `realParent/base` lies against the folder's real root `realRoot` (both with
 * symlinks resolved). A usage error for a destination inside any `.bm-log` folder, and for
 * one inside the synced folder whose name cannot be synced.
 */
export function planRestoreDestination(realRoot: string, realParent: string, base: string): RestoreDestination {
  const file = path.join(realParent, base);
  if (file.split(path.sep).some(isStateDirName)) {
    throw new BmError(
      ErrorCode.usage,
      `--to ${displayName(file)} is inside a .bm-log state folder, which bm-log never writes into`,
      'choose a file outside any .bm-log folder; nothing was written',
    );
  }
  const rel = path.relative(realRoot, file);
  if (rel === '' || rel.startsWith(`..${path.sep}`) || rel === '..' || path.isAbsolute(rel)) return { file, syncsAs: null };
  const syncPath = rel.split(path.sep).join('/');
  const problem = computePathProblem(syncPath);
  if (problem !== undefined) {
    throw new BmError(
      ErrorCode.usage,
      `--to ${displayName(syncPath)} is inside the synced folder but is not a name bm-log can sync (${problem})`,
      'choose another name, or a file outside the folder; nothing was written',
    );
  }
  return { file, syncsAs: syncPath };
}

/** `--to` resolved against the real paths of the folder and of the destination's parent (which must exist). */
export async function readRestoreDestination(root: string, to: string): Promise<RestoreDestination> {
  const wanted = path.resolve(to);
  const parent = await fs.realpath(path.dirname(wanted)).catch((e: NodeJS.ErrnoException) => {
    throw new BmError(
      ErrorCode.usage,
      `--to ${displayName(wanted)}: its folder ${displayName(path.dirname(wanted))} cannot be used (${e.code ?? e.message})`,
      'create the folder first, or choose a file in an existing folder; nothing was written',
    );
  });
  return planRestoreDestination(await fs.realpath(root), parent, path.basename(wanted));
}
