import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { localCredentials, startLocalS3, type LocalS3Server } from '../../support/s3-server.js';
import { useWorlds } from './cli.js';

/**
 * `useWorlds` on a real S3 server (fauxqs, started in this test process on 127.0.0.1): call at
 * the top of a test file or a describe block. The server starts before its tests and stops
 * after them; every world gets a fresh prefix of `bucket`, so tests do not see each other.
 * `server()` is the running server (its endpoint, for reading objects by hand).
 */
export function useS3Worlds(bucket: string) {
  let server: LocalS3Server | undefined;
  beforeAll(async () => {
    server = await startLocalS3();
    await server.createBucket(bucket);
  });
  afterAll(async () => {
    await server?.stop();
  });
  const running = (): LocalS3Server => {
    if (server === undefined) throw new Error('the S3 server is not running: use the worlds inside the tests of this file or block');
    return server;
  };
  const worlds = useWorlds(() => ({
    remote: `s3://${bucket}/team-${randomBytes(4).toString('hex')}`,
    initArgs: ['--endpoint', running().endpoint, '--path-style', '--region', 'us-east-1'],
    env: { AWS_ACCESS_KEY_ID: localCredentials.accessKeyId, AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey },
  }));
  return { ...worlds, server: running };
}
