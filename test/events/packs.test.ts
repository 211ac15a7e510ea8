import fc from 'fast-check';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BmError, ErrorCode } from '../../src/errors.js';
import type { ContentHash } from '../../src/events/ids.js';
import { keyOfPack } from '../../src/events/layout.js';
import { createPackSpans, planPacks, readContent, writePack, type PackSource } from '../../src/events/packs.js';
import { MAX_PACK_BYTES, type ContentRef, type PackLocation } from '../../src/events/schema.js';
import { sha256Hex } from '../../src/events/signing.js';
import { DirectoryStore } from '../../src/events/store/directory-store.js';
import { collectChunks, lendBytesStrictly } from '../../src/events/store/lent-chunks.js';
import { MemoryStore } from '../../src/events/store/memory-store.js';
import type { ObjectStore } from '../../src/events/store/object-store.js';

const CLIENT = '01PACK0000000000000000000A';
const PACK_ID = '01PACK0000000000000000000B';
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

function sourceOf(bytes: Uint8Array): PackSource {
  return { hash: sha256Hex(bytes), size: bytes.length, open: () => lendBytesStrictly(bytes, 3) };
}

function refOf(bytes: Uint8Array, pack: PackLocation): ContentRef {
  return { hash: sha256Hex(bytes) as ContentHash, size: bytes.length, mode: 0o644, pack };
}

async function mustLocations(store: ObjectStore, contents: readonly Uint8Array[], id = PACK_ID): Promise<PackLocation[]> {
  const where = await writePack(store, CLIENT, id, contents.map(sourceOf));
  return where.map((w) => {
    if (w instanceof BmError) throw w;
    return w;
  });
}

async function stores(): Promise<ObjectStore[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bm-log-packs-'));
  dirs.push(dir);
  return [new MemoryStore(), new DirectoryStore(dir)];
}

describe('packs (ADR-0022)', () => {
  it('property: any contents written through a pack read back byte-identical and hash-checked, one by one or by shared spans', async () => {
    const contents = fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 12 });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(contents, fc.boolean(), async (list, viaSpans) => {
        for (const store of await stores()) {
          const id = `01PACK${String(run++).padStart(20, '0')}`;
          const where = await mustLocations(store, list, id);
          const refs = list.map((b, i) => refOf(b, where[i]!));
          const spans = viaSpans ? createPackSpans(store, refs) : undefined;
          for (const [i, ref] of refs.entries()) {
            expect(Buffer.from(await collectChunks(await readContent(store, ref, spans)))).toEqual(Buffer.from(list[i]!));
          }
          // Equal contents share one entry: the pack holds each distinct content once.
          const distinct = new Map(list.map((b) => [sha256Hex(b), b.length]));
          expect((await store.head(keyOfPack(CLIENT, id)))?.size).toBe([...distinct.values()].reduce((a, b) => a + b, 0));
        }
      }),
      { numRuns: 40 },
    );
  });

  it('property: planPacks keeps every item once, in order, and no pack over MAX_PACK_BYTES of distinct contents', () => {
    // One size per hash (a hash names its bytes); items pick among six contents, repeats included.
    const sizes = fc.array(fc.integer({ min: 0, max: MAX_PACK_BYTES }), { minLength: 6, maxLength: 6 });
    fc.assert(
      fc.property(sizes, fc.array(fc.nat(5), { maxLength: 30 }), (sizeOf, picks) => {
        const items = picks.map((i) => ({ hash: 'abcdef'[i]!, size: sizeOf[i]! }));
        const packs = planPacks(items);
        expect(packs.flat()).toEqual(items);
        for (const p of packs) {
          expect(p.length).toBeGreaterThan(0);
          const bytes = [...new Map(p.map((x) => [x.hash, x.size])).values()].reduce((a, b) => a + b, 0);
          expect(p.length === 1 || bytes <= MAX_PACK_BYTES).toBe(true);
        }
      }),
    );
  });

  it('hostile: an entry whose bytes do not match its hash is blob-corrupt, a missing pack blob-missing, a range past the end blob-corrupt', async () => {
    const store = new MemoryStore();
    const a = Buffer.from('alpha note');
    const b = Buffer.from('bravo note, longer');
    const [wa, wb] = await mustLocations(store, [a, b]);
    const key = keyOfPack(CLIENT, PACK_ID);
    const stored = store.objects.get(key)!;
    stored[wb!.offset] = stored[wb!.offset]! ^ 1; // one flipped byte in b's entry
    await expect(readContent(store, refOf(b, wb!))).rejects.toMatchObject({ code: ErrorCode.blobCorrupt });
    expect(Buffer.from(await collectChunks(await readContent(store, refOf(a, wa!))))).toEqual(a);
    // A ref pointing at another entry's bytes (a forged location) is caught by the hash too.
    await expect(readContent(store, refOf(b, { ...wa!, length: b.length }))).rejects.toMatchObject({ code: ErrorCode.blobCorrupt });
    await expect(readContent(store, refOf(a, { ...wa!, offset: MAX_PACK_BYTES - a.length }))).rejects.toMatchObject({
      code: ErrorCode.blobCorrupt,
    });
    await expect(readContent(store, refOf(a, { ...wa!, id: '01PACK0000000000000000000Z' as PackLocation['id'] }))).rejects.toMatchObject({
      code: ErrorCode.blobMissing,
    });
  });

  it('a file that changed since the scan is left out of the pack (local-io), the others are packed; none left: nothing written', async () => {
    const store = new MemoryStore();
    const good = Buffer.from('good');
    const changed: PackSource = { hash: sha256Hex('before'), size: 6, open: () => lendBytesStrictly(Buffer.from('after!'), 2) };
    const where = await writePack(store, CLIENT, PACK_ID, [changed, sourceOf(good)]);
    expect(where[0]).toMatchObject({ code: ErrorCode.localIo });
    expect(where[1]).toEqual({ client: CLIENT, id: PACK_ID, offset: 0, length: 4 });
    expect(store.objects.get(keyOfPack(CLIENT, PACK_ID))).toEqual(new Uint8Array(good));
    const none = await writePack(store, CLIENT, '01PACK0000000000000000000C', [changed]);
    expect(none[0]).toBeInstanceOf(BmError);
    expect(store.objects.has(keyOfPack(CLIENT, '01PACK0000000000000000000C'))).toBe(false);
  });

  it('downloads sharing a pack read it in one request; a lone entry is one ranged read', async () => {
    const store = new MemoryStore();
    const list = ['one', 'two', 'three', 'four'].map((s) => Buffer.from(s));
    const where = await mustLocations(store, list);
    const refs = list.map((b, i) => refOf(b, where[i]!));
    const gets = store.stats.gets;
    const spans = createPackSpans(store, refs);
    for (const ref of refs) await collectChunks(await readContent(store, ref, spans));
    expect(store.stats.gets - gets).toBe(1);
    await collectChunks(await readContent(store, refs[2]!));
    expect(store.stats.gets - gets).toBe(2);
  });
});
