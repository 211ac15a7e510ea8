import { buildApp } from 'fauxqs';

/** Dummy credentials for the local server; passed to S3Store explicitly, never via env. */
export const localCredentials = { accessKeyId: 'bm-log-test', secretAccessKey: 'bm-log-test-secret' } as const;

export interface LocalS3Server {
  /** e.g. http://127.0.0.1:41234 (path-style addressing required). */
  readonly endpoint: string;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts fauxqs (an in-memory S3 emulator) in this process, listening on 127.0.0.1 only
 * with an OS-assigned port. fauxqs's own startFauxqs() binds 0.0.0.0, so this builds
 * the app and listens itself.
 *
 * It also hides the machine's AWS_* variables (AWS_CA_BUNDLE, AWS_PROFILE,
 * AWS_ENDPOINT_URL, AWS_REGION, ...) and the shared config/credentials files until stop(),
 * so nothing on the host changes how the SDK talks to the local server. Vitest runs each
 * test file in its own process, so this does not leak into other files.
 */
export async function startLocalS3(): Promise<LocalS3Server> {
  const restoreEnv = isolateFromAwsEnv();
  const app = buildApp({ logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('fauxqs did not report a TCP address');
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    async createBucket(name) {
      // fauxqs does not check signatures, so a plain path-style PUT creates the bucket.
      const res = await fetch(`${endpoint}/${encodeURIComponent(name)}`, { method: 'PUT' });
      if (!res.ok) throw new Error(`creating bucket ${name} failed: HTTP ${res.status}`);
    },
    async stop() {
      await app.close();
      restoreEnv();
    },
  };
}

function isolateFromAwsEnv(): () => void {
  const saved = Object.entries(process.env).filter(([k]) => k.startsWith('AWS_'));
  for (const [k] of saved) delete process.env[k];
  process.env.AWS_CONFIG_FILE = '/nonexistent/bm-log-test/aws-config';
  process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/bm-log-test/aws-credentials';
  return () => {
    for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
    for (const [k, v] of saved) process.env[k] = v;
  };
}
