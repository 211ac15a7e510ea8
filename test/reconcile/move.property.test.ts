/**
 * A move never loses a concurrent edit (issue 22, ADR-0020), property-tested through whole syncs
 * of the real engine (`runSync`: plan, merge and move stages, executor) on in-memory ports.
 *
 * Alice renames a note once, at any point; she and two others edit it (each their own line,
 * far apart, so the edits merge), and everyone syncs, in any interleaving. A user edits the
 * note where their folder has it (the old name until their sync shows the move). After
 * everyone has synced a few times: no client has a file at the old name or a conflict copy of
 * it, every client has the note at the new name, and every user's last edit is in it (or, if
 * a merge was refused, in a conflict copy beside it: never lost).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/events/store/memory-store.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { isConflictCopyName } from '../../src/reconcile/conflict-copy-name.js';
import { runSync } from '../../src/reconcile/run-sync.js';
import { createClock, createSimClient, syncContextOf, type SimClient } from '../support/test-world.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const OLD = 'notes/plan.md' as SyncPath;
const NEW = 'archive/plan.md' as SyncPath;
/** Each user edits their own line; unchanged lines between keep the edits apart (no adjacent change). */
const LINE_OF = [2, 7, 12] as const;
const BASE = Array.from({ length: 15 }, (_, i) => `line ${i} of the plan`);

type Step = { readonly kind: 'edit' | 'sync'; readonly user: 0 | 1 | 2 } | { readonly kind: 'move' };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constantFrom('edit' as const, 'sync' as const), user: fc.constantFrom(0 as const, 1 as const, 2 as const) }),
  fc.constant({ kind: 'move' as const }),
);

/** The steps with alice's one move where the first `move` step is (none: at the end). */
const stepsArb = fc.array(stepArb, { minLength: 1, maxLength: 14 });

async function runScenario(steps: readonly Step[]): Promise<{ users: SimClient[]; lastEdit: (string | undefined)[] }> {
  const store = new MemoryStore();
  const clock = createClock();
  const users = [
    await createSimClient(store, 'alice', '01PRA', clock),
    await createSimClient(store, 'bob', '01PRB', clock),
    await createSimClient(store, 'carol', '01PRC', clock),
  ];
  const sync = (c: SimClient) => runSync(syncContextOf(c, { store, now: clock.now }));
  users[0]!.tree.userWrite(OLD, enc(`${BASE.join('\n')}\n`));
  for (const u of users) await sync(u);
  const lastEdit: (string | undefined)[] = [undefined, undefined, undefined];
  let moved = false;
  let n = 0;
  const doMove = () => {
    moved = true;
    return users[0]!.tree.userRename(OLD, NEW);
  };
  for (const s of steps) {
    if (s.kind === 'move') {
      if (!moved) doMove();
    } else if (s.kind === 'sync') await sync(users[s.user]!);
    else {
      const u = users[s.user]!;
      const where = u.tree.files.has(OLD) ? OLD : u.tree.files.has(NEW) ? NEW : undefined;
      if (where === undefined) continue;
      const lines = dec(u.tree.files.get(where)!.bytes).split('\n');
      const text = `line ${LINE_OF[s.user]} edited by ${u.name} (${++n})`;
      lines[LINE_OF[s.user]] = text;
      u.tree.userWrite(where, enc(lines.join('\n')));
      lastEdit[s.user] = text;
    }
  }
  if (!moved) doMove();
  for (let round = 0; round < 3; round++) for (const u of users) await sync(u);
  return { users, lastEdit };
}

describe('a move never loses a concurrent edit (whole syncs)', () => {
  it('any interleaving of one move, edits and syncs: the note ends at the new name on every client with every last edit, nothing at the old name', async () => {
    await fc.assert(
      fc.asyncProperty(stepsArb, async (steps) => {
        const { users, lastEdit } = await runScenario(steps);
        for (const u of users) {
          const paths = [...u.tree.files.keys()];
          expect(paths, `${u.name} has nothing at the old name`).not.toContain(OLD);
          expect(
            paths.filter((p) => isConflictCopyName(p) && p.startsWith('notes/')),
            `${u.name} has no copy of the old name`,
          ).toEqual([]);
          expect(paths, `${u.name} has the note at the new name`).toContain(NEW);
          const texts = paths
            .filter((p) => p === NEW || (isConflictCopyName(p) && p.startsWith('archive/')))
            .map((p) => dec(u.tree.files.get(p)!.bytes));
          for (const edit of lastEdit)
            if (edit !== undefined)
              expect(
                texts.some((t) => t.includes(edit)),
                `${u.name} keeps "${edit}"`,
              ).toBe(true);
        }
        // Every client shows the same bytes at the new name.
        expect(new Set(users.map((u) => dec(u.tree.files.get(NEW)!.bytes))).size).toBe(1);
      }),
      { numRuns: 60 },
    );
  }, 300_000);
});
