import * as path from 'node:path';
import { keyOfContent } from '../events/packs.js';
import type { SyncPath } from '../events/sync-path.js';
import type { VersionRecord } from '../projections/version-record.js';
import type { PlanOp } from '../reconcile/plan-sync.js';
import type { ClientSession } from './client-session.js';
import { shellCommand } from './human-text.js';

/**
 * Commands bm-log prints for the user to paste (ADR-0018): each names real values (a version
 * id, never a hash prefix; quoted paths) and runs from where the user ran bm-log, so it
 * carries `--dir` when that is not inside the folder. Tests paste every one into bash.
 */

/** Where a printed command will be pasted: the user's working directory, and the folder it is about. */
export interface CommandPlace {
  readonly cwd: string;
  readonly root: string;
}

function isInside(dir: string, root: string): boolean {
  const rel = path.relative(root, dir);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** `bm-log ARGS`, quoted for bash and zsh, with `--dir ROOT` when pasted outside the folder. */
export function pasteable(args: readonly string[], place: CommandPlace): string {
  return shellCommand(isInside(place.cwd, place.root) ? args : [...args, '--dir', place.root]);
}

/**
 * Every `bm-log ...` command quoted in a hint (between backticks), given the `--dir` the user
 * passed: pasted where they ran bm-log, it then finds the same folder. `init` is left alone
 * (its --dir names the folder to make) as is a command that names a --dir already.
 */
export function localizeHint(hint: string, dirFlag: string | undefined): string {
  if (dirFlag === undefined) return hint;
  const dirArgs = shellCommand(['--dir', path.resolve(dirFlag)]).slice('bm-log '.length);
  return hint.replace(/`(bm-log (?!init\b)[^`]*)`/g, (whole, cmd: string) => (/\s--dir\b/.test(cmd) ? whole : `\`${cmd} ${dirArgs}\``));
}

/** A path as a command argument: one starting with '-' would be read as an option. */
export function pathArg(p: string): string {
  return p.startsWith('-') ? `./${p}` : p;
}

/** The newest version of a path holding `hash` (what a deleted local file showed), if any. */
function versionHolding(history: readonly VersionRecord[], hash: string): VersionRecord | undefined {
  let best: VersionRecord | undefined;
  for (const v of history) {
    if (v.content?.hash !== hash) continue;
    if (best === undefined || v.time > best.time || (v.time === best.time && v.id > best.id)) best = v;
  }
  return best;
}

/** At most this many blob checks at once (each a HEAD on S3). */
const CHECKS_IN_FLIGHT = 8;

/**
 * For each local delete, how to get the file back: `bm-log restore PATH --at VERSION` naming
 * the version the deleted file showed, when its bytes are still on the remote; otherwise
 * where its history is. Read after the sync committed (the history index holds the version).
 */
export async function computeRestoreHints(s: ClientSession, ops: readonly PlanOp[], place: CommandPlace): Promise<Map<SyncPath, string>> {
  const deletes = ops.filter((o): o is Extract<PlanOp, { kind: 'deleteLocal' }> => o.kind === 'deleteLocal');
  const hints = new Map<SyncPath, string>();
  const history = (p: SyncPath) => `history: \`${pasteable(['log', pathArg(p)], place)}\``;
  let next = 0;
  const worker = async () => {
    while (next < deletes.length) {
      const op = deletes[next++]!;
      if (op.version === null) {
        hints.set(op.path, `deleted for everyone and collected by gc; ${history(op.path)}`);
        continue;
      }
      const v = versionHolding(await s.index.getPathHistory(op.path), op.expect.hash);
      if (v === undefined) hints.set(op.path, history(op.path));
      else if (v.content === null || (await s.store.head(keyOfContent(v.content))) === undefined)
        hints.set(op.path, `its content is no longer on the remote; ${history(op.path)}`);
      else hints.set(op.path, `restore: \`${pasteable(['restore', pathArg(op.path), '--at', v.id], place)}\``);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CHECKS_IN_FLIGHT, deletes.length) }, worker));
  return hints;
}
