import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BmError, ErrorCode } from '../errors.js';
import { DirectoryStore } from '../events/store/directory-store.js';
import type { ObjectStore } from '../events/store/object-store.js';
import type { SnapshotPort } from '../events/store/snapshot-port.js';
import type { ClientConfig } from '../local/state-dir.js';
import { shellQuote } from './human-text.js';

export type RemoteConfig = ClientConfig['remote'];

/** `s3://bucket/prefix` → bucket and prefix ('' or ending in '/'); anything else is a directory. */
export function parseRemoteUrl(
  url: string,
  cwd: string,
): { kind: 's3'; bucket: string; prefix: string } | { kind: 'directory'; dir: string } {
  // `s3:/x`, `s3:x`, `S3://x`: meant as S3, never a local folder named `s3:`.
  const s3ish = /^s3:\/*(.*)$/i.exec(url);
  if (s3ish !== null && !url.startsWith('s3://')) {
    const fixed = `s3://${s3ish[1]!}`;
    throw new BmError(
      ErrorCode.usage,
      `remote ${JSON.stringify(url)} is not an S3 URL (an S3 remote starts with s3://, two slashes)`,
      `did you mean ${fixed}? e.g. --remote ${shellQuote(fixed)}`,
    );
  }
  if (url.startsWith('s3://')) {
    const rest = url.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    let prefix = slash < 0 ? '' : rest.slice(slash + 1);
    if (bucket === '') throw new BmError(ErrorCode.usage, `remote ${url} names no bucket`, 'use s3://BUCKET[/PREFIX]');
    if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
    return { kind: 's3', bucket, prefix };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !url.startsWith('file://')) {
    throw new BmError(ErrorCode.usage, `unsupported remote ${url}`, 'use a folder path, file:///path, or s3://bucket[/prefix]');
  }
  const dir = url.startsWith('file://') ? fileURLToPath(url) : path.resolve(cwd, url);
  return { kind: 'directory', dir };
}

/** Opens the remote's ObjectStore. `create` makes a missing local remote folder. */
export async function openRemote(remote: RemoteConfig, options: { create?: boolean; cwd?: string } = {}): Promise<ObjectStore> {
  const parsed = parseRemoteUrl(remote.url, options.cwd ?? process.cwd());
  if (parsed.kind === 's3') {
    // Loaded only for S3 remotes: the AWS SDK is most of bm-log's start-up time otherwise.
    const { S3Store } = await import('../events/store/s3-store.js');
    return new S3Store({
      bucket: parsed.bucket,
      prefix: parsed.prefix,
      ...(remote.endpoint !== undefined ? { endpoint: remote.endpoint } : {}),
      ...(remote.region !== undefined ? { region: remote.region } : {}),
      ...(remote.forcePathStyle !== undefined ? { forcePathStyle: remote.forcePathStyle } : {}),
      ...(remote.createOnlyEnforced !== undefined ? { createOnlyEnforced: remote.createOnlyEnforced } : {}),
    });
  }
  try {
    const st = await fs.stat(parsed.dir);
    if (!st.isDirectory()) throw new BmError(ErrorCode.config, `remote ${parsed.dir} is not a folder`, 'point --remote at a folder');
  } catch (e) {
    if (e instanceof BmError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new BmError(
        ErrorCode.remoteUnavailable,
        `remote folder ${parsed.dir} cannot be reached (${(e as NodeJS.ErrnoException).code})`,
        'check that it is mounted, then retry',
      );
    }
    if (!options.create) {
      throw new BmError(
        ErrorCode.remoteUnavailable,
        `remote folder ${parsed.dir} does not exist`,
        'check that the shared folder is mounted, then retry',
      );
    }
    await fs.mkdir(parsed.dir, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
      throw new BmError(
        ErrorCode.config,
        `cannot create the remote folder ${parsed.dir} (${err.code ?? err.message}: ${describeErrno(err.code)})`,
        'choose a folder you may write to (or have it created for you with write access); nothing was created',
        {},
        { cause: err },
      );
    });
  }
  return new DirectoryStore(parsed.dir);
}

/**
 * The remote's bucket snapshots (ADR-0034): an S3 store on Tigris has them; a directory remote,
 * and S3 elsewhere, none (undefined), so every segment records a null snapshot there.
 */
export function snapshotsOf(store: ObjectStore): SnapshotPort | undefined {
  const s = store as Partial<{ snapshotPort(): SnapshotPort | undefined }>;
  return typeof s.snapshotPort === 'function' ? s.snapshotPort() : undefined;
}

/** A few words for the errno codes a folder the user may not write to gives. */
export function describeErrno(code: string | undefined): string {
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOENT':
    case 'ENOTDIR':
      return 'a folder on the way is missing or is a file';
    default:
      return 'the system refused';
  }
}
