import type { SyncPath } from '../events/sync-path.js';

const MARK = '.conflict-';

/** Client names reduced to what is safe in a file name on every OS. */
function sanitizeName(name: string): string {
  const s = name.normalize('NFC').replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 32);
  return s === '' ? 'client' : s;
}

/**
 * Where a losing head of a conflict is shown: beside the path, named after its writer and
 * version, keeping the extension so editors still open it:
 * `notes/plan.md` + alice + 01J...7F3K2Q9Z -> `notes/plan.conflict-alice-7F3K2Q9Z.md`.
 * Deterministic, so every client shows the same copies.
 */
export function computeConflictCopyPath(path: SyncPath, clientName: string, versionId: string): SyncPath {
  const slash = path.lastIndexOf('/');
  const dir = path.slice(0, slash + 1);
  const file = path.slice(slash + 1);
  const dot = file.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [file.slice(0, dot), file.slice(dot)] : [file, ''];
  return `${dir}${stem}${MARK}${sanitizeName(clientName)}-${versionId.slice(-8)}${ext}` as SyncPath;
}

/** True for names bm-log uses for conflict copies; such files are never synced as paths. */
export function isConflictCopyName(path: string): boolean {
  return path.slice(path.lastIndexOf('/') + 1).includes(MARK);
}

/**
 * The path a conflict copy belongs to: the inverse of `computeConflictCopyPath` (a client
 * name and a version suffix never contain a dot, so the extension is what follows them).
 */
export function computeConflictCopyOwner(copy: string): SyncPath {
  const slash = copy.lastIndexOf('/');
  const file = copy.slice(slash + 1);
  const at = file.indexOf(MARK);
  if (at < 0) return copy as SyncPath;
  const rest = file.slice(at + MARK.length);
  const dot = rest.indexOf('.');
  return `${copy.slice(0, slash + 1)}${file.slice(0, at)}${dot < 0 ? '' : rest.slice(dot)}` as SyncPath;
}
