import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { z } from 'zod';
import { BmError, ErrorCode } from '../errors.js';
import { ULID_RE, type ClientId, type VaultId } from '../events/ids.js';
import { computePathProblem } from '../events/sync-path.js';

/**
 * The local state of one client folder lives in `<root>/.bm-log/` and is never synced
 * (sync paths may not alias it, see sync-path.ts). Layout:
 *   config.json   ClientConfig, written atomically, mode 600
 *   identity.key  this client's Ed25519 private key (PEM), create-only, mode 600
 *   index/        the LevelDB local index (local-index.ts)
 * The folder itself is mode 700: it holds a private key and the whole manifest.
 */
export const STATE_DIR = '.bm-log';
const CONFIG_FILE = 'config.json';
const KEY_FILE = 'identity.key';
const TMP_PREFIX = '.tmp-';
const NOT_A_CLIENT_HINT = 'run `bm-log init --remote URL` in the folder to sync';
const IS_POSIX = process.platform !== 'win32';

export function stateDirPath(root: string): string {
  return path.join(root, STATE_DIR);
}

/**
 * The nearest folder at or above `start` holding `.bm-log/config.json`, like git finds its
 * repository; undefined when there is none up to the file system root. Folders that
 * cannot be read (EACCES) are passed over, not errors.
 */
export async function findClientRoot(start: string): Promise<string | undefined> {
  let dir = path.resolve(start);
  for (;;) {
    try {
      const st = await fs.stat(path.join(dir, STATE_DIR, CONFIG_FILE));
      if (st.isFile()) return dir;
    } catch (e) {
      const code = errnoCode(e);
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EACCES') throw localIoError(e, `looking for ${STATE_DIR} above ${start}`);
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Creates `.bm-log` if needed and makes it owner-only (700). Returns its path. */
export async function ensureStateDir(root: string): Promise<string> {
  const dir = stateDirPath(root);
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    // mkdir leaves an existing folder's mode alone; the key inside must not be listable by others.
    if (IS_POSIX) await fs.chmod(dir, 0o700);
  } catch (e) {
    throw localIoError(e, `creating ${dir}`);
  }
  return dir;
}

const subscriptionSchema = z.string().superRefine((s, ctx) => {
  if (!s.endsWith('/')) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'a subscription is a folder prefix ending in /' });
    return;
  }
  const problem = computePathProblem(s.slice(0, -1));
  if (problem !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `unsafe folder: ${problem}` });
});

/** `.bm-log/config.json`: who this client is, which vault and remote it syncs with. */
export const clientConfigSchema = z
  .object({
    v: z.literal(1),
    clientId: z
      .string()
      .regex(ULID_RE, 'ULID')
      .transform((s) => s as ClientId),
    /** Human name shown to other clients (published in the identity object). */
    name: z.string().min(1).max(128),
    vaultId: z
      .string()
      .regex(ULID_RE, 'ULID')
      .transform((s) => s as VaultId),
    remote: z
      .object({
        /** `s3://bucket/prefix` or a directory path / `file://` URL. */
        url: z.string().min(1),
        endpoint: z.string().min(1).optional(),
        region: z.string().min(1).optional(),
        forcePathStyle: z.boolean().optional(),
        /** Probed at init: whether the server itself refuses overwrites (If-None-Match). */
        createOnlyEnforced: z.boolean().optional(),
      })
      .strict(),
    /** Folder prefixes ending in '/' this client syncs; empty means everything. */
    subscriptions: z.array(subscriptionSchema),
    /** Folder prefixes ending in '/' this client left (`bm-log unsubscribe`): out of scope. */
    unsubscribed: z.array(subscriptionSchema).default([]),
    createdAt: z.string().datetime(),
  })
  .strict();
export type ClientConfig = z.infer<typeof clientConfigSchema>;

/**
 * Writes the config atomically: temp file (mode 600) in `.bm-log`, fsync, rename over
 * config.json, fsync the folder. A crash leaves the old config or the new one, never a mix.
 * Throws config when `cfg` does not match the schema (nothing is written).
 */
export async function writeClientConfig(root: string, cfg: ClientConfig): Promise<void> {
  const checked = clientConfigSchema.safeParse(cfg);
  if (!checked.success)
    throw configError(checked.error, 'the config to write', 'check the values given to `bm-log init`; nothing was written');
  const dir = await ensureStateDir(root);
  const file = path.join(dir, CONFIG_FILE);
  const tmp = path.join(dir, `${TMP_PREFIX}${randomBytes(8).toString('hex')}`);
  try {
    await writeFileDurably(tmp, `${JSON.stringify(checked.data, null, 2)}\n`);
    await fs.rename(tmp, file);
    await fsyncFolder(dir);
  } catch (e) {
    throw localIoError(e, `writing ${file}`);
  } finally {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
  }
}

/**
 * Reads and validates `.bm-log/config.json`. Throws not-a-client when it is missing and
 * config when it is not valid JSON or does not match the schema.
 */
export async function readClientConfig(root: string): Promise<ClientConfig> {
  const file = path.join(stateDirPath(root), CONFIG_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new BmError(ErrorCode.notAClient, `${root} is not a bm-log folder; run \`bm-log init --remote URL\``, NOT_A_CLIENT_HINT, {
        root,
      });
    }
    throw localIoError(e, `reading ${file}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new BmError(ErrorCode.config, `${file} is not valid JSON; nothing was synced`, `fix or restore ${file}`, { file }, { cause: e });
  }
  const r = clientConfigSchema.safeParse(json);
  if (!r.success) throw configError(r.error, file, `fix or restore ${file}`);
  return r.data;
}

/**
 * Stores this client's private key (PEM text) in `.bm-log/identity.key`, mode 600,
 * create-only: the bytes go to a temp file opened with 'wx', are fsynced, then linked to
 * the final name, so a crash never leaves a truncated key and an existing key is never
 * replaced (throws config: losing the key would orphan this client's log).
 */
export async function writePrivateKey(root: string, pem: string): Promise<void> {
  const dir = await ensureStateDir(root);
  const file = path.join(dir, KEY_FILE);
  const tmp = path.join(dir, `${TMP_PREFIX}${randomBytes(8).toString('hex')}`);
  try {
    await writeFileDurably(tmp, pem);
    try {
      await fs.link(tmp, file);
    } catch (e) {
      if (errnoCode(e) !== 'EEXIST') throw e;
      throw new BmError(
        ErrorCode.config,
        `${file} already exists; the existing identity key was kept`,
        'this folder already has an identity; to start over, move .bm-log aside and run `bm-log init --remote URL` again',
        { file },
      );
    }
    await fsyncFolder(dir);
  } catch (e) {
    if (e instanceof BmError) throw e;
    throw localIoError(e, `writing ${file}`);
  } finally {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
  }
}

/**
 * Reads the private key. If group or others may read it (someone copied or chmodded it),
 * it is made 600 again before it is returned, and `notice` says so: the caller logs it at
 * info level rather than refusing to run, since the fix is safe and already done.
 * Throws config when the key file is missing (the config exists but the identity is gone).
 * On Windows, POSIX modes mean nothing and are not checked.
 */
export async function readPrivateKey(root: string): Promise<{ pem: string; notice?: string }> {
  const file = path.join(stateDirPath(root), KEY_FILE);
  try {
    const fh = await fs.open(file, 'r');
    try {
      const pem = await fh.readFile('utf8');
      const mode = (await fh.stat()).mode & 0o777;
      if (!IS_POSIX || (mode & 0o077) === 0) return { pem };
      await fh.chmod(0o600);
      return { pem, notice: `${file} was readable by others (mode ${mode.toString(8)}); changed it to 600` };
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') {
      throw new BmError(
        ErrorCode.config,
        `${file} is missing: this client cannot sign without its identity key`,
        `restore ${file} from a backup, or move .bm-log aside and run \`bm-log init --remote URL\` to join as a new client`,
        { file },
      );
    }
    throw localIoError(e, `reading ${file}`);
  }
}

export async function writeFileDurably(file: string, text: string | Uint8Array | readonly Uint8Array[]): Promise<void> {
  const fh = await fs.open(file, 'wx', 0o600);
  try {
    if (typeof text === 'string' || text instanceof Uint8Array) await fh.writeFile(text);
    else {
      for (const part of text) {
        for (let at = 0; at < part.byteLength; ) at += (await fh.write(part, at, part.byteLength - at)).bytesWritten;
      }
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Makes a rename or link inside `dir` durable; best effort where folders cannot be fsynced. */
export async function fsyncFolder(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r').catch(() => undefined);
  if (fh === undefined) return;
  await fh.sync().catch(() => undefined);
  await fh.close();
}

function configError(error: z.ZodError, what: string, hint: string): BmError {
  const issue = error.issues[0];
  const where = issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid';
  return new BmError(ErrorCode.config, `${what} is not a valid bm-log config (${where})`, hint, { issues: error.issues });
}

function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

/** Wraps a local file-system failure; a full disk gets its own code. */
export function localIoError(e: unknown, what: string): BmError {
  const code = errnoCode(e);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new BmError(
      ErrorCode.diskFull,
      `local disk is full while ${what}; nothing was changed`,
      'free space on this disk, then retry',
      {},
      { cause: e },
    );
  }
  return new BmError(
    ErrorCode.localIo,
    `${what} failed (${code ?? String(e)})`,
    "check the folder's permissions and free space, then retry",
    {},
    { cause: e },
  );
}
