import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SyncPath } from '../../src/events/sync-path.js';
import { computeConflictCopyOwner, computeConflictCopyPath, isConflictCopyName } from '../../src/reconcile/conflict-copy-name.js';

// A focused plan (ADR-0009) maps a changed conflict copy back to the path it belongs to with
// computeConflictCopyOwner: it must invert computeConflictCopyPath for every path that is not
// itself a copy name, whatever the client's name and the version id.

const segment = fc.stringMatching(/^[A-Za-z0-9 ._-]{1,12}$/).filter((s) => s !== '.' && s !== '..');
const pathArb = fc.array(segment, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/'));

describe('conflict copy names', () => {
  it('computeConflictCopyOwner inverts computeConflictCopyPath', () => {
    fc.assert(
      fc.property(pathArb, fc.string({ maxLength: 40 }), fc.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/), (p, client, id) => {
        fc.pre(!isConflictCopyName(p));
        const copy = computeConflictCopyPath(p as SyncPath, client, id);
        expect(isConflictCopyName(copy)).toBe(true);
        expect(computeConflictCopyOwner(copy)).toBe(p);
      }),
      { numRuns: 2000 },
    );
  });

  it('examples: extension kept, no extension, dotfile, nested', () => {
    expect(computeConflictCopyOwner('notes/plan.conflict-alice-7F3K2Q9Z.md')).toBe('notes/plan.md');
    expect(computeConflictCopyOwner('Makefile.conflict-bob-01234567')).toBe('Makefile');
    expect(computeConflictCopyOwner('.bashrc.conflict-c-ABCDEFGH')).toBe('.bashrc');
    expect(computeConflictCopyOwner('a/b.c/v1.2.tar.conflict-x-y-ABCDEFGH.gz')).toBe('a/b.c/v1.2.tar.gz');
  });
});
