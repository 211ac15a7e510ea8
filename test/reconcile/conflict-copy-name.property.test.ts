import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computePathProblem, isSyncPath, MAX_PATH_BYTES, type SyncPath } from '../../src/events/sync-path.js';
import {
  computeConflictCopyOwner,
  computeConflictCopyPath,
  isConflictCopyName,
  isShortenedCopyName,
} from '../../src/reconcile/conflict-copy-name.js';

// A focused plan (ADR-0009) maps a changed conflict copy back to the path it belongs to with
// computeConflictCopyOwner: it must invert computeConflictCopyPath for every path that is not
// itself a copy name, whatever the client's name and the version id, unless the name had to be
// cut to fit (isShortenedCopyName, then the focused plan plans in full).
// Every copy name must be a path bm-log can write and sync (ADR-0016): at most 255 bytes of
// UTF-8 per name and 1,024 in all, cut between characters, the same on every client.

const segment = fc.stringMatching(/^[A-Za-z0-9 ._-]{1,12}$/).filter((s) => s !== '.' && s !== '..');
const pathArb = fc.array(segment, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/'));
const idArb = fc.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/);

/** Names up to and past every limit: long runs of 1- to 4-byte characters, dots, long extensions. */
const longSegment = fc
  .array(fc.tuple(fc.constantFrom('a', 'Z', '.', '-', ' ', 'é', 'e\u0301', '中', '😀', '…'), fc.integer({ min: 1, max: 90 })), {
    minLength: 1,
    maxLength: 6,
  })
  .map((runs) => runs.map(([ch, n]) => ch.repeat(n)).join(''));
const longPathArb = fc
  .tuple(fc.array(fc.oneof(segment, longSegment), { maxLength: 8 }), longSegment)
  .map(([dirs, file]) => [...dirs, file].join('/'))
  .filter((p) => isSyncPath(p) && !isConflictCopyName(p));
/** Paths whose folders take nearly all of the 1,024 bytes: little or no room beside the file. */
const deepPathArb = fc
  .tuple(fc.integer({ min: 940, max: 1015 }), fc.constantFrom('a', 'é', '😀'), fc.stringMatching(/^[a-z]{1,6}(\.[a-z]{1,4})?$/))
  .map(([total, ch, file]) => {
    const dirs: string[] = [];
    let used = 0;
    while (used + 201 + file.length <= total) {
      dirs.push(ch.repeat(Math.floor(200 / Buffer.byteLength(ch))));
      used += Buffer.byteLength(dirs.at(-1)!) + 1;
    }
    dirs.push('d'.repeat(Math.max(1, total - used - file.length - 1)));
    return [...dirs, file].join('/');
  })
  .filter((p) => isSyncPath(p));
const anyPathArb = fc.oneof({ weight: 4, arbitrary: longPathArb }, { weight: 1, arbitrary: deepPathArb });

describe('conflict copy names', () => {
  it('computeConflictCopyOwner inverts computeConflictCopyPath (short names are never cut)', () => {
    fc.assert(
      fc.property(pathArb, fc.string({ maxLength: 40 }), idArb, (p, client, id) => {
        fc.pre(!isConflictCopyName(p));
        const copy = computeConflictCopyPath(p as SyncPath, client, id);
        expect(isConflictCopyName(copy)).toBe(true);
        expect(isShortenedCopyName(copy)).toBe(false);
        expect(computeConflictCopyOwner(copy)).toBe(p);
      }),
      { numRuns: 2000 },
    );
  });

  it('every copy name is a valid sync path within the limits, cut between characters, beside its path, keeping what it can', () => {
    fc.assert(
      fc.property(anyPathArb, fc.string({ maxLength: 40 }), idArb, (p, client, id) => {
        const copy = computeConflictCopyPath(p as SyncPath, client, id);
        expect(computePathProblem(copy), copy).toBeUndefined();
        expect(Buffer.byteLength(copy)).toBeLessThanOrEqual(MAX_PATH_BYTES);
        expect(isConflictCopyName(copy)).toBe(true);
        expect(computeConflictCopyPath(p as SyncPath, client, id)).toBe(copy);
        expect(copy.endsWith(id.slice(-8)) || copy.includes(`${id.slice(-8)}.`)).toBe(true);
        const dir = p.slice(0, p.lastIndexOf('/') + 1);
        const file = p.slice(dir.length);
        const name = copy.slice(copy.lastIndexOf('/') + 1);
        if (!isShortenedCopyName(copy)) {
          expect(computeConflictCopyOwner(copy)).toBe(p);
          return;
        }
        // Cut: beside the path (or, where its folder leaves no room, at the root), the kept part
        // is a whole-character prefix of the name, and an extension of a sane length stays.
        expect([dir, '']).toContain(copy.slice(0, copy.length - name.length));
        const kept = name.slice(0, name.indexOf('\u2026.conflict-'));
        expect(file.startsWith(kept)).toBe(true);
        expect(Buffer.from(kept, 'utf8').toString('utf8')).toBe(kept);
        const dot = file.lastIndexOf('.');
        if (dot > 0 && Buffer.byteLength(file.slice(dot)) <= 150) expect(name.endsWith(file.slice(dot)), copy).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('two versions of one path never share a copy name, cut or not', () => {
    fc.assert(
      fc.property(anyPathArb, idArb, idArb, (p, a, b) => {
        fc.pre(a.slice(-8) !== b.slice(-8));
        expect(computeConflictCopyPath(p as SyncPath, 'alice', a)).not.toBe(computeConflictCopyPath(p as SyncPath, 'alice', b));
      }),
      { numRuns: 1000 },
    );
  });

  it('examples: extension kept, no extension, dotfile, nested; a 245-character name; a folder leaving no room', () => {
    expect(computeConflictCopyOwner('notes/plan.conflict-alice-7F3K2Q9Z.md')).toBe('notes/plan.md');
    expect(computeConflictCopyOwner('Makefile.conflict-bob-01234567')).toBe('Makefile');
    expect(computeConflictCopyOwner('.bashrc.conflict-c-ABCDEFGH')).toBe('.bashrc');
    expect(computeConflictCopyOwner('a/b.c/v1.2.tar.conflict-x-y-ABCDEFGH.gz')).toBe('a/b.c/v1.2.tar.gz');
    const long = `${'n'.repeat(242)}.md` as SyncPath;
    const copy = computeConflictCopyPath(long, 'alice', '01J0000000000000007F3K2Q9Z');
    expect(copy).toBe(`${'n'.repeat(225)}\u2026.conflict-alice-7F3K2Q9Z.md`);
    expect(Buffer.byteLength(copy)).toBe(255);
    // A folder that leaves no room beside the file: the copy goes to the root, cut the same way.
    const deep = `${Array.from({ length: 4 }, () => 'd'.repeat(250)).join('/')}/${'x'.repeat(15)}.md` as SyncPath;
    expect(computeConflictCopyPath(deep, 'bob', '01J00000000000000000000042')).toBe(`${'x'.repeat(15)}\u2026.conflict-bob-00000042.md`);
  });
});
