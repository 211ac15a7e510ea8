import { Command, CommanderError, Option } from 'commander';
import { BmError, ErrorCode } from '../errors.js';
import { mustSyncPath } from '../events/sync-path.js';
import { ExitCode, computeExitCode } from './exit-codes.js';
import { executeInit } from './client-session.js';
import { runStatusCommand } from './status-command.js';
import { runConflictsCommand, runSyncCommand, runResolveCommand, runSubscribeCommand, runUnsubscribeCommand, runLogCommand, runVerifyCommand, runDoctorCommand } from './commands.js';
import { createOutput, type Output } from './output.js';
import { shellCommand } from './human-text.js';
import { localizeHint } from './hints.js';
import { runLsCommand, runRestoreCommand, runShowCommand } from './history-commands.js';
import { parseDuration, runCheckpointCommand, runClientsCommand, runGcCommand, runRetireCommand } from './gc-commands.js';

const VERSION = '0.1.0';

function parseNonNegativeInt(name: string): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v)) throw new BmError(ErrorCode.usage, `${name} must be a whole number, got ${JSON.stringify(v)}`, `for example: ${name} 50`);
    return Number(v);
  };
}

function parseSeconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new BmError(ErrorCode.usage, `--interval must be a positive number of seconds, got ${JSON.stringify(v)}`, 'for example: --interval 60');
  return n;
}

interface InitFlags {
  readonly remote: string;
  readonly create?: boolean;
  readonly name?: string;
  readonly endpoint?: string;
  readonly region?: string;
  readonly pathStyle?: boolean;
  readonly sync: boolean;
  readonly dir?: string;
  readonly json?: boolean;
}

/** The arguments of an `init` with these flags (for a hint that repeats the command with a change). */
function initArgs(o: InitFlags): string[] {
  return [
    'init',
    ...(o.create ? ['--create'] : []),
    ...['--remote', o.remote],
    ...(o.name !== undefined ? ['--name', o.name] : []),
    ...(o.endpoint !== undefined ? ['--endpoint', o.endpoint] : []),
    ...(o.region !== undefined ? ['--region', o.region] : []),
    ...(o.pathStyle ? ['--path-style'] : []),
    ...(o.sync ? [] : ['--no-sync']),
    ...(o.dir !== undefined ? ['--dir', o.dir] : []),
  ];
}

/**
 * The CLI entry point. Returns the exit code; never calls process.exit, so tests can run it
 * in-process and the one error handler below is the only place errors become exit codes.
 */
export async function main(argv: readonly string[], out: Output = createOutput()): Promise<number> {
  let exit: number = ExitCode.ok;
  const program = new Command();
  program
    .name('bm-log')
    .description('Team-safe folder sync through a signed event log in a shared folder or an S3 bucket')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.stdout(s), writeErr: (s) => out.stderr(s) })
    .showHelpAfterError('(run with --help for usage)');

  const withDir = (c: Command) => c.option('--dir <path>', 'the bm-log folder (default: the current folder or the nearest parent that is one)');
  const withJson = (c: Command) => c.option('--json', 'print one JSON document for scripts');

  withJson(
    program
      .command('init')
      .description('make a folder a bm-log client: join the vault a remote holds (and download it), or --create a new one')
      .requiredOption('--remote <url>', 'a folder path or file:///path (shared folder), or s3://bucket[/prefix]')
      .option('--create', 'create a new vault at the remote (it must be empty or not exist yet); without it, init joins the vault there')
      .option('--name <name>', 'how other clients see this one (default: user@host)')
      .option('--endpoint <url>', 'S3-compatible endpoint (Tigris, MinIO, R2...)')
      .option('--region <region>', 'S3 region')
      .option('--path-style', 'use path-style S3 URLs (most local S3 servers need it)')
      .option('--no-sync', 'do not run the first sync')
      .option('--dir <path>', 'the folder to make a client (default: the current folder)'),
  ).action(async (o: InitFlags) => {
    const remote = {
      url: o.remote,
      ...(o.endpoint !== undefined ? { endpoint: o.endpoint } : {}),
      ...(o.region !== undefined ? { region: o.region } : {}),
      ...(o.pathStyle ? { forcePathStyle: true } : {}),
    };
    const r = await executeInit(o.dir ?? process.cwd(), { remote, create: o.create === true, createCommand: shellCommand(initArgs({ ...o, create: true })), ...(o.name !== undefined ? { name: o.name } : {}) });
    const info = { root: r.root, client: r.config.clientId, name: r.config.name, vault: r.config.vaultId, remote: r.config.remote.url, newRemote: r.createdVault, capabilities: r.capabilities };
    if (!o.sync) {
      out.result(o.json, info, () => [`initialised ${r.root} as client ${r.config.name} (${r.config.clientId}) of ${r.config.remote.url}`]);
      return;
    }
    if (!o.json) out.line(`initialised ${r.root} as client ${r.config.name} (${r.config.clientId}) of ${r.config.remote.url}${r.createdVault ? ' (a new vault)' : ''}`);
    exit = await runSyncCommand({ dir: r.root, json: o.json === true, init: info }, out);
  });

  withJson(
    withDir(
      program
        .command('sync')
        .description('scan, fetch new events, plan, apply, publish')
        .option('--dry-run', 'print the plan and change nothing, locally or remotely')
        .option('--max-delete <n>', 'refuse a sync that would delete more than N files for everyone', parseNonNegativeInt('--max-delete'))
        .option('--force', 'skip the safety guards (max-delete, empty folder)')
        .option('--watch', 'keep syncing: on local changes (debounced) and every --interval seconds')
        .addOption(new Option('--interval <seconds>', 'with --watch: how often to check the remote').argParser(parseSeconds).default(60)),
    ),
  ).action(async (o: { dir?: string; json?: boolean; dryRun?: boolean; maxDelete?: number; force?: boolean; watch?: boolean; interval: number }) => {
    exit = await runSyncCommand({ dir: o.dir, json: o.json === true, dryRun: o.dryRun === true, maxDelete: o.maxDelete, force: o.force === true, watch: o.watch === true, interval: o.interval }, out);
  });

  withJson(withDir(program.command('status').description('client, remote, last sync, pending changes, conflicts, other clients'))).action(async (o: { dir?: string; json?: boolean }) => {
    exit = await runStatusCommand(o, out);
  });

  withJson(withDir(program.command('conflicts').description('list open conflicts with their versions'))).action(async (o: { dir?: string; json?: boolean }) => {
    exit = await runConflictsCommand(o, out);
  });

  withJson(
    withDir(
      program
        .command('resolve')
        .description('end a conflict: keep the file at PATH as it is now, or --keep a version')
        .argument('<path>', 'the conflicted path (relative to the folder root)')
        .option('--keep <version>', 'keep this version (id or its last 8 characters, from `bm-log conflicts`)'),
    ),
  ).action(async (p: string, o: { dir?: string; json?: boolean; keep?: string }) => {
    exit = await runResolveCommand(mustSyncPath(p.replace(/^\.\//, '')), o, out);
  });

  withJson(withDir(program.command('subscribe').description('sync FOLDER again (after unsubscribe)').argument('<folder>'))).action(async (f: string, o: { dir?: string; json?: boolean }) => {
    exit = await runSubscribeCommand(f, o, out);
  });
  withJson(withDir(program.command('unsubscribe').description('stop syncing FOLDER here: removes it locally, never deletes it for others').argument('<folder>'))).action(async (f: string, o: { dir?: string; json?: boolean }) => {
    exit = await runUnsubscribeCommand(f, o, out);
  });

  withJson(
    withDir(
      program
        .command('log')
        .alias('history')
        .description('the events, newest first: who changed what, when, having seen what')
        .argument('[path]', 'only this path (or folder, ending in /)')
        .option('--client <id-or-name>', 'only events of this client')
        .option('--since <time>', 'only events at or after this ISO 8601 time')
        .option('--until <time>', 'only events before this ISO 8601 time')
        .option('--limit <n>', 'at most N events', parseNonNegativeInt('--limit')),
    ),
  ).action(async (p: string | undefined, o: { dir?: string; json?: boolean; client?: string; since?: string; until?: string; limit?: number }) => {
    exit = await runLogCommand(p, o, out);
  });

  withDir(program.command('show').description('print the bytes of any version (checked against its hash)').argument('<version>', 'a version id, or its last 8 characters')).action(async (v: string, o: { dir?: string }) => {
    exit = await runShowCommand(v, o, out);
  });

  withJson(
    withDir(
      program
        .command('restore')
        .description('bring a file, or a folder (FOLDER/), back to how it was; the restore syncs to everyone and is logged')
        .argument('<path>', 'a file, or a folder ending in /')
        .requiredOption('--at <time-or-version>', 'an ISO 8601 time, or a version id of the file')
        .option('--to <file>', 'write the old bytes to this file instead (publishes nothing)')
        .option('--dry-run', 'list what would change'),
    ),
  ).action(async (p: string, o: { dir?: string; json?: boolean; at: string; to?: string; dryRun?: boolean }) => {
    exit = await runRestoreCommand(p, o, out);
  });

  withJson(
    withDir(
      program
        .command('ls')
        .description('list the tree now, or as of a time or version (--at)')
        .argument('[folder]')
        .option('--at <time-or-version>', 'an ISO 8601 time or a version id'),
    ),
  ).action(async (f: string | undefined, o: { dir?: string; json?: boolean; at?: string }) => {
    exit = await runLsCommand(f, o, out);
  });

  withJson(
    withDir(
      program
        .command('verify')
        .description('re-check every log and blob on the remote: signatures, chains, keys, the vault marker, blobs')
        .option('--repair', 'put back missing blobs whose bytes a file in this folder still holds (never one a GC collected)'),
    ),
  ).action(async (o: { dir?: string; json?: boolean; repair?: boolean }) => {
    exit = await runVerifyCommand(o, out);
  });

  withJson(
    withDir(
      program
        .command('gc')
        .description('collect deletes everyone has seen and content no version needs; then checkpoint this client\'s log')
        .option('--dry-run', 'print what would be collected, condemned and deleted; change nothing')
        .option('--retention <duration>', 'keep deletes and replaced versions at least this long (default 30d)', parseDuration('--retention'))
        .option('--grace <duration>', 'wait this long between condemning a blob and deleting it (default 1h)', parseDuration('--grace'))
        .option('--no-checkpoint', 'do not write a checkpoint after the run'),
    ),
  ).action(async (o: { dir?: string; json?: boolean; dryRun?: boolean; retention?: number; grace?: number; checkpoint: boolean }) => {
    exit = await runGcCommand(o, out);
  });

  const checkpointHelp = "write a signed checkpoint of this client's own log, for new clients to start from (syncs write one as the log grows)";
  withJson(withDir(program.command('checkpoint').description(checkpointHelp))).action(async (o: { dir?: string; json?: boolean }) => {
    exit = await runCheckpointCommand(o, out);
  });

  withJson(withDir(program.command('clients').description('every client: last segment, how far its log is acknowledged, retired or not'))).action(async (o: { dir?: string; json?: boolean }) => {
    exit = await runClientsCommand(o, out);
  });

  withJson(withDir(program.command('retire').description('stop waiting for a client that is gone (garbage collection ignores its acknowledgements)').argument('<client>', 'the exact client id or name (see `bm-log clients`)'))).action(async (c: string, o: { dir?: string; json?: boolean }) => {
    exit = await runRetireCommand(c, o, out);
  });

  withJson(withDir(program.command('doctor').description('what the remote supports: create-only writes, versioning, snapshots'))).action(async (o: { dir?: string; json?: boolean }) => {
    exit = await runDoctorCommand(o, out);
  });

  try {
    await program.parseAsync([...argv]);
    return exit;
  } catch (e) {
    return handleError(e, out, argv.includes('--json'), dirFlagOf(argv));
  }
}

/** The value of `--dir` on the command line, if any (hints then name the same folder). */
function dirFlagOf(argv: readonly string[]): string | undefined {
  for (const [i, a] of argv.entries()) {
    if (a === '--') return undefined;
    if (a === '--dir') return argv[i + 1];
    if (a.startsWith('--dir=')) return a.slice('--dir='.length);
  }
  return undefined;
}

/**
 * The one error handler: typed errors become documented exit codes with a hint. With
 * --json the error is also stdout's one JSON document, so scripts always get one.
 */
function handleError(e: unknown, out: Output, json: boolean, dirFlag: string | undefined): number {
  const report = (code: string, message: string, hint: string, exit: number): number => {
    if (json) out.stdout(`${JSON.stringify({ error: { code, message, hint, exit } }, null, 2)}\n`);
    return exit;
  };
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return ExitCode.ok;
    return report(ErrorCode.usage, e.message, 'run with --help for usage', ExitCode.usage);
  }
  const raw = e instanceof BmError ? e : new BmError(ErrorCode.internal, `unexpected failure: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`, 'please report this; no half-written file is left behind (writes are atomic)');
  const err = new BmError(raw.code, raw.message, localizeHint(raw.hint, dirFlag), { ...raw.details }, { cause: raw });
  out.error(err);
  return report(err.code, err.message, err.hint, e instanceof BmError ? computeExitCode(err.code) : ExitCode.internal);
}
