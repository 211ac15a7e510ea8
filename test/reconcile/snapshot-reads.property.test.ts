import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BmError, ErrorCode } from '../../src/errors.js';
import type { ContentHash } from '../../src/events/ids.js';
import { keyOfContent, readContent } from '../../src/events/packs.js';
import type { ContentRef, PackLocation } from '../../src/events/schema.js';
import { sha256Hex } from '../../src/events/signing.js';
import { collectChunks } from '../../src/events/store/lent-chunks.js';
import { MemoryStore } from '../../src/events/store/memory-store.js';
import type { SnapshotPort } from '../../src/events/store/snapshot-port.js';
import { createSnapshotFallback, planContentSnapshots } from '../../src/reconcile/snapshot-reads.js';

/*
 * Invariant of reads from bucket snapshots (ADR-0034 §4): a content read back from snapshots is
 * exactly the bytes its ref names (size and hash), from the first snapshot in order that holds
 * them, whatever the others hold (nothing, other bytes, a pack with the entry elsewhere); when
 * none does, the read fails as blob-missing naming every snapshot tried. Never other bytes.
 */

/** Snapshots as plain maps: version -> key -> bytes. */
function portOf(views: ReadonlyMap<string, ReadonlyMap<string, Uint8Array>>, reads: string[]): SnapshotPort {
  return {
    take: async () => undefined,
    get: async (version, key) => {
      reads.push(version);
      return views.get(version)?.get(key);
    },
  };
}

const PACK: PackLocation = { client: '01SRA000000000000000000001', id: '01SRA000000000000000000009', offset: 0, length: 0 } as PackLocation;

/** What a snapshot holds at the content's key: nothing, the right object, or a tampered one. */
const holding = fc.constantFrom('none', 'right', 'tampered');

describe('reads from bucket snapshots return the named bytes or fail (property)', () => {
  it('the bytes come from the first snapshot holding them; otherwise blob-missing listing every snapshot', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 64 }), // an empty content cannot be tampered with
        fc.uint8Array({ minLength: 0, maxLength: 32 }),
        fc.boolean(),
        fc.array(holding, { minLength: 0, maxLength: 5 }),
        async (content, before, packed, holds) => {
          const ref: ContentRef = {
            hash: sha256Hex(content) as ContentHash,
            size: content.length,
            mode: 0o644,
            ...(packed ? { pack: { ...PACK, offset: before.length, length: content.length } } : {}),
          };
          const object = packed ? Buffer.concat([before, content, before]) : Buffer.from(content);
          const tampered = Buffer.from(object);
          tampered[packed ? before.length : 0] = (tampered[packed ? before.length : 0] ?? 0) ^ 1;
          const views = new Map(
            holds.map((h, i) => {
              const m = new Map<string, Uint8Array>();
              if (h !== 'none') m.set(keyOfContent(ref), h === 'right' ? object : tampered);
              return [String(i + 1), m] as const;
            }),
          );
          const reads: string[] = [];
          const versions = [...views.keys()];
          const fallback = createSnapshotFallback(portOf(views, reads), versions);
          const got = await readContent(new MemoryStore(), ref, undefined, fallback).then(collectChunks, (e: unknown) => e);
          const first = holds.indexOf('right');
          if (first === -1) {
            expect(got).toBeInstanceOf(BmError);
            expect((got as BmError).code).toBe(ErrorCode.blobMissing);
            expect((got as BmError).details['snapshots']).toEqual(versions);
          } else {
            expect(Buffer.from(got as Uint8Array).equals(Buffer.from(content))).toBe(true);
            expect(reads.at(-1)).toBe(String(first + 1)); // none after the first that holds it
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('the baseline is tried first; with no replacing versions of other clients, only it', () => {
    fc.assert(
      fc.property(fc.option(fc.stringMatching(/^\d{1,4}$/), { nil: undefined }), (baseline) => {
        const out = planContentSnapshots(baseline, undefined, 'h');
        expect(out).toEqual(baseline === undefined ? [] : [baseline]);
      }),
    );
  });
});
