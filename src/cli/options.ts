import { type Command, Option } from 'commander';
import { BmError, ErrorCode } from '../errors.js';

// The flags of the commands as commander hands them to an action, shared by the command
// registrations in main.ts and the run*Command functions that carry the commands out.

/** `--dir`: the bm-log folder (default: the current folder or the nearest parent that is one). */
export interface DirOption {
  readonly dir?: string | undefined;
}

/** `--json`: print one JSON document for scripts instead of human lines. */
export interface JsonOption {
  readonly json?: boolean | undefined;
}

/** The flags every command on a bm-log folder takes. */
export type FolderOptions = DirOption & JsonOption;

/** Where the remote is and how to reach it (`init`). */
export interface RemoteFlags {
  readonly remote: string;
  readonly endpoint?: string;
  readonly region?: string;
  readonly pathStyle?: boolean;
}

/** `bm-log init`. `sync` is false with `--no-sync`. */
export interface InitFlags extends RemoteFlags, FolderOptions {
  readonly create?: boolean;
  /** An invitation token (`members invite`): its remote, vault and pinned root key (ADR-0021). */
  readonly join?: string;
  readonly name?: string;
  /** A new vault whose bucket learns nothing (with `--create`, ADR-0031). */
  readonly encrypt?: boolean;
  readonly sync: boolean;
}

/** `bm-log sync`. */
export interface SyncFlags extends FolderOptions {
  readonly dryRun?: boolean;
  readonly maxDelete?: number;
  readonly force?: boolean;
  readonly watch?: boolean;
  /** Seconds between rounds of `--watch` (commander defaults it to 60). */
  readonly interval: number;
  readonly quiet?: boolean;
  readonly verbose?: boolean;
}

/** `bm-log resolve PATH`. */
export interface ResolveFlags extends FolderOptions {
  readonly keep?: string;
}

/** `bm-log log [PATH]`. */
export interface LogFlags extends FolderOptions {
  readonly client?: string;
  readonly since?: string;
  readonly until?: string;
  readonly limit?: number;
}

/** `bm-log restore PATH --at T|VERSION`. */
export interface RestoreFlags extends FolderOptions {
  readonly at: string;
  readonly to?: string;
  readonly dryRun?: boolean;
}

/** `bm-log ls [FOLDER]`. */
export interface LsFlags extends FolderOptions {
  readonly at?: string;
}

/** `bm-log verify`. */
export interface VerifyFlags extends FolderOptions {
  readonly repair?: boolean;
}

/** `bm-log gc`. `checkpoint` is false with `--no-checkpoint`. */
export interface GcFlags extends FolderOptions {
  readonly dryRun?: boolean;
  readonly retention?: number;
  readonly grace?: number;
  readonly checkpoint?: boolean;
}

/** Adds `--dir` to a command. */
export function withDir(c: Command): Command {
  return c.option('--dir <path>', 'the bm-log folder (default: the current folder or the nearest parent that is one)');
}

/** Adds `--json` to a command. */
export function withJson(c: Command): Command {
  return c.option('--json', 'print one JSON document for scripts');
}

/** Adds `--dir` and `--json`. */
export function withFolderOptions(c: Command): Command {
  return withJson(withDir(c));
}

/** `--quiet` (ADR-0025). */
export function quietOption(): Option {
  return new Option('-q, --quiet', 'print only errors, what the exit code means, and a short line for open conflicts; no progress display');
}

/** `--verbose` (ADR-0025). */
export function verboseOption(): Option {
  return new Option('--verbose', 'print one line per file action as it is carried out');
}

/** A parser for a flag taking a whole number (0 and up); anything else is a usage error. */
export function parseNonNegativeInt(name: string): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v))
      throw new BmError(ErrorCode.usage, `${name} must be a whole number, got ${JSON.stringify(v)}`, `for example: ${name} 50`);
    return Number(v);
  };
}

function parseSeconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    throw new BmError(
      ErrorCode.usage,
      `--interval must be a positive number of seconds, got ${JSON.stringify(v)}`,
      'for example: --interval 60',
    );
  }
  return n;
}

/** `--interval <seconds>` of `sync --watch`, 60 by default. */
export function intervalOption(): Option {
  return new Option('--interval <seconds>', 'with --watch: how often to check the remote').argParser(parseSeconds).default(60);
}

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `30d`, `12h`, `90m`, `0s`, `500ms` → milliseconds. */
export function parseDuration(flag: string): (v: string) => number {
  return (v) => {
    const m = /^(\d+)(ms|s|m|h|d|w)$/.exec(v.trim());
    if (m === null) {
      throw new BmError(
        ErrorCode.usage,
        `${flag} must be a duration like 30d, 12h, 90m or 0s, got ${JSON.stringify(v)}`,
        `for example: ${flag} 30d`,
      );
    }
    return Number(m[1]) * UNITS[m[2]!]!;
  };
}

/**
 * `--interval` without `--watch` is refused (ADR-0026): a one-off sync has no interval, and
 * turning it into a process that never ends would surprise a script that runs it.
 */
export function mustWatchForInterval(o: { readonly watch?: boolean | undefined }, cmd: Command): void {
  if (o.watch !== true && cmd.getOptionValueSource('interval') === 'cli') {
    throw new BmError(
      ErrorCode.usage,
      '--interval is how often `sync --watch` syncs; without --watch it means nothing, so nothing was synced',
      'add --watch: `bm-log sync --watch --interval SECONDS`; or drop --interval for one sync',
    );
  }
}
