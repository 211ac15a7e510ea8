/**
 * Helpers for the reliability tests: run the CLI's own command handlers in-process with a
 * capturing Output (so the JSON report and the exit code are both checked), and run the
 * built CLI as a child process, as an unprivileged user when the tests run as root.
 */
import { execFile, execFileSync } from 'node:child_process';
import fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSyncCommand } from '../../src/cli/sync-command.js';
import { runVerifyCommand } from '../../src/cli/verify-command.js';
import type { Output } from '../../src/cli/output.js';
import type { BmError } from '../../src/errors.js';

export interface FaultJson {
  readonly client: string;
  readonly seq: number | null;
  readonly object: string;
  readonly code: string;
  readonly message: string;
}

export interface SyncJson {
  readonly faults: FaultJson[];
  readonly skipped: { path: string; op: string; detail: string; code?: string }[];
  readonly conflicts: { path: string; kind: string; detail: string }[];
  readonly applied: { kind: string; path: string }[];
  readonly notices: { path: string; detail: string }[];
  readonly eventsPublished: number;
}

export interface VerifyJson {
  readonly findings: { object: string; code: string; message: string }[];
}

/** An Output that keeps the JSON document and the errors instead of printing them. */
export function captureOutput(): { out: Output; got: { json: unknown; errors: BmError[] } } {
  const got: { json: unknown; errors: BmError[] } = { json: undefined, errors: [] };
  const out: Output = {
    isTty: false,
    stdout: () => undefined,
    stderr: () => undefined,
    line: () => undefined,
    result: (_json, data) => {
      got.json = data;
    },
    document: (pieces) => {
      got.json = JSON.parse([...pieces].join(''));
    },
    error: (e) => got.errors.push(e),
    startProgress: () => undefined,
    endProgress: () => undefined,
  };
  return { out, got };
}

/** `bm-log sync --json` in-process: the exit code it returns and its report. */
export async function syncJson(dir: string, options: { force?: boolean } = {}): Promise<{ code: number; report: SyncJson }> {
  const { out, got } = captureOutput();
  const code = await runSyncCommand({ dir, json: true, ...options }, out);
  return { code, report: got.json as SyncJson };
}

/** `bm-log verify --json` in-process. */
export async function verifyJson(dir: string): Promise<{ code: number; findings: VerifyJson['findings'] }> {
  const { out, got } = captureOutput();
  const code = await runVerifyCommand({ dir, json: true }, out);
  return { code, findings: (got.json as VerifyJson).findings };
}

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(REPO_ROOT, 'bin', 'bm-log.js');

/** Tests run as root in CI, where permission bits do not stop reads or writes. */
export const IS_ROOT = process.getuid?.() === 0;
/** The user the CLI runs as when the tests are root: permission bits then apply to it. */
export const UNPRIVILEGED = { uid: 65534, gid: 65534 } as const;

/** Gives every file below `dir` to the unprivileged user (no-op unless root). */
export async function chownForCli(dir: string): Promise<void> {
  if (!IS_ROOT) return;
  const walk = async (p: string): Promise<void> => {
    await fs.lchown(p, UNPRIVILEGED.uid, UNPRIVILEGED.gid);
    const st = await fs.lstat(p);
    if (st.isDirectory()) for (const name of await fs.readdir(p)) await walk(path.join(p, name));
  };
  await walk(dir);
}

export interface CliRun {
  readonly code: number;
  readonly json: any;
  readonly stderr: string;
}

/**
 * Runs the built CLI (`npm run build` first; `npm test` does) with `--json`. As root it runs
 * as the unprivileged user, so chmod 000 and read-only folders fail with a real EACCES.
 */
export function runCliJson(args: readonly string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, ...args, '--json'],
      { env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000, maxBuffer: 16 * 1024 * 1024, ...(IS_ROOT ? UNPRIVILEGED : {}) },
      (error, stdout, stderr) => {
        const code = error ? (error as { code?: unknown }).code : 0;
        if (typeof code !== 'number')
          return reject(new Error(`bm-log ${args.join(' ')} did not exit normally: ${String(error)}\n${stderr}`));
        let json: unknown;
        try {
          json = JSON.parse(stdout);
        } catch {
          json = undefined;
        }
        resolve({ code, json, stderr });
      },
    );
  });
}

/** Why a 1 MiB tmpfs cannot be mounted here (full-disk tests skip, saying so), or undefined when it can. */
export function tryTmpfsMount(): string | undefined {
  if (!IS_ROOT) return 'mounting a tmpfs needs root';
  const dir = fsSync.mkdtempSync(path.join(os.tmpdir(), 'bm-log-tmpfs-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'pipe' });
    execFileSync('umount', [dir], { stdio: 'pipe' });
    return undefined;
  } catch (e) {
    return `mount -t tmpfs failed here (${(e as Error).message.split('\n')[0]})`;
  } finally {
    fsSync.rmSync(dir, { recursive: true, force: true });
  }
}
