import { Argument, Command, CommanderError, Option } from 'commander';
import { BmError, ErrorCode } from '../errors.js';
import { mustSyncPath } from '../events/sync-path.js';
import { registerCompletion } from './completion.js';
import { stampFormat } from './json-format.js';
import type { DiffFlags } from './diff-command.js';
import { registerConfigCommands } from './config-command.js';
import { ExitCode, computeExitCode } from './exit-codes.js';
import { localizeHint } from '../client/hints.js';
// Each command's module loads when it runs (lazy-commands.ts): --version and --help load none.
import {
  runCheckpointCommand,
  runClientsCommand,
  runConflictsCommand,
  runDiffCommand,
  runDoctorCommand,
  runGcCommand,
  runInitCommand,
  runLogCommand,
  runLsCommand,
  runMemberChangeCommand,
  runMembersInitCommand,
  runMembersInviteCommand,
  runMembersListCommand,
  runResolveCommand,
  runRestoreCommand,
  runRetireCommand,
  runShowCommand,
  runStatusCommand,
  runSubscribeCommand,
  runSyncCommand,
  runUiCommand,
  runUnsubscribeCommand,
  runVerifyCommand,
} from './lazy-commands.js';
import {
  intervalOption,
  mustWatchForInterval,
  parseDuration,
  parseNonNegativeInt,
  quietOption,
  verboseOption,
  withDir,
  withFolderOptions,
  withJson,
  type FolderOptions,
  type GcFlags,
  type InitFlags,
  type LogFlags,
  type LsFlags,
  type ResolveFlags,
  type RestoreFlags,
  type SyncFlags,
  type VerifyFlags,
} from './options.js';
import { createOutput, type Output } from './output.js';
import { registerSchemaCommand } from './schema-command.js';
import { registerService } from './service-command.js';

const VERSION = '0.1.0';

/** What the command registrations share: the output, and where a command's exit code goes. */
interface CommandHost {
  readonly out: Output;
  finish(code: number): void;
}

function registerInit(program: Command, host: CommandHost): void {
  withJson(
    program
      .command('init')
      .description('make a folder a bm-log client: join the vault a remote holds (and download it), or --create a new one')
      .option('--remote <url>', 'a folder path or file:///path (shared folder), or s3://bucket[/prefix]')
      .option('--create', 'create a new vault at the remote (it must be empty or not exist yet); without it, init joins the vault there')
      .option('--encrypt', 'with --create: an end-to-end encrypted vault (the bucket sees no path, content or content hash)')
      .option('--join <token>', "join with an invitation (`members invite`): its remote, and the vault's root key pinned")
      .option('--name <name>', 'how other clients see this one (default: user@host)')
      .option('--endpoint <url>', 'S3-compatible endpoint (Tigris, MinIO, R2...)')
      .option('--region <region>', 'S3 region')
      .option('--path-style', 'use path-style S3 URLs (most local S3 servers need it)')
      .option('--no-sync', 'do not run the first sync')
      .option('--dir <path>', 'the folder to make a client (default: the current folder)'),
  ).action(async (o: InitFlags) => host.finish(await runInitCommand(o, host.out)));
}

/** `sync` (and `--watch`), `status`. */
function registerSyncCommands(program: Command, host: CommandHost): void {
  withFolderOptions(
    program
      .command('sync')
      .description('scan, fetch new events, plan, apply, publish')
      .option('--dry-run', 'print the plan and change nothing, locally or remotely')
      .option('--max-delete <n>', 'refuse a sync that would delete more than N files for everyone', parseNonNegativeInt('--max-delete'))
      .option('--force', 'skip the safety guards (max-delete, empty folder)')
      .option('--watch', 'keep syncing: on local changes (debounced) and every --interval seconds')
      .addOption(intervalOption())
      .addOption(quietOption())
      .addOption(verboseOption()),
  ).action(async (o: SyncFlags, cmd: Command) => {
    mustWatchForInterval(o, cmd);
    const flags = {
      dryRun: o.dryRun === true,
      maxDelete: o.maxDelete,
      force: o.force === true,
      watch: o.watch === true,
      interval: o.interval,
      quiet: o.quiet === true,
      verbose: o.verbose === true,
    };
    host.finish(await runSyncCommand({ dir: o.dir, json: o.json === true, ...flags }, host.out));
  });
  withFolderOptions(program.command('status').description('client, remote, last sync, pending changes, conflicts, other clients')).action(
    async (o: FolderOptions) => host.finish(await runStatusCommand(o, host.out)),
  );
}

/** `conflicts`, `resolve`. */
function registerConflictCommands(program: Command, host: CommandHost): void {
  withFolderOptions(program.command('conflicts').description('list open conflicts with their versions')).action(async (o: FolderOptions) =>
    host.finish(await runConflictsCommand(o, host.out)),
  );
  withFolderOptions(
    program
      .command('resolve')
      .description('end a conflict: keep the file at PATH as it is now, or --keep a version')
      .argument('<path>', 'the conflicted path (relative to the folder root)')
      .option('--keep <version>', 'keep this version (id or its last 8 characters, from `bm-log conflicts`)'),
  ).action(async (p: string, o: ResolveFlags) => host.finish(await runResolveCommand(mustSyncPath(p.replace(/^\.\//, '')), o, host.out)));
}

/** `subscribe`, `unsubscribe`: which folders sync here. */
function registerSubscriptionCommands(program: Command, host: CommandHost): void {
  withFolderOptions(program.command('subscribe').description('sync FOLDER again (after unsubscribe)').argument('<folder>')).action(
    async (f: string, o: FolderOptions) => host.finish(await runSubscribeCommand(f, o, host.out)),
  );
  withFolderOptions(
    program
      .command('unsubscribe')
      .description('stop syncing FOLDER here: removes it locally, never deletes it for others')
      .argument('<folder>'),
  ).action(async (f: string, o: FolderOptions) => host.finish(await runUnsubscribeCommand(f, o, host.out)));
}

/** `log` (`history`), `show`, `restore`, `ls`. */
function registerHistoryCommands(program: Command, host: CommandHost): void {
  withFolderOptions(
    program
      .command('log')
      .alias('history')
      .description('the events, newest first: who changed what, when, having seen what')
      .argument('[path]', 'only this path (or folder, ending in /)')
      .option('--client <id-or-name>', 'only events of this client')
      .option('--since <time>', 'only events at or after this time: 2h, 3d, today, yesterday, 2026-11-20, 2026-11-20T17:00Z...')
      .option('--until <time>', 'only events before this time (same forms as --since)')
      .option('--limit <n>', 'at most N events', parseNonNegativeInt('--limit')),
  ).action(async (p: string | undefined, o: LogFlags) => host.finish(await runLogCommand(p, o, host.out)));
  withFolderOptions(
    program
      .command('diff')
      .description('unified diff: the file here against its synced version, a conflict against its ancestor, or two versions')
      .argument('<path-or-version>', 'a path, or a version id (then a second one)')
      .argument('[version]', 'the second version, to compare two versions')
      .option('--from <version>', 'compare from this version of PATH (default: the one synced here)')
      .option('--to <version>', 'compare to this version of PATH (default: the file here)'),
  ).action(async (a: string, b: string | undefined, o: DiffFlags) =>
    host.finish(await runDiffCommand(b === undefined ? [a] : [a, b], o, host.out)),
  );
  withFolderOptions(
    program
      .command('show')
      .description('print the bytes of any version (checked against its hash); --json: the version and its bytes (UTF-8 text or base64)')
      .argument('<version>', 'a version id, or its last 8 characters'),
  ).action(async (v: string, o: FolderOptions) => host.finish(await runShowCommand(v, o, host.out)));
  withFolderOptions(
    program
      .command('restore')
      .description('bring a file, or a folder (FOLDER/), back to how it was; the restore syncs to everyone and is logged')
      .argument('<path>', 'a file, or a folder ending in /')
      .requiredOption('--at <time-or-version>', 'a time (as in log --since: 2h, yesterday, 2026-11-20...), or a version id of the file')
      .option(
        '--to <file>',
        'write the old bytes to this new file instead (publishes nothing; inside the folder, the next sync uploads it)',
      )
      .option('--dry-run', 'list what would change'),
  ).action(async (p: string, o: RestoreFlags) => host.finish(await runRestoreCommand(p, o, host.out)));
  withFolderOptions(
    program
      .command('ls')
      .description('list the tree now, or as of a time or version (--at)')
      .argument('[folder]')
      .option('--at <time-or-version>', 'a time (as in log --since) or a version id'),
  ).action(async (f: string | undefined, o: LsFlags) => host.finish(await runLsCommand(f, o, host.out)));
}

/** `verify`: every log and blob on the remote checked. */
function registerVerify(program: Command, host: CommandHost): void {
  withFolderOptions(
    program
      .command('verify')
      .description('re-check every log and blob on the remote: signatures, chains, keys, the vault marker, blobs')
      .option('--repair', 'put back missing blobs whose bytes a file in this folder still holds (never one a GC collected)'),
  ).action(async (o: VerifyFlags) => host.finish(await runVerifyCommand(o, host.out)));
}

/** `gc`, `checkpoint`, `clients`, `retire`. */
function registerGcCommands(program: Command, host: CommandHost): void {
  withFolderOptions(
    program
      .command('gc')
      .description("collect deletes everyone has seen and content no version needs; then checkpoint this client's log")
      .option('--dry-run', 'print what would be collected, condemned and deleted; change nothing')
      .option('--retention <duration>', 'keep deletes and replaced versions at least this long (default 30d)', parseDuration('--retention'))
      .option('--grace <duration>', 'wait this long between condemning a blob and deleting it (default 1h)', parseDuration('--grace'))
      .option('--no-checkpoint', 'do not write a checkpoint after the run'),
  ).action(async (o: GcFlags) => host.finish(await runGcCommand(o, host.out)));
  const checkpointHelp =
    "write a signed checkpoint of this client's own log, for new clients to start from (syncs write one as the log grows)";
  withFolderOptions(program.command('checkpoint').description(checkpointHelp)).action(async (o: FolderOptions) =>
    host.finish(await runCheckpointCommand(o, host.out)),
  );
  withFolderOptions(
    program.command('clients').description('every client: last segment, how far its log is acknowledged, retired or not'),
  ).action(async (o: FolderOptions) => host.finish(await runClientsCommand(o, host.out)));
  withFolderOptions(
    program
      .command('retire')
      .description('stop waiting for a client that is gone (garbage collection ignores its acknowledgements)')
      .argument('<client>', 'the exact client id or name (see `bm-log clients`)'),
  ).action(async (c: string, o: FolderOptions) => host.finish(await runRetireCommand(c, o, host.out)));
}

const ROLES = ['admin', 'writer', 'reader'] as const;
type RoleName = (typeof ROLES)[number];

/** `members [list]` and `members init|add|remove|role|invite` (ADR-0021). */
function registerMembers(program: Command, host: CommandHost): void {
  const members = program
    .command('members')
    .description('who may change the vault: members with key fingerprints and roles, pending clients');
  withFolderOptions(
    members.command('list', { isDefault: true }).description('members with key fingerprints and roles, pending clients (the default)'),
  ).action(async (o: FolderOptions) => host.finish(await runMembersListCommand(o, host.out)));
  withFolderOptions(
    members.command('init').description('make this client the root admin; every client there now is admitted as a writer'),
  ).action(async (o: FolderOptions) => host.finish(await runMembersInitCommand(o, host.out)));
  withFolderOptions(
    members
      .command('add')
      .description('admit a pending client (check its key fingerprint first)')
      .argument('<client>', 'its exact id or name')
      .addOption(new Option('--role <role>', 'its role').choices(ROLES).default('writer')),
  ).action(async (target: string, o: FolderOptions & { role: RoleName }) =>
    host.finish(await runMemberChangeCommand({ action: 'add', target, role: o.role }, o, host.out)),
  );
  withFolderOptions(
    members
      .command('remove')
      .description('remove a member: nothing it writes from now on counts')
      .argument('<client>', 'its exact id or name'),
  ).action(async (target: string, o: FolderOptions) =>
    host.finish(await runMemberChangeCommand({ action: 'remove', target }, o, host.out)),
  );
  withFolderOptions(
    members
      .command('role')
      .description("change a member's role")
      .argument('<client>', 'its exact id or name')
      .addArgument(new Argument('<role>', 'admin, writer or reader').choices(ROLES)),
  ).action(async (target: string, role: RoleName, o: FolderOptions) =>
    host.finish(await runMemberChangeCommand({ action: 'role', target, role }, o, host.out)),
  );
  withFolderOptions(
    members.command('invite').description('print a one-line token for a new member to join with').argument('<name>', 'who it is for'),
  ).action(async (name: string, o: FolderOptions) => host.finish(await runMembersInviteCommand(name, o, host.out)));
}

/** `doctor`: what the remote supports. */
function registerDoctor(program: Command, host: CommandHost): void {
  withFolderOptions(program.command('doctor').description('what the remote supports: create-only writes, versioning, snapshots')).action(
    async (o: FolderOptions) => host.finish(await runDoctorCommand(o, host.out)),
  );
}

/** `mcp`: a Model Context Protocol server for agents (loaded only when run: the SDK is large). */
function registerMcp(program: Command, host: CommandHost): void {
  withDir(
    program
      .command('mcp')
      .description('serve this folder to an AI agent over the Model Context Protocol (stdio)')
      .option('--as <name>', 'act as an agent client of this name: its own id and key, so `log` tells its edits from yours'),
  ).action(async (o: { dir?: string; as?: string }) => {
    const { runMcpCommand } = await import('./mcp-command.js');
    host.finish(await runMcpCommand(o, VERSION));
  });
}

/** `ui`: the web view of history, diffs and conflicts (ADR-0030). */
function registerUi(program: Command, host: CommandHost): void {
  withDir(
    program
      .command('ui')
      .description('serve a web view of this folder on 127.0.0.1: timeline, history and diffs, conflicts, clients, health')
      .option('--port <n>', 'the port to listen on (default: a free one)', parseNonNegativeInt('--port'))
      .option('--no-open', 'print the URL only; do not launch a browser'),
  ).action(async (o: { dir?: string; port?: number; open?: boolean }) => host.finish(await runUiCommand(o, host.out)));
}

/**
 * The CLI entry point. Returns the exit code; never calls process.exit, so tests can run it
 * in-process and the one error handler below is the only place errors become exit codes.
 */
export async function main(argv: readonly string[], out: Output = createOutput()): Promise<number> {
  let exit: number = ExitCode.ok;
  const host: CommandHost = { out, finish: (code) => (exit = code) };
  const program = new Command();
  program
    .name('bm-log')
    .description('Team-safe folder sync through a signed event log in a shared folder or an S3 bucket')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.stdout(s), writeErr: (s) => out.stderr(s) })
    .showHelpAfterError('(run with --help for usage)');
  // The order of the registrations is the order `--help` lists the commands in.
  registerInit(program, host);
  registerSyncCommands(program, host);
  registerConflictCommands(program, host);
  registerSubscriptionCommands(program, host);
  registerHistoryCommands(program, host);
  registerVerify(program, host);
  registerGcCommands(program, host);
  registerMembers(program, host);
  registerConfigCommands(program, out, host.finish);
  registerDoctor(program, host);
  registerMcp(program, host);
  registerUi(program, host);
  registerService(program, out, host.finish);
  registerSchemaCommand(program, out);
  registerCompletion(program, out);
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
    if (json) out.stdout(`${JSON.stringify(stampFormat({ error: { code, message, hint, exit } }), null, 2)}\n`);
    return exit;
  };
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return ExitCode.ok;
    return report(ErrorCode.usage, e.message, 'run with --help for usage', ExitCode.usage);
  }
  const raw =
    e instanceof BmError
      ? e
      : new BmError(
          ErrorCode.internal,
          `unexpected failure: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
          'please report this; no half-written file is left behind (writes are atomic)',
        );
  const err = new BmError(raw.code, raw.message, localizeHint(raw.hint, dirFlag), { ...raw.details }, { cause: raw });
  out.error(err);
  return report(err.code, err.message, err.hint, e instanceof BmError ? computeExitCode(err.code) : ExitCode.internal);
}
