// An in-process fauxqs S3 server on 127.0.0.1 that counts the requests it serves, by type.
// Plain-JS twin of test/support/s3-server.ts (the bench runs without a TS loader).
import { buildApp } from 'fauxqs';

export const benchCredentials = { accessKeyId: 'bm-log-bench', secretAccessKey: 'bm-log-bench-secret' };

/**
 * Request type from method, path and query string (path-style addressing):
 * LIST (GET bucket), GET, HEAD, PUT, CREATE-MPU / UPLOAD-PART / COMPLETE-MPU / ABORT-MPU,
 * COPY, DELETE, DELETE-MULTI, BUCKET (create/head/delete bucket), OTHER.
 */
export function classifyRequest(method, url, headers = {}) {
  const q = url.indexOf('?');
  const pathPart = q < 0 ? url : url.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const segs = pathPart.split('/').filter((s) => s !== '');
  const hasKey = segs.length > 1;
  switch (method) {
    case 'GET':
      if (segs.length === 0) return 'LIST-BUCKETS';
      if (!hasKey) return query.has('versioning') ? 'GET-BUCKET-CONFIG' : 'LIST';
      return 'GET';
    case 'HEAD':
      return hasKey ? 'HEAD' : 'BUCKET';
    case 'PUT':
      if (!hasKey) return 'BUCKET';
      if (query.has('uploadId') && query.has('partNumber')) return 'UPLOAD-PART';
      if (headers['x-amz-copy-source']) return 'COPY';
      return 'PUT';
    case 'POST':
      if (!hasKey) return query.has('delete') ? 'DELETE-MULTI' : 'OTHER';
      if (query.has('uploads')) return 'CREATE-MPU';
      if (query.has('uploadId')) return 'COMPLETE-MPU';
      return 'OTHER';
    case 'DELETE':
      if (!hasKey) return 'BUCKET';
      return query.has('uploadId') ? 'ABORT-MPU' : 'DELETE';
    default:
      return 'OTHER';
  }
}

/**
 * Starts fauxqs listening on 127.0.0.1 (OS-assigned port) with an onRequest hook that
 * counts every request by type. `snapshot()` returns the counts so far; `diff(a, b)`
 * the requests between two snapshots.
 */
export async function startCountingS3() {
  const app = buildApp({ logger: false });
  const counts = new Map();
  let bytesIn = 0;
  app.addHook('onRequest', async (request) => {
    const type = classifyRequest(request.method, request.url, request.headers);
    counts.set(type, (counts.get(type) ?? 0) + 1);
    const len = Number(request.headers['content-length'] ?? 0);
    if (Number.isFinite(len)) bytesIn += len;
  });
  // Compatibility shim for fauxqs 1.9.2's CompleteMultipartUpload parser, which (a) decodes
  // only &quot; while rclone (Go's encoding/xml) writes the ETags' quotes as &#34;, and
  // (b) reads <Part> elements in one field order only (PartNumber then ETag, or, if none
  // match, ETag then PartNumber), while rclone mixes both orders in one body, so parts
  // were silently dropped and rclone's multipart uploads failed (InvalidPart, or
  // "corrupted on transfer: sizes differ"). Rewrite the body into the canonical form.
  app.addHook('preHandler', async (request) => {
    if (request.method !== 'POST' || !request.url.includes('uploadId=')) return;
    const body = Buffer.isBuffer(request.body) ? request.body.toString('utf8') : request.body;
    if (typeof body !== 'string') return;
    const parts = [...body.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => {
      const n = /<PartNumber>(\d+)<\/PartNumber>/.exec(m[1]);
      const e = /<ETag>([\s\S]*?)<\/ETag>/.exec(m[1]);
      return n && e ? `<Part><PartNumber>${n[1]}</PartNumber><ETag>${e[1].replaceAll('&#34;', '&quot;')}</ETag></Part>` : m[0];
    });
    request.body = `<CompleteMultipartUpload>${parts.join('')}</CompleteMultipartUpload>`;
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('fauxqs did not report a TCP address');
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    snapshot: () => ({ counts: Object.fromEntries(counts), bytesIn }),
    async createBucket(name) {
      // fauxqs does not check signatures, so a plain path-style PUT creates the bucket.
      const res = await fetch(`${endpoint}/${encodeURIComponent(name)}`, { method: 'PUT' });
      if (!res.ok) throw new Error(`creating bucket ${name} failed: HTTP ${res.status}`);
    },
    async stop() {
      await app.close();
    },
  };
}

/** Requests between two snapshots: { total, byType: { LIST: n, ... }, bytesIn }. */
export function diffCounts(before, after) {
  const byType = {};
  let total = 0;
  for (const [k, v] of Object.entries(after.counts)) {
    const n = v - (before.counts[k] ?? 0);
    if (n > 0) {
      byType[k] = n;
      total += n;
    }
  }
  return { total, byType, bytesIn: after.bytesIn - before.bytesIn };
}

/** Environment for a child process talking to the bench server: AWS_* from the host removed. */
export function s3ChildEnv(base = process.env) {
  const env = {};
  for (const [k, v] of Object.entries(base)) if (!k.startsWith('AWS_') && !k.startsWith('RCLONE_')) env[k] = v;
  env.AWS_ACCESS_KEY_ID = benchCredentials.accessKeyId;
  env.AWS_SECRET_ACCESS_KEY = benchCredentials.secretAccessKey;
  env.AWS_REGION = 'us-east-1';
  env.AWS_CONFIG_FILE = '/nonexistent/bm-log-bench/aws-config';
  env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/bm-log-bench/aws-credentials';
  return env;
}

/** rclone remote through environment variables only (no config file is written). */
export function rcloneS3Env(endpoint) {
  return {
    ...s3ChildEnv(),
    RCLONE_CONFIG: '/nonexistent/bm-log-bench/rclone.conf',
    RCLONE_CONFIG_BENCHS3_TYPE: 's3',
    RCLONE_CONFIG_BENCHS3_PROVIDER: 'Other',
    RCLONE_CONFIG_BENCHS3_ENV_AUTH: 'true',
    RCLONE_CONFIG_BENCHS3_ENDPOINT: endpoint,
    RCLONE_CONFIG_BENCHS3_REGION: 'us-east-1',
    RCLONE_CONFIG_BENCHS3_FORCE_PATH_STYLE: 'true',
  };
}
