import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  computeConflictKey,
  computeNewConflicts,
  executeConflictNotice,
  planDesktopNotifier,
  takeNewConflicts,
  type DesktopNotifier,
} from '../../src/cli/conflict-notice.js';
import type { Output } from '../../src/cli/output.js';
import type { ConflictNote } from '../../src/reconcile/plan-sync.js';
import { MemoryIndex } from '../support/memory-index.js';

const conflict = (path: string, kind = 'concurrent-edits') => ({ path, kind, heads: [], detail: 'x' }) as unknown as ConflictNote;

function stderrOutput(): { out: Output; err: string[] } {
  const err: string[] = [];
  const out = { stderr: (s: string) => err.push(s) } as unknown as Output;
  return { out, err };
}

describe('the notice of a new conflict', () => {
  it('fires once for each conflict while it stays open, and again when it opens anew', async () => {
    const paths = ['a.md', 'b.md', 'c.md', 'd.md'];
    await fc.assert(
      fc.asyncProperty(fc.array(fc.subarray(paths), { minLength: 1, maxLength: 12 }), async (rounds) => {
        const index = new MemoryIndex();
        let open = new Set<string>();
        for (const now of rounds) {
          const fresh = await takeNewConflicts(
            index,
            now.map((p) => conflict(p)),
          );
          // New: open now and not open in the round before.
          expect(fresh.map((c) => c.path).sort()).toEqual(now.filter((p) => !open.has(p)).sort());
          open = new Set(now);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('tells conflicts apart by path and kind', () => {
    expect(computeNewConflicts([computeConflictKey(conflict('a.md'))], [conflict('a.md'), conflict('a.md', 'file-versus-folder')])).toEqual(
      [conflict('a.md', 'file-versus-folder')],
    );
  });

  it('uses notify-send on a Linux desktop session and osascript on macOS, the text passed as arguments, never through a shell', () => {
    const desktop = { DISPLAY: ':0', DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/user/1000/bus' };
    const title = 'bm-log: a new conflict';
    const body = '"; rm -rf ~ #`$(x)` in /f';
    expect(planDesktopNotifier(title, body, desktop, 'linux')).toEqual({
      command: 'notify-send',
      args: ['--app-name=bm-log', '--', title, body],
    });
    expect(planDesktopNotifier(title, body, { DISPLAY: ':0' }, 'linux')).toBeUndefined();
    expect(planDesktopNotifier(title, body, {}, 'linux')).toBeUndefined();
    const mac = planDesktopNotifier(title, body, {}, 'darwin')!;
    expect(mac.command).toBe('osascript');
    // The script names its arguments; the text is never part of it.
    expect(mac.args.slice(-2)).toEqual([title, body]);
    expect(mac.args.filter((_a, i) => mac.args[i - 1] === '-e').join('\n')).not.toContain('rm -rf');
    expect(planDesktopNotifier(title, body, desktop, 'win32')).toBeUndefined();
  });

  it('falls back to a line on stderr when no desktop notification can be shown or it fails', async () => {
    const desktop = { DISPLAY: ':0', DBUS_SESSION_BUS_ADDRESS: 'x' };
    const ran: DesktopNotifier[] = [];
    const shown = stderrOutput();
    await executeConflictNotice([conflict('plan.md')], '/f', shown.out, desktop, 'linux', async (n) => (ran.push(n), true));
    expect(ran).toHaveLength(1);
    expect(shown.err).toEqual([]);
    const failed = stderrOutput();
    await executeConflictNotice([conflict('plan.md'), conflict('b.md')], '/f', failed.out, desktop, 'linux', async () => false);
    expect(failed.err).toEqual(['bm-log: 2 new conflicts: plan.md, b.md in /f; both versions are kept (bm-log conflicts)\n']);
    const none = stderrOutput();
    await executeConflictNotice([conflict('plan.md')], '/f', none.out, {}, 'linux', async () => {
      throw new Error('must not run without a desktop');
    });
    expect(none.err).toEqual(['bm-log: a new conflict: plan.md in /f; both versions are kept (bm-log conflicts)\n']);
    const nothing = stderrOutput();
    await executeConflictNotice([], '/f', nothing.out, {}, 'linux');
    expect(nothing.err).toEqual([]);
  });
});
