import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startFaultProxy, type FaultProxy, type FaultProxyOptions } from './fault-proxy.js';
import { localCredentials, startLocalS3, type LocalS3Server } from './s3-server.js';

/** A test file's S3 server (fauxqs in process), the fault proxy in front of it, and a temp folder. */
export interface S3BehindProxy {
  server: LocalS3Server;
  proxy: FaultProxy;
  base: string;
  /** S3Store options for `bucket` under `vault/` at `endpoint` (the proxy's or the server's). */
  storeOptions(endpoint: string): {
    bucket: string;
    prefix: 'vault/';
    endpoint: string;
    region: 'us-east-1';
    forcePathStyle: true;
    credentials: typeof localCredentials;
  };
}

/**
 * Starts the server with `bucket` and the proxy (`proxyOptions`) before the file's tests and
 * stops them, removing the temp folder, after. Read the fields inside tests only.
 */
export function useS3BehindProxy(bucket: string, proxyOptions: Omit<FaultProxyOptions, 'upstream'>, tmpPrefix: string): S3BehindProxy {
  const s = {
    storeOptions: (endpoint: string) =>
      ({ bucket, prefix: 'vault/', endpoint, region: 'us-east-1', forcePathStyle: true, credentials: localCredentials }) as const,
  } as S3BehindProxy;
  beforeAll(async () => {
    s.server = await startLocalS3();
    await s.server.createBucket(bucket);
    s.proxy = await startFaultProxy({ upstream: s.server.endpoint, ...proxyOptions });
    s.base = await fs.mkdtemp(path.join(os.tmpdir(), tmpPrefix));
  });
  afterAll(async () => {
    await s.proxy?.stop();
    await s.server?.stop();
    if (s.base) await fs.rm(s.base, { recursive: true, force: true });
  });
  return s;
}
