import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Argument, type Command } from 'commander';
import { mustClientRoot } from '../client/client-session.js';
import { ExitCode } from './exit-codes.js';
import { type FolderOptions, withFolderOptions } from './options.js';
import type { Output } from './output.js';
import { renderLaunchdAgents, renderSystemdUnits, type ServiceFile, type ServiceTarget } from './service-units.js';

/** bm-log's launcher in this installation: `bin/bm-log` beside `dist/` (the package's bin). */
const LAUNCHER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'bm-log');

/** How to turn the printed files on, per service manager. */
function installSteps(kind: 'systemd' | 'launchd', files: readonly ServiceFile[]): string[] {
  if (kind === 'systemd') {
    const [sync, , timer] = files;
    return [
      'systemctl --user daemon-reload',
      `systemctl --user enable --now ${sync!.name} ${timer!.name}`,
      'loginctl enable-linger "$USER"   # optional: keep it running while you are logged out',
      `journalctl --user -u ${sync!.name} -f   # what it does`,
    ];
  }
  return files.map((f) => `launchctl bootstrap gui/$(id -u) ${f.installTo}`);
}

/** `bm-log service print systemd|launchd [--dir FOLDER]`: the files that run sync --watch and a weekly gc. */
export async function runServicePrintCommand(kind: 'systemd' | 'launchd', o: FolderOptions, out: Output): Promise<number> {
  const folder = await mustClientRoot(o.dir);
  const target: ServiceTarget = { node: process.execPath, launcher: LAUNCHER, folder: path.resolve(folder), home: os.homedir() };
  const files = kind === 'systemd' ? renderSystemdUnits(target) : renderLaunchdAgents(target);
  const steps = installSteps(kind, files);
  out.result(o.json, { kind, folder: target.folder, files, steps }, () => [
    ...files.flatMap((f) => [`# ---- ${f.name}: save as ${f.installTo}`, ...f.text.trimEnd().split('\n'), '']),
    '# ---- then:',
    ...steps.map((s) => `#   ${s}`),
  ]);
  return ExitCode.ok;
}

/** Registers `service print systemd|launchd`. */
export function registerService(program: Command, out: Output, finish: (code: number) => void): void {
  const service = program.command('service').description('run bm-log in the background: print a systemd user unit or a launchd agent');
  withFolderOptions(
    service
      .command('print')
      .description('print the files that keep `sync --watch` running and run `gc` weekly for this folder, and how to turn them on')
      .addArgument(new Argument('<manager>', 'systemd (Linux) or launchd (macOS)').choices(['systemd', 'launchd'])),
  ).action(async (kind: 'systemd' | 'launchd', o: FolderOptions) => finish(await runServicePrintCommand(kind, o, out)));
}
