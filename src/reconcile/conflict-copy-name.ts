import { MAX_PATH_BYTES, MAX_SEGMENT_BYTES, type SyncPath } from '../events/sync-path.js';

const MARK = '.conflict-';
/** Ends the kept part of a name that was cut to fit (U+2026, 3 bytes in UTF-8). */
const CUT = '\u2026';

/** Client names reduced to what is safe in a file name on every OS. */
function sanitizeName(name: string): string {
  const s = name
    .normalize('NFC')
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 32);
  return s === '' ? 'client' : s;
}

const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/**
 * The longest prefix of `s` whole code points long that fits in `max` UTF-8 bytes: a cut never
 * falls inside a character (nor between the halves of a surrogate pair), and depends on the
 * string alone, so every client cuts a name alike.
 */
function cutToBytes(s: string, max: number): string {
  let bytes = 0;
  let end = 0;
  for (const ch of s) {
    const n = utf8Bytes(ch);
    if (bytes + n > max) break;
    bytes += n;
    end += ch.length;
  }
  return s.slice(0, end);
}

/**
 * Where a losing head of a conflict is shown: beside the path, named after its writer and
 * version, keeping the extension so editors still open it:
 * `notes/plan.md` + alice + 01J...7F3K2Q9Z -> `notes/plan.conflict-alice-7F3K2Q9Z.md`.
 * Deterministic, so every client shows the same copies.
 *
 * A name that would not fit the file system (255 bytes of UTF-8 per name) or bm-log's path
 * limit (1,024 bytes) is cut, between characters, and the cut marked with `…`:
 * `<first part of the name>….conflict-alice-7F3K2Q9Z.md`. The extension is kept unless it
 * alone leaves no room, then the whole name is cut instead. Where the folder leaves no room
 * for even that, the copy goes to the root of the folder (ADR-0016). Every such name is a
 * valid sync path (property-tested).
 */
export function computeConflictCopyPath(path: SyncPath, clientName: string, versionId: string): SyncPath {
  const slash = path.lastIndexOf('/');
  const dir = path.slice(0, slash + 1);
  const file = path.slice(slash + 1);
  const dot = file.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [file.slice(0, dot), file.slice(dot)] : [file, ''];
  const tail = `${MARK}${sanitizeName(clientName)}-${versionId.slice(-8)}`;
  const whole = `${stem}${tail}${ext}`;
  const room = Math.min(MAX_SEGMENT_BYTES, MAX_PATH_BYTES - utf8Bytes(dir));
  if (utf8Bytes(whole) <= room) return `${dir}${whole}` as SyncPath;
  const fixed = utf8Bytes(CUT) + utf8Bytes(tail);
  // An "extension" too long to fit any name with the marks is cut as part of the name.
  const keepExt = utf8Bytes(ext) <= MAX_SEGMENT_BYTES - fixed;
  const need = fixed + (keepExt ? utf8Bytes(ext) : 0);
  // Beside the path when its folder leaves room for the marks and the extension; else at the root.
  const [at, space] = room >= need ? [dir, room] : ['', MAX_SEGMENT_BYTES];
  if (keepExt) return `${at}${cutToBytes(stem, space - need)}${CUT}${tail}${ext}` as SyncPath;
  return `${at}${cutToBytes(file, space - fixed)}${CUT}${tail}` as SyncPath;
}

/** True for names bm-log uses for conflict copies; such files are never synced as paths. */
export function isConflictCopyName(path: string): boolean {
  return path.slice(path.lastIndexOf('/') + 1).includes(MARK);
}

/**
 * True for a conflict copy name that may have been cut to fit (`…` right before the mark):
 * its owner cannot be read back from it (`computeConflictCopyOwner`). Names that merely end
 * in `…` before the mark answer true too, which only costs a focused plan (ADR-0009).
 */
export function isShortenedCopyName(copy: string): boolean {
  const file = copy.slice(copy.lastIndexOf('/') + 1);
  const at = file.indexOf(MARK);
  return at > 0 && file.endsWith(CUT, at);
}

/**
 * The path a conflict copy belongs to: the inverse of `computeConflictCopyPath` (a client
 * name and a version suffix never contain a dot, so the extension is what follows them).
 * Not the owner for a name cut to fit (`isShortenedCopyName`): callers check that first.
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
