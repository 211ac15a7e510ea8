/**
 * `bm-log service print systemd|launchd` (issue 24, docs/service.md): the printed units run
 * this installation's node and launcher on the folder, and systemd itself accepts them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { systemdWord } from '../../src/cli/service-units.js';
import { EXIT, REPO_ROOT, expectExit, useWorlds } from './support/cli.js';

const { world } = useWorlds();
const HAS_SYSTEMD_ANALYZE = spawnSync('systemd-analyze', ['--version']).status === 0;
const HAS_PYTHON = spawnSync('python3', ['-c', 'import plistlib']).status === 0;
const LAUNCHER = path.join(REPO_ROOT, 'bin', 'bm-log');

interface Printed {
  kind: string;
  folder: string;
  files: { name: string; installTo: string; text: string }[];
  steps: string[];
}

/** A client folder named `name` (spaces and % included) and what `service print KIND --json` prints for it. */
async function printed(kind: 'systemd' | 'launchd', name: string): Promise<{ dir: string; base: string; p: Printed }> {
  const w = await world();
  const c = await w.init(name, { noSync: true });
  const p = expectExit(await c.run('service', 'print', kind, '--json'), EXIT.ok).json as Printed;
  return { dir: c.dir, base: w.base, p };
}

describe('service print', () => {
  it('systemd: a watch service, a gc service and a weekly timer, running this node and launcher on the folder', async () => {
    const { dir, p } = await printed('systemd', 'team notes');
    expect(p.folder).toBe(dir);
    expect(p.files.map((f) => f.name)).toEqual([
      expect.stringMatching(/^bm-log-team-notes-[0-9a-f]{8}\.service$/),
      expect.stringMatching(/-gc\.service$/),
      expect.stringMatching(/-gc\.timer$/),
    ]);
    const [sync, gc, timer] = p.files.map((f) => f.text);
    expect(sync).toContain(`\nExecStart=${process.execPath} ${LAUNCHER} sync --watch --dir "${dir}"\n`);
    expect(gc).toContain(`\nExecStart=${process.execPath} ${LAUNCHER} gc --dir "${dir}"\n`);
    expect(gc).toMatch(/\nType=oneshot\n/);
    expect(timer).toMatch(/\n\[Timer\]\nOnCalendar=weekly\n/);
    expect(existsSync(LAUNCHER)).toBe(true);
    expect(p.steps[1]).toBe(`systemctl --user enable --now ${p.files[0]!.name} ${p.files[2]!.name}`);
    for (const f of p.files) expect(f.installTo).toBe(`~/.config/systemd/user/${f.name}`);
  });

  it.skipIf(!HAS_SYSTEMD_ANALYZE)(
    'systemd: `systemd-analyze verify --user` accepts the units, with no warning (skipped where systemd-analyze is absent)',
    async () => {
      const { base, p } = await printed('systemd', 'odd % $name');
      const units = path.join(base, 'units');
      const runtime = path.join(base, 'runtime');
      await fs.mkdir(units);
      await fs.mkdir(runtime, { mode: 0o700 });
      for (const f of p.files) await fs.writeFile(path.join(units, f.name), f.text);
      const r = spawnSync('systemd-analyze', ['verify', '--user', ...p.files.map((f) => path.join(units, f.name))], {
        env: { ...process.env, XDG_RUNTIME_DIR: runtime, SYSTEMD_LOG_LEVEL: 'notice' },
        encoding: 'utf8',
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      // The check is real: a unit naming a program that does not exist is refused.
      await fs.writeFile(path.join(units, p.files[0]!.name), p.files[0]!.text.replace(process.execPath, '/nonexistent/node'));
      const bad = spawnSync('systemd-analyze', ['verify', '--user', path.join(units, p.files[0]!.name)], {
        env: { ...process.env, XDG_RUNTIME_DIR: runtime },
        encoding: 'utf8',
      });
      expect(bad.status).not.toBe(0);
    },
  );

  it.skipIf(!HAS_PYTHON)(
    'launchd: two agents a plist parser reads back to the exact arguments (skipped without python3 plistlib)',
    async () => {
      const { dir, p } = await printed('launchd', 'a&b <notes>');
      expect(p.files.map((f) => f.installTo)).toEqual(p.files.map((f) => `~/Library/LaunchAgents/${f.name}`));
      const parse = (text: string) =>
        JSON.parse(
          execFileSync('python3', ['-c', 'import sys, json, plistlib; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))'], {
            input: text,
            encoding: 'utf8',
          }),
        );
      const [watch, gc] = p.files.map((f) => parse(f.text));
      expect(watch.ProgramArguments).toEqual([process.execPath, LAUNCHER, 'sync', '--watch', '--dir', dir]);
      expect(watch).toMatchObject({ RunAtLoad: true, KeepAlive: { SuccessfulExit: false } });
      expect(watch.Label).toMatch(/^dev\.bm-log\.bm-log-a-b-notes-[0-9a-f]{8}$/);
      expect(gc.ProgramArguments).toEqual([process.execPath, LAUNCHER, 'gc', '--dir', dir]);
      expect(gc.StartCalendarInterval).toEqual({ Weekday: 0, Hour: 3, Minute: 0 });
      expect(gc.StandardErrorPath).toMatch(/\/Library\/Logs\/dev\.bm-log\..*-gc\.log$/);
    },
  );

  it('outside a bm-log folder, and for an unknown manager: usage errors', async () => {
    const w = await world();
    expect(expectExit(await w.client('none').run('service', 'print', 'systemd'), EXIT.usage).stderr).toMatch(/\[not-a-client\]/);
    expect(expectExit(await w.client('none').run('service', 'print', 'upstart'), EXIT.usage).stderr).toMatch(
      /Allowed choices are systemd, launchd/,
    );
  });

  it('ExecStart words: plain as they are; spaces quoted; % and $ escaped', () => {
    expect(systemdWord('/usr/bin/node')).toBe('/usr/bin/node');
    expect(systemdWord('/home/a/team notes')).toBe('"/home/a/team notes"');
    expect(systemdWord('/x/100%')).toBe('"/x/100%%"');
    expect(systemdWord('/x/$HOME "q"')).toBe('"/x/$$HOME \\"q\\""');
  });
});
