/**
 * How a file system names files (ADR-0017), for MemoryTree to behave as macOS and Windows
 * volumes do. Pure. Modelled:
 * - `posix` (ext4 and most Linux file systems): names are bytes; case and normalisation
 *   matter; at most 255 UTF-8 bytes a name.
 * - `apfs` (macOS since 10.13, default case-insensitive): case- and
 *   normalisation-insensitive, preserving: a name is stored as it was given, and `Notes.md`
 *   opens `notes.md`; at most 255 UTF-8 bytes.
 * - `hfs` (HFS+ and macOS volumes that store decomposed names): as `apfs`, but a name is
 *   stored in NFD, so a file created as `café` (NFC) is listed as `café` (NFD); at most 255
 *   UTF-16 units.
 * - `ntfs` (through the Win32 API): case-insensitive (not normalisation-insensitive),
 *   preserving; device names (CON, NUL, COM1, LPT1, CONIN$, ... with any extension) cannot be created;
 *   trailing dots and spaces are dropped from a name; `<>:"|?*` are refused; at most 255
 *   UTF-16 units.
 */
export type FsSemantics = 'posix' | 'apfs' | 'hfs' | 'ntfs';

export const FS_SEMANTICS: readonly FsSemantics[] = ['posix', 'apfs', 'hfs', 'ntfs'];

const DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/i;
// eslint-disable-next-line no-control-regex
const NTFS_FORBIDDEN = /[<>:"|?*\u0000-\u001f]/;

/** The key two names of one folder share when the file system takes them for the same name. */
export function computeNameKey(fs: FsSemantics, name: string): string {
  switch (fs) {
    case 'posix':
      return name;
    case 'apfs':
    case 'hfs':
      return name.normalize('NFD').toLowerCase().normalize('NFD');
    case 'ntfs':
      return name.toUpperCase();
  }
}

/** The whole path's key: each segment's key (folders match the same way as names). */
export function computePathKey(fs: FsSemantics, path: string): string {
  return fs === 'posix'
    ? path
    : path
        .split('/')
        .map((s) => computeNameKey(fs, s))
        .join('/');
}

/**
 * The name a new entry called `name` gets on disk, or why it cannot be created (an errno
 * code, as the system call would fail).
 */
export function planStoredName(fs: FsSemantics, name: string): { name: string } | { error: 'EINVAL' | 'ENAMETOOLONG' } {
  let stored = name;
  if (fs === 'hfs') stored = name.normalize('NFD');
  if (fs === 'ntfs') {
    stored = name.replace(/[. ]+$/, '');
    if (stored === '' || NTFS_FORBIDDEN.test(stored) || DEVICE.test(stored)) return { error: 'EINVAL' };
  }
  const long = fs === 'hfs' || fs === 'ntfs' ? stored.length > 255 : Buffer.byteLength(stored, 'utf8') > 255;
  return long ? { error: 'ENAMETOOLONG' } : { name: stored };
}
