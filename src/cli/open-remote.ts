import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BmError, ErrorCode } from '../errors.js';
import { DirectoryStore } from '../events/store/directory-store.js';
import type { ObjectStore } from '../events/store/object-store.js';
import type { ClientConfig } from '../local/state-dir.js';

export type RemoteConfig = ClientConfig['remote'];

/** `s3://bucket/prefix` → bucket and prefix ('' or ending in '/'); anything else is a directory. */
export function parseRemoteUrl(url: string, cwd: string): { kind: 's3'; bucket: string; prefix: string } | { kind: 'directory'; dir: string } {
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
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new BmError(ErrorCode.remoteUnavailable, `remote folder ${parsed.dir} cannot be reached (${(e as NodeJS.ErrnoException).code})`, 'check that it is mounted, then retry');
    if (!options.create) throw new BmError(ErrorCode.remoteUnavailable, `remote folder ${parsed.dir} does not exist`, 'check that the shared folder is mounted, then retry');
    await fs.mkdir(parsed.dir, { recursive: true });
  }
  return new DirectoryStore(parsed.dir);
}
