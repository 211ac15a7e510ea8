/**
 * A write through the API as the folder's own client, with the user's edit of the same note
 * landing after the write was published and before the sync brought it to the folder
 * (ADR-0028). The write is one of the client's own versions, but no file here was derived
 * from it: the user's edit is concurrent with it and both must stay (a conflict). Before
 * detached own versions, the edit silently replaced the write (ADR-0016's rule for own versions).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { openClient } from '../../src/client/client-session.js';
import { writeBlob } from '../../src/events/blobs.js';
import type { ContentHash, VersionId } from '../../src/events/ids.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { computeHeads } from '../../src/projections/project-paths.js';
import type { LocalTree } from '../../src/reconcile/ports.js';
import { runSync } from '../../src/reconcile/run-sync.js';
import { sha256, useWorlds } from '../cli/support/cli.js';

const { pair } = useWorlds();

/** `tree` whose first scan runs `before` first: the user's edit, right after the sync published. */
function scanningAfter(tree: LocalTree, before: () => Promise<void>): LocalTree {
  let fired = false;
  return new Proxy(tree, {
    get(target, key) {
      const v = Reflect.get(target, key, target) as unknown;
      if (key === 'scan' && !fired) {
        return async (...args: Parameters<LocalTree['scan']>) => {
          fired = true;
          await before();
          return target.scan(...args);
        };
      }
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

describe('detached own versions', () => {
  it("a user edit between an API write's publish and its download is a conflict, not a silent replacement", async () => {
    const { a, b } = await pair({ 'plan.md': 'one\n' });
    const s = await openClient(a.dir);
    const p = 'plan.md' as SyncPath;
    let id: VersionId;
    try {
      const before = computeHeads((await s.index.readPathStates([p])).get(p)!);
      const bytes = new TextEncoder().encode('api\n');
      const hash = createHash('sha256').update(bytes).digest('hex') as ContentHash;
      await writeBlob(s.store, {
        size: bytes.length,
        sha256: hash,
        open: async function* () {
          yield bytes;
        },
      });
      id = s.ctx.newId() as VersionId;
      const ctx = { ...s.ctx, tree: scanningAfter(s.ctx.tree, () => fs.writeFile(a.abs('plan.md'), 'user\n')) };
      const expected = { version: before[0]!.id, onStale: 'refuse' as const };
      await runSync(ctx, { restore: [{ path: p, content: { hash, size: bytes.length, mode: 0o644 }, expected, id }] });
      await runSync(s.ctx);
      const heads = computeHeads((await s.index.readPathStates([p])).get(p)!);
      expect(heads.map((h) => h.id)).toContain(id);
      expect(heads).toHaveLength(2);
    } finally {
      await s.close();
    }
    await b.syncOk();
    expect([...(await b.tree()).values()].sort()).toEqual([sha256('api\n'), sha256('user\n')].sort());
  }, 120_000);
});
