/**
 * Helpers for the end-to-end CLI tests: they run the BUILT CLI (`node bin/bm-log.js`) as
 * child processes, never in-process, against client folders in a temp directory.
 * `npm test` builds first; run `npm run build` yourself before `npx vitest run test/cli`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect } from 'vitest';
import { createFormat1Vault } from '../../support/members.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/**
 * The CLI under test: `bin/bm-log.js` of this checkout (which loads dist/), or another
 * checkout's bin given in BM_LOG_E2E_BIN (e.g. a private build while others rebuild dist/).
 */
export const BIN = process.env['BM_LOG_E2E_BIN'] ? path.resolve(process.env['BM_LOG_E2E_BIN']) : path.join(REPO_ROOT, 'bin', 'bm-log.js');

const BUILT_ENTRY = path.join(path.dirname(BIN), '..', 'dist', 'cli', 'main.js');
if (!existsSync(BUILT_ENTRY)) {
  throw new Error(`the CLI e2e tests run the built CLI, but ${BUILT_ENTRY} is missing: run \`npm run build\` first (\`npm test\` does)`);
}

/** Exit codes of the CLI (src/cli/exit-codes.ts), repeated here as the contract under test. */
export const EXIT = { ok: 0, internal: 1, usage: 2, retry: 3, safety: 4, integrity: 5 } as const;

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON when it is one JSON document (with --json), else undefined. */
  readonly json?: any;
  readonly args: readonly string[];
}

export interface RunOptions {
  readonly cwd?: string;
  /** Extra environment variables for the child (on top of this process's). */
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

function childEnv(extra: Readonly<Record<string, string>> | undefined): NodeJS.ProcessEnv {
  // NO_COLOR and a non-TTY stderr keep the output plain; extra wins.
  return { ...process.env, NO_COLOR: '1', ...extra };
}

function parseJson(stdout: string): unknown {
  const t = stdout.trim();
  if (!t.startsWith('{') && !t.startsWith('[')) return undefined;
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}

/** Runs `node bin/bm-log.js ...args` and resolves with its exit code and output (never rejects on a non-zero exit). */
export function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: options.cwd ?? REPO_ROOT,
        env: childEnv(options.env),
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 64 * 1024 * 1024,
        killSignal: 'SIGKILL',
      },
      (error, stdout, stderr) => {
        let code = 0;
        if (error) {
          const c = (error as { code?: unknown }).code;
          if (typeof c !== 'number')
            return reject(
              new Error(
                `bm-log ${args.join(' ')} did not exit normally (${String(c ?? error.message)}; signal ${String((error as { signal?: unknown }).signal)})\nstdout: ${stdout}\nstderr: ${stderr}`,
              ),
            );
          code = c;
        }
        resolve({ code, stdout, stderr, json: parseJson(stdout), args });
      },
    );
  });
}

/** Starts `node bin/bm-log.js ...args` without waiting (long syncs, crash tests). */
export function spawnCli(
  args: readonly string[],
  options: RunOptions = {},
): ChildProcess & { readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return Object.assign(child, { done });
}

/** A folder holding a `bm-log` command that runs the CLI under test, for pasting hints into a shell. */
let pasteBin: Promise<string> | undefined;
function bmLogOnPath(): Promise<string> {
  pasteBin ??= (async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bm-log-paste-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    await fs.writeFile(path.join(dir, 'bm-log'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`, {
      mode: 0o755,
    });
    return dir;
  })();
  return pasteBin;
}

/** Every command bm-log quotes for the user to run (between backticks) in `text`. */
export function commandsIn(text: string): string[] {
  return [...text.matchAll(/`(bm-log [^`]*)`/g)].map((m) => m[1]!);
}

/**
 * Runs `line` as a user who pastes it does: through bash, from `cwd`, with `bm-log` on the
 * PATH running the CLI under test. Never rejects on a non-zero exit.
 */
export async function pasteInBash(line: string, options: { cwd: string; env?: Readonly<Record<string, string>> }): Promise<CliResult> {
  const bin = await bmLogOnPath();
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      ['-c', line],
      {
        cwd: options.cwd,
        env: { ...childEnv(options.env), PATH: `${bin}${path.delimiter}${process.env['PATH'] ?? ''}` },
        timeout: 60_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const c = (error as { code?: unknown } | null)?.code;
        if (error && typeof c !== 'number') return reject(error);
        resolve({ code: typeof c === 'number' ? c : 0, stdout, stderr, json: parseJson(stdout), args: ['(pasted)', line] });
      },
    );
  });
}

/** A readable description of a run, for assertion messages. */
export function describeRun(r: CliResult): string {
  return `bm-log ${r.args.join(' ')} exited ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

/** Throws with the full output unless the run exited with `code`; returns the run. */
export function expectExit(r: CliResult, code: number): CliResult {
  if (r.code !== code) throw new Error(`expected exit ${code}\n${describeRun(r)}`);
  return r;
}

export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Every regular file below `dir` (relative '/'-separated path → sha256), skipping folders named in `skip` at the top. */
export async function hashTree(
  dir: string,
  options: { skipTop?: readonly string[]; skipName?: (name: string) => boolean } = {},
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    const abs = rel === '' ? dir : path.join(dir, ...rel.split('/'));
    for (const ent of await fs.readdir(abs, { withFileTypes: true })) {
      const p = rel === '' ? ent.name : `${rel}/${ent.name}`;
      if (rel === '' && options.skipTop?.includes(ent.name)) continue;
      if (options.skipName?.(ent.name)) continue;
      if (ent.isDirectory()) await walk(p);
      else if (ent.isFile()) out.set(p, sha256(await fs.readFile(path.join(dir, ...p.split('/')))));
      else out.set(p, `(${ent.isSymbolicLink() ? 'symlink' : 'special'})`);
    }
  };
  await walk('');
  return out;
}

/** A Map as a sorted plain object, so toEqual diffs read well. */
export function sortedObject(m: ReadonlyMap<string, string>): Record<string, string> {
  return Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** One client folder. `run` adds `--dir`; paths are relative to the folder. */
export class Client {
  constructor(
    readonly dir: string,
    readonly name: string,
    private readonly env: Readonly<Record<string, string>> = {},
  ) {}

  abs(rel: string): string {
    return path.join(this.dir, ...rel.split('/'));
  }

  run(...args: string[]): Promise<CliResult> {
    return runCli([...args, '--dir', this.dir], { env: this.env });
  }

  /** `sync --json` plus `extra` flags. */
  sync(...extra: string[]): Promise<CliResult> {
    return this.run('sync', '--json', ...extra);
  }

  /** `sync --json`, expecting exit 0; returns the report. */
  async syncOk(...extra: string[]): Promise<SyncReportJson> {
    return expectExit(await this.sync(...extra), EXIT.ok).json as SyncReportJson;
  }

  spawn(...args: string[]): ReturnType<typeof spawnCli> {
    return spawnCli([...args, '--dir', this.dir], { env: this.env });
  }

  async write(rel: string, content: string | Uint8Array): Promise<void> {
    await fs.mkdir(path.dirname(this.abs(rel)), { recursive: true });
    await fs.writeFile(this.abs(rel), content);
  }

  read(rel: string): Promise<string> {
    return fs.readFile(this.abs(rel), 'utf8');
  }

  async rm(rel: string): Promise<void> {
    await fs.rm(this.abs(rel), { recursive: true });
  }

  exists(rel: string): boolean {
    return existsSync(this.abs(rel));
  }

  /** The synced tree as the user sees it: every file but bm-log's own state. */
  tree(): Promise<Map<string, string>> {
    return hashTree(this.dir, { skipTop: ['.bm-log'] });
  }

  /** Top-level and nested file paths, sorted, without .bm-log. */
  async files(): Promise<string[]> {
    return [...(await this.tree()).keys()].sort();
  }

  /** This client's id, from its config. */
  async clientId(): Promise<string> {
    return (JSON.parse(await fs.readFile(path.join(this.dir, '.bm-log', 'config.json'), 'utf8')) as { clientId: string }).clientId;
  }

  async conflicts(): Promise<ConflictJson[]> {
    return (expectExit(await this.run('conflicts', '--json'), EXIT.ok).json as { conflicts: ConflictJson[] }).conflicts;
  }

  async log(...extra: string[]): Promise<LogEventJson[]> {
    return (expectExit(await this.run('log', '--json', ...extra), EXIT.ok).json as { events: LogEventJson[] }).events;
  }
}

export interface OpJson {
  readonly kind: string;
  readonly path: string;
  readonly [k: string]: unknown;
}

export interface SyncReportJson {
  readonly dryRun: boolean;
  readonly plan: OpJson[];
  readonly applied: OpJson[];
  readonly skipped: { path: string; op: string; detail: string }[];
  readonly conflicts: ConflictJson[];
  readonly notices: { path: string; detail: string; reason?: string }[];
  readonly faults: { client: string; seq: number | null; object: string; code: string; message: string }[];
  readonly eventsPublished: number;
  readonly [k: string]: unknown;
}

export interface ConflictJson {
  readonly path: string;
  readonly kind: string;
  readonly winner: string | null;
  readonly heads: { version: string; type: string; client: string; clientName: string | null; hash: string | null }[];
  readonly copies: string[];
}

export interface LogEventJson {
  readonly path: string;
  readonly type: string;
  readonly version: string;
  readonly client: string;
  readonly clientName: string | null;
  readonly hash: string | null;
}

/** Kinds of the applied ops on `path` (record/forget included). */
export function opsOn(report: SyncReportJson, p: string, which: 'applied' | 'plan' = 'applied'): string[] {
  return report[which].filter((o) => o.path === p).map((o) => o.kind);
}

/** The paths of conflict copies of `rel` in a list of paths. */
export function copiesOf(files: readonly string[], rel: string): string[] {
  const dot = rel.lastIndexOf('.');
  const stem = dot > 0 ? rel.slice(0, dot) : rel;
  return files.filter((f) => f.startsWith(`${stem}.conflict-`));
}

/** A temp folder holding a remote folder and client folders; `cleanup` removes it. */
export class World {
  readonly remoteDir: string;
  private vaultCreated = false;
  private constructor(
    readonly base: string,
    readonly remoteUrl: string,
    private readonly initArgs: readonly string[],
    private readonly env: Readonly<Record<string, string>>,
  ) {
    this.remoteDir = path.join(base, 'remote');
  }

  /** The client that created the vault (`init --create`): the admin that admits the others (ADR-0032). */
  private creator: Client | undefined;

  /**
   * A world whose remote is a local folder (or `remote`, e.g. an s3:// URL, with extra init flags and env).
   * `openVault`: the remote starts holding a format-1 vault marker, as a vault made by an earlier
   * release (no members: every client counts); every client then joins it (a local-folder remote only).
   */
  static async create(
    options: { remote?: string; initArgs?: readonly string[]; env?: Readonly<Record<string, string>>; openVault?: boolean } = {},
  ): Promise<World> {
    const base = await fs.mkdtemp(path.join(os.tmpdir(), 'bm-log-e2e-'));
    const w = new World(base, options.remote ?? path.join(base, 'remote'), options.initArgs ?? [], options.env ?? {});
    if (options.openVault === true) {
      await createFormat1Vault(w.remoteDir);
      w.vaultCreated = true;
    }
    return w;
  }

  /** A client object for folder `name` (not initialised). */
  client(name: string): Client {
    return new Client(path.join(this.base, name), name, this.env);
  }

  /**
   * Runs `bm-log init` (with its first sync unless `noSync`) for a new client named `name`.
   * The world's first client creates the vault (`--create`), the others join it, unless
   * `create` says otherwise.
   */
  async init(
    name: string,
    options: { noSync?: boolean; files?: Readonly<Record<string, string>>; create?: boolean } = {},
  ): Promise<Client> {
    const c = this.client(name);
    await fs.mkdir(c.dir, { recursive: true });
    for (const [rel, content] of Object.entries(options.files ?? {})) await c.write(rel, content);
    const create = options.create ?? !this.vaultCreated;
    // A joiner of a vault with members is admitted by its creator; its first sync (which
    // publishes its files) waits until then.
    const admit = !create && this.creator !== undefined;
    const r = await runCli(
      [
        'init',
        ...(create ? ['--create'] : []),
        '--remote',
        this.remoteUrl,
        '--name',
        name,
        '--dir',
        c.dir,
        '--json',
        ...this.initArgs,
        ...(options.noSync || admit ? ['--no-sync'] : []),
      ],
      { env: this.env },
    );
    expectExit(r, EXIT.ok);
    this.vaultCreated = true;
    if (create) this.creator = c;
    if (admit) {
      expectExit(await this.creator!.run('members', 'add', name), EXIT.ok);
      if (!options.noSync) expectExit(await c.run('sync'), EXIT.ok);
    }
    return c;
  }

  /** Every file of a local-folder remote (key → sha256), e.g. to prove a dry run wrote nothing. */
  remoteTree(): Promise<Map<string, string>> {
    return hashTree(this.remoteDir);
  }

  async cleanup(): Promise<void> {
    await fs.rm(this.base, { recursive: true, force: true });
  }
}

type WorldOptions = Parameters<typeof World.create>[0];

/**
 * Call at the top of a test file: worlds made through it are removed after the file.
 * `pair` makes the usual start: Alice creates the remote with `files`, Bob joins and
 * downloads them.
 */
export function useWorlds(defaults: () => WorldOptions = () => ({})) {
  const made: World[] = [];
  afterAll(async () => {
    await Promise.all(made.map((w) => w.cleanup()));
  });
  const world = async (): Promise<World> => {
    const w = await World.create(defaults());
    made.push(w);
    return w;
  };
  const pair = async (files: Readonly<Record<string, string>>): Promise<{ w: World; a: Client; b: Client }> => {
    const w = await world();
    const a = await w.init('alice', { files });
    const b = await w.init('bob');
    expect(sortedObject(await b.tree())).toEqual(sortedObject(await a.tree()));
    return { w, a, b };
  };
  return { world, pair };
}

/** Flips one bit in the middle of a file (made writable first). */
export async function flipByte(file: string, at?: number): Promise<void> {
  await fs.chmod(file, 0o644);
  const bytes = await fs.readFile(file);
  const i = at ?? Math.floor(bytes.length / 2);
  bytes[i] = bytes[i]! ^ 0x01;
  await fs.writeFile(file, bytes);
}

/**
 * Where a small content lives in a directory remote since packs (ADR-0022): the key of the
 * pack holding `content` and its offset there. Throws when no pack holds it.
 */
export async function findPackedContent(remoteDir: string, content: string): Promise<{ key: string; offset: number }> {
  const root = path.join(remoteDir, 'packs');
  for (const client of await fs.readdir(root)) {
    for (const id of await fs.readdir(path.join(root, client))) {
      const offset = (await fs.readFile(path.join(root, client, id))).indexOf(Buffer.from(content));
      if (offset >= 0) return { key: `packs/${client}/${id}`, offset };
    }
  }
  throw new Error(`no pack in ${remoteDir} holds ${JSON.stringify(content)}`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Starts `sync --watch --interval 1` on `c`, killed when the test finishes (after `cleanup`).
 * `until` waits up to `ms` for its stdout to match `re` (failing with its stderr); `expectBackInSync` ends it.
 */
export function startWatch(c: Client, onTestFinished: (fn: () => void) => void, cleanup?: () => void) {
  const watch = c.spawn('sync', '--watch', '--interval', '1');
  onTestFinished(() => {
    cleanup?.();
    if (watch.exitCode === null && watch.signalCode === null) watch.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  watch.stdout!.on('data', (d: string) => (out += d));
  watch.stderr!.on('data', (d: string) => (err += d));
  const until = async (re: RegExp, ms: number) => {
    const deadline = Date.now() + ms;
    while (!re.test(out) && Date.now() < deadline && watch.exitCode === null) await sleep(100);
    expect(out, `${err}\n(exit ${watch.exitCode})`).toMatch(re);
  };
  /** Once the remote is back: a new file is uploaded by the next round, and Ctrl-C leaves the folder in sync (exit 0). */
  const expectBackInSync = async () => {
    await c.write('b.md', 'b\n');
    await until(/synced: 1 uploaded/, 40_000);
    watch.kill('SIGINT');
    const r = await watch.done;
    expect(r.code, r.stderr).toBe(EXIT.ok);
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(/^stopped: the folder is in sync/);
  };
  return { watch, until, output: () => ({ out, err }), expectBackInSync };
}
