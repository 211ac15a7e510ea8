/**
 * A merge this client published but could not write here (the user edited the file during
 * the sync) is not the file's predecessor (ADR-0033, found by no-lost-version.property with
 * stale API writes merging): the next sync's edit stands beside it and merges with it. Before,
 * ADR-0016's own-unrecorded-heads rule took the merge for a version this file was derived
 * from, so the edit replaced it and the other side's change in the merge was lost.
 * Real parts: client folders made by the CLI, a directory remote, LevelDB; the user's edit
 * lands between the plan and its execution through the engine's `onPlan` hook.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/client/client-queries.js';
import { runSync } from '../../src/reconcile/run-sync.js';
import { useWorlds } from '../cli/support/cli.js';

const { pair } = useWorlds();
const BASE = '# plan\n\nmonday\n\ntuesday\n\nwednesday\n';

describe('a merge published but not written here', () => {
  it('is merged with the edit made meanwhile, not replaced by it: every side keeps its change', async () => {
    const { a, b } = await pair({ 'plan.md': BASE });
    await b.write('plan.md', BASE.replace('monday', 'monday: bob'));
    await b.syncOk();
    await a.write('plan.md', BASE.replace('wednesday', 'wednesday: alice'));
    const file = path.join(a.dir, 'plan.md');
    let edited = false;
    const report = await withClient(a.dir, (s) =>
      runSync({
        ...s.ctx,
        onPlan: async (_input, plan) => {
          if (edited || !plan.ops.some((o) => o.kind === 'merge' && o.path === 'plan.md')) return;
          edited = true;
          // The user saves the file (still without bob's line) after the plan, before the merge is written.
          await fs.writeFile(file, (await fs.readFile(file, 'utf8')).replace('tuesday', 'tuesday: alice'));
        },
      }),
    );
    expect(edited).toBe(true);
    expect(report.skipped.map((k) => k.path)).toEqual(['plan.md']);
    await a.syncOk();
    await b.syncOk();
    await a.syncOk();
    const all = '# plan\n\nmonday: bob\n\ntuesday: alice\n\nwednesday: alice\n';
    expect(await a.read('plan.md')).toBe(all);
    expect(await b.read('plan.md')).toBe(all);
    expect(await a.conflicts()).toEqual([]);
  }, 120_000);
});
