import { createHash } from 'node:crypto';
import * as path from 'node:path';

// The files that keep bm-log running in the background (docs/service.md): `sync --watch` as a
// user service, and `gc` on a schedule. Pure: the absolute paths are passed in.

/** What a unit runs: node, the bm-log launcher, the folder; and where logs go (launchd). */
export interface ServiceTarget {
  /** Absolute path of the node binary. */
  readonly node: string;
  /** Absolute path of bm-log's launcher (`bin/bm-log`: it keeps the memory settings of ADR-0012). */
  readonly launcher: string;
  /** Absolute path of the bm-log folder. */
  readonly folder: string;
  /** The home folder, for launchd's log files (~/Library/Logs). */
  readonly home: string;
}

/** One file to install: its name, where it goes, and its text. */
export interface ServiceFile {
  readonly name: string;
  /** Where it goes, `~` standing for the home folder. */
  readonly installTo: string;
  readonly text: string;
}

/**
 * A name for the folder's units: `bm-log-<folder name>-<8 hex of its path>`, the name cut to
 * ASCII letters, digits, `-` and `_`, so two folders never share units and the name needs no
 * escaping in systemd or launchd.
 */
export function computeServiceName(folder: string): string {
  const base =
    path
      .basename(folder)
      .replace(/[^A-Za-z0-9_-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'folder';
  return `bm-log-${base}-${createHash('sha256').update(folder).digest('hex').slice(0, 8)}`;
}

/** One word of an ExecStart line: quoted when needed; `%` (specifiers) and `$` (variables) escaped. */
export function systemdWord(word: string): string {
  const escaped = word.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /^[A-Za-z0-9_./:@+=,-]+$/.test(escaped) ? escaped : `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function execStart(t: ServiceTarget, args: readonly string[]): string {
  return [t.node, t.launcher, ...args, '--dir', t.folder].map(systemdWord).join(' ');
}

/** The systemd user units: the watch service, the gc service and its weekly timer. */
export function renderSystemdUnits(t: ServiceTarget): ServiceFile[] {
  const name = computeServiceName(t.folder);
  const dir = '~/.config/systemd/user';
  const folder = t.folder.replace(/%/g, '%%');
  const sync = `[Unit]
Description=bm-log: keep ${folder} in sync (sync --watch)
Documentation=man:systemd.service(5)

[Service]
Type=simple
ExecStart=${execStart(t, ['sync', '--watch'])}
# Exit 3 (retry: remote unreachable, folder busy) restarts after RestartSec; exit 2 (usage or
# configuration), 4 (safety guard) and 5 (integrity) need a person: no restart loop.
Restart=on-failure
RestartSec=60
RestartPreventExitStatus=2 4 5
# On stop (SIGTERM) sync --watch ends after the round in progress: give it time.
TimeoutStopSec=120

[Install]
WantedBy=default.target
`;
  const gc = `[Unit]
Description=bm-log: collect old deletes and unused content of ${folder} (gc)

[Service]
Type=oneshot
ExecStart=${execStart(t, ['gc'])}
`;
  const timer = `[Unit]
Description=bm-log: gc of ${folder} once a week

[Timer]
OnCalendar=weekly
RandomizedDelaySec=1h
Persistent=true

[Install]
WantedBy=timers.target
`;
  return [
    { name: `${name}.service`, installTo: `${dir}/${name}.service`, text: sync },
    { name: `${name}-gc.service`, installTo: `${dir}/${name}-gc.service`, text: gc },
    { name: `${name}-gc.timer`, installTo: `${dir}/${name}-gc.timer`, text: timer },
  ];
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function plist(label: string, t: ServiceTarget, args: readonly string[], schedule: string): string {
  const program = [t.node, t.launcher, ...args, '--dir', t.folder].map((a) => `    <string>${xml(a)}</string>`).join('\n');
  const log = path.join(t.home, 'Library', 'Logs', `${label}.log`);
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${xml(label)}</string>
  <key>ProgramArguments</key>
  <array>
${program}
  </array>
${schedule}  <key>StandardOutPath</key>
  <string>${xml(log)}</string>
  <key>StandardErrorPath</key>
  <string>${xml(log)}</string>
</dict>
</plist>
`;
}

/** The launchd agents (macOS): the watch agent, kept alive, and gc every Sunday at 03:00. */
export function renderLaunchdAgents(t: ServiceTarget): ServiceFile[] {
  const name = computeServiceName(t.folder);
  const label = `dev.bm-log.${name}`;
  const keepAlive = `  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>60</integer>
`;
  const weekly = `  <key>StartCalendarInterval</key>
  <dict>
    <key>Weekday</key>
    <integer>0</integer>
    <key>Hour</key>
    <integer>3</integer>
    <key>Minute</key>
    <integer>0</integer>
  </dict>
`;
  const dir = '~/Library/LaunchAgents';
  return [
    { name: `${label}.plist`, installTo: `${dir}/${label}.plist`, text: plist(label, t, ['sync', '--watch'], keepAlive) },
    { name: `${label}-gc.plist`, installTo: `${dir}/${label}-gc.plist`, text: plist(`${label}-gc`, t, ['gc'], weekly) },
  ];
}
