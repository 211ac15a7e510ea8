import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSyncPath } from '../../src/events/sync-path.js';
import { MemoryTree } from '../support/memory-tree.js';
import { computePathKey, FS_SEMANTICS, planStoredName } from '../support/name-semantics.js';

/**
 * Properties of the volumes MemoryTree models (name-semantics.ts, ADR-0017) against the
 * sync-path rules: what a path accepted in an event becomes on each volume.
 */
const unit = fc.constantFrom(
  ...'aAbBzZ09-_ .~',
  'é',
  'e\u0301',
  'É',
  'ß',
  'ǅ',
  '文',
  '😀',
  'ǆ',
  'K',
  '\u212a',
  ':',
  '?',
  '*',
  '<',
  '|',
  '"',
);
const segment = fc.oneof(
  fc.string({ unit, minLength: 1, maxLength: 8 }),
  fc.constantFrom('con', 'CON.txt', 'conin$', 'CONOUT$.log', 'lpt1', 'lpt10', 'com¹', 'x.', 'y ', 'é'.repeat(128), 'a'.repeat(255)),
);
const syncPath = fc
  .array(segment, { minLength: 1, maxLength: 3 })
  .map((s) => s.join('/'))
  .filter(isSyncPath);

/** Names NTFS refuses that the sync-path rules accept (reported gap: such a file never reaches Windows). */
const ntfsOnlyRefused = (p: string) =>
  p.split('/').some((seg) => /[<>:"|?*]/.test(seg) || /^(conin\$|conout\$)(\..*)?$/i.test(seg) || seg.length > 255);

describe('file names on each volume (MemoryTree fs semantics)', () => {
  it('every sync path is stored as itself on posix and apfs, decomposed on hfs, and as itself on ntfs unless it has a character or device name only Windows refuses', () => {
    fc.assert(
      fc.property(syncPath, (p) => {
        for (const fs of FS_SEMANTICS) {
          const tree = new MemoryTree('/t', () => 1, fs);
          const ok = tree.userWrite(p, new Uint8Array([1]));
          if (fs === 'ntfs' && ntfsOnlyRefused(p)) {
            expect(ok, `${fs} ${p}`).toBe(false);
            continue;
          }
          expect(ok, `${fs} ${JSON.stringify(p)}`).toBe(true);
          expect([...tree.files.keys()]).toEqual([fs === 'hfs' ? p.normalize('NFD') : p]);
          expect(tree.resolve(p)).toBe([...tree.files.keys()][0]);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('two paths name one file on a volume exactly when their keys are equal; the first spelling stays', () => {
    fc.assert(
      fc.property(syncPath, syncPath, (a, b) => {
        for (const fs of FS_SEMANTICS) {
          const tree = new MemoryTree('/t', () => 1, fs);
          if (!tree.userWrite(a, new Uint8Array([1]))) continue;
          const wrote = tree.userWrite(b, new Uint8Array([2]));
          const same = computePathKey(fs, a) === computePathKey(fs, b);
          if (!wrote) continue; // refused (a folder in the way, or a name this volume cannot hold)
          expect(tree.files.size, `${fs}: ${JSON.stringify(a)} ${JSON.stringify(b)}`).toBe(same ? 1 : 2);
          if (same) expect([...tree.files.keys()][0]).toBe(fs === 'hfs' ? a.normalize('NFD') : a);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a name is refused with ENAMETOOLONG past 255 UTF-8 bytes on posix/apfs and 255 UTF-16 units on hfs/ntfs', () => {
    expect(planStoredName('posix', 'é'.repeat(128))).toEqual({ error: 'ENAMETOOLONG' });
    expect(planStoredName('ntfs', 'é'.repeat(128))).toEqual({ name: 'é'.repeat(128) });
    expect(planStoredName('hfs', 'é'.repeat(128))).toEqual({ error: 'ENAMETOOLONG' }); // 256 units once decomposed
    expect(planStoredName('ntfs', 'a'.repeat(256))).toEqual({ error: 'ENAMETOOLONG' });
    expect(planStoredName('ntfs', 'x. ')).toEqual({ name: 'x' });
    expect(planStoredName('ntfs', 'nul.txt')).toEqual({ error: 'EINVAL' });
  });
});
