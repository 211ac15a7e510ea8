/**
 * The CLI is a shell over the API (issue 26, ADR-0028): `ls`, `show` and `sync` call the
 * same functions as the API's `list`, `show` and `sync`. Each API call is checked against the
 * CLI's `--json` output for the same folder, and the sync's progress reaches a ProgressSink.
 * Real parts: client folders made by the CLI, a directory remote, LevelDB.
 */
import { describe, expect, it } from 'vitest';
import { isBmError, openFolder } from '../../src/api/index.js';
import type { SyncProgress } from '../../src/reconcile/ports.js';
import { EXIT, expectExit, useWorlds } from '../cli/support/cli.js';

const { pair } = useWorlds();

describe('the API beside the CLI', () => {
  it('list (now and at a version), show and sync give what ls, show and sync --json give', async () => {
    const { a, b } = await pair({ 'notes/plan.md': 'v1\n', 'top.md': 'top\n' });
    const folder = await openFolder(a.dir);
    const v1 = (await folder.read('notes/plan.md')).version;
    await b.write('notes/plan.md', 'v2\n');
    await b.write('notes/new.md', 'new\n');
    await b.syncOk();
    const seen: SyncProgress[] = [];
    const dry = await folder.sync({ dryRun: true, progress: (p) => void seen.push(p) });
    expect(dry.eventsPublished).toBe(0);
    expect(await a.read('notes/plan.md')).toBe('v1\n');
    expect(seen.map((p) => p.kind)).toContain('phase');
    await folder.sync();

    const now = await folder.list('notes');
    expect(now.map((f) => f.path)).toEqual(['notes/new.md', 'notes/plan.md']);
    expect(now).toEqual(expectExit(await a.run('ls', 'notes', '--json'), EXIT.ok).json.files);
    const then = await folder.list(undefined, { at: v1 });
    expect(then.map((f) => f.path)).toEqual(['notes/plan.md', 'top.md']);
    expect(then).toEqual(expectExit(await a.run('ls', '--at', v1, '--json'), EXIT.ok).json.files);

    const shown = await folder.show(v1.slice(-8));
    expect(new TextDecoder().decode(shown.bytes)).toBe('v1\n');
    const { format: _format, ...cli } = expectExit(await a.run('show', v1, '--json'), EXIT.ok).json;
    const { bytes: _bytes, ...meta } = shown;
    expect({ ...meta, encoding: 'utf8', content: 'v1\n' }).toEqual(cli);
    const unknown = await folder.show('ZZZZZZZZ').catch((e: unknown) => e);
    expect(isBmError(unknown, 'usage')).toBe(true);
  }, 120_000);
});
