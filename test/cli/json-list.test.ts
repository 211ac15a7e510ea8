import fsDefault from 'node:fs';
import * as fs from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { renderJsonWithList } from '../../src/cli/json-document.js';
import { stampFormat } from '../../src/cli/json-format.js';
import { SpilledList } from '../../src/cli/spilled-list.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tempDir = useTempDirs('bm-jsonlist-');

const MARKER = '\u0000marker';

/** Puts `value` at `at` (a path of keys) in a copy of `doc`, creating objects on the way. */
function place(doc: Record<string, unknown>, at: readonly string[], value: unknown): Record<string, unknown> {
  const [k, ...rest] = at;
  if (k === undefined) return doc;
  const child = doc[k];
  return {
    ...doc,
    [k]:
      rest.length === 0
        ? value
        : place(
            typeof child === 'object' && child !== null && !Array.isArray(child) ? (child as Record<string, unknown>) : {},
            rest,
            value,
          ),
  };
}

const key = fc.string({ minLength: 1, maxLength: 6 }).filter((k) => k !== '__proto__');

describe('a --json document with a long list', () => {
  it('prints exactly what JSON.stringify prints (the format field first), wherever the list stands and whatever it holds', () => {
    fc.assert(
      fc.property(
        fc.dictionary(key, fc.jsonValue({ maxDepth: 3 })),
        fc.array(key, { minLength: 1, maxLength: 3 }),
        fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 12 }),
        (doc, at, items) => {
          const expected = `${JSON.stringify(stampFormat(place(doc, at, items)), null, 2)}\n`;
          expect([...renderJsonWithList(place(doc, at, MARKER), MARKER, items)].join('')).toBe(expected);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('prints a list of 100,000 items in pieces, never its whole text at once', () => {
    const items = Array.from({ length: 100_000 }, (_, i) => ({ kind: 'upload', path: `d/n${i}.md`, replaces: [] }));
    const pieces = [...renderJsonWithList({ sync: { dryRun: false, applied: MARKER, clean: false } }, MARKER, items)];
    expect(pieces.join('')).toBe(`${JSON.stringify({ format: 1, sync: { dryRun: false, applied: items, clean: false } }, null, 2)}\n`);
    expect(pieces.length).toBeGreaterThan(50);
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan(70_000);
  });

  it('refuses a document where the marker is missing or stands twice', () => {
    expect(() => [...renderJsonWithList({ a: 1 }, MARKER, [])]).toThrow(/exactly once/);
    expect(() => [...renderJsonWithList({ a: MARKER, b: MARKER }, MARKER, [])]).toThrow(/exactly once/);
  });
});

describe('SpilledList', () => {
  const realWriteSync = fsDefault.writeSync;
  afterEach(() => {
    fsDefault.writeSync = realWriteSync;
    syncBuiltinESMExports();
  });

  /** Items of every size around the batch and read sizes, with characters of 1-4 bytes in UTF-8. */
  const items = Array.from({ length: 3000 }, (_, i) => ({ i, path: `ä/€/${'𝄞'.repeat(i % 7)}${'x'.repeat((i * 97) % 1500)}` }));

  it('gives back every item in order, from a file of mode 600 that it removes when closed', async () => {
    const dir = await tempDir();
    await fs.writeFile(path.join(dir, 'json-list-1-dead.jsonl'), 'left by a bm-log that died\n');
    await fs.writeFile(path.join(dir, 'config.json'), '{}');
    const list = SpilledList.open(dir);
    expect(await fs.readdir(dir)).not.toContain('json-list-1-dead.jsonl');
    for (const it of items) list.add(it);
    const [file] = (await fs.readdir(dir)).filter((n) => n.startsWith('json-list-'));
    expect(((await fs.stat(path.join(dir, file!))).mode & 0o777).toString(8)).toBe('600');
    // Most of it is on disk, not in memory (over 2 MB of items).
    expect((await fs.stat(path.join(dir, file!))).size).toBeGreaterThan(2_000_000);
    expect([...list.items()]).toEqual(items);
    expect(list.count).toBe(items.length);
    list.close();
    expect(await fs.readdir(dir)).toEqual(['config.json']);
  });

  it('keeps the items in memory when its file cannot be created', () => {
    const list = SpilledList.open(path.join(os.tmpdir(), 'bm-no-such-dir', 'state'));
    for (const it of items.slice(0, 50)) list.add(it);
    expect([...list.items()]).toEqual(items.slice(0, 50));
    list.close();
  });

  it('when the disk fills mid-way, keeps what follows in memory and still gives back every item', async () => {
    const dir = await tempDir();
    const list = SpilledList.open(dir);
    let writes = 0;
    const write = realWriteSync as unknown as (fd: number, b: Buffer, offset: number, length: number, position: number) => number;
    fsDefault.writeSync = ((fd: number, b: Buffer, offset: number, length: number, position: number) => {
      if (++writes <= 3) return write(fd, b, offset, length, position);
      // A short write, then the disk is full.
      if (writes === 4) return write(fd, b, offset, Math.min(100, length), position);
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    }) as unknown as typeof realWriteSync;
    syncBuiltinESMExports();
    for (const it of items) list.add(it);
    expect(writes).toBeGreaterThan(4);
    expect([...list.items()]).toEqual(items);
    list.close();
    expect(await fs.readdir(dir)).toEqual([]);
  });
});
