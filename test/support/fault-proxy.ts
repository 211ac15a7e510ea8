import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fault-injecting HTTP proxy for S3 reliability tests and the soak (not used by bm-log
 * itself). It listens on 127.0.0.1 (OS-assigned port) in front of an S3-compatible server
 * and, by a seeded schedule, answers a request itself or spoils the real answer:
 *
 * | fault          | what the client sees                                                    |
 * | -------------- | ----------------------------------------------------------------------- |
 * | `error500`     | 500 InternalError (S3 XML body); nothing reached the server             |
 * | `slowDown503`  | 503 SlowDown (S3 XML body); nothing reached the server                  |
 * | `timeout`      | no answer at all until the client gives up (its request timeout)        |
 * | `dropResponse` | the request DID reach the server, then the connection is destroyed      |
 * |                | before any response byte: the client retries a write that happened     |
 * | `truncateList` | a ListObjectsV2 page with trailing keys dropped and IsTruncated false:  |
 * |                | an incomplete listing that claims to be complete (the dangerous lie)    |
 * | `cutBody`      | a GET's headers and part of its body, then a reset                      |
 * | `delay`        | the real answer, late                                                   |
 *
 * One uniform draw per request picks at most one fault (rates are per request and must sum to
 * at most 1); faults that do not apply to a request (truncateList off listings, cutBody off
 * object reads) count as no fault. The draws come from a seeded generator, so a seed replays
 * the same sequence of decisions; which request meets which decision still depends on the
 * order in which concurrent clients send them.
 *
 * `enforceCreateOnly` makes the proxy refuse a write carrying `If-None-Match: *` to an
 * existing key with 412, as AWS S3 and Tigris do (the in-process test server ignores the
 * header), so a retried write that had succeeded meets the real precondition failure.
 */
export const FaultKind = {
  error500: 'error500',
  slowDown503: 'slowDown503',
  timeout: 'timeout',
  dropResponse: 'dropResponse',
  truncateList: 'truncateList',
  cutBody: 'cutBody',
  delay: 'delay',
} as const;
export type FaultKind = (typeof FaultKind)[keyof typeof FaultKind];
export const FAULT_KINDS: readonly FaultKind[] = Object.values(FaultKind);

export type FaultRates = Partial<Record<FaultKind, number>>;

export interface FaultCounters extends Record<FaultKind, number> {
  /** Requests seen, faulty or not. */
  requests: number;
  /** Writes refused with 412 by `enforceCreateOnly` (not a fault: what S3 itself does). */
  preconditionFailed: number;
}

export interface FaultProxyOptions {
  /** The real server, e.g. http://127.0.0.1:41234. */
  readonly upstream: string;
  /** Seed of the schedule; default: random (read it back from `seed` and print it). */
  readonly seed?: number;
  readonly rates?: FaultRates;
  /** Range of the `delay` fault in ms. Default [20, 200]. */
  readonly delayMs?: readonly [number, number];
  /** Longest a `timeout` holds a request whose client never gives up. Default 30 s. */
  readonly maxHoldMs?: number;
  /** Answer 412 to `If-None-Match: *` writes of existing keys. Default false. */
  readonly enforceCreateOnly?: boolean;
}

export interface FaultProxy {
  /** http://127.0.0.1:PORT: point the S3 client here (path-style). */
  readonly endpoint: string;
  readonly seed: number;
  /** Live counters (a fresh copy with `snapshot()`). */
  readonly counters: Readonly<FaultCounters>;
  /** Replaces the rates; `{}` turns faults off. */
  setRates(rates: FaultRates): void;
  snapshot(): FaultCounters;
  /** One line: seed and every non-zero counter. */
  describe(): string;
  stop(): Promise<void>;
}

/** A seeded uniform source in [0, 1): splitmix32. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

export function emptyFaultCounters(): FaultCounters {
  const c = { requests: 0, preconditionFailed: 0 } as FaultCounters;
  for (const k of FAULT_KINDS) c[k] = 0;
  return c;
}

function s3ErrorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${randomBytes(8).toString('hex')}</RequestId></Error>`;
}

/**
 * Drops trailing <Contents> entries of a ListObjectsV2 result (keeping `keep` of them) and
 * makes it claim to be complete. Returns undefined when there is nothing to drop.
 */
export function computeTruncatedListing(xml: string, random: () => number): string | undefined {
  const entries = [...xml.matchAll(/<Contents>[\s\S]*?<\/Contents>/g)];
  if (entries.length === 0) return undefined;
  const keep = Math.floor(random() * entries.length);
  const first = entries[0]!;
  const last = entries[entries.length - 1]!;
  const start = first.index;
  const end = last.index + last[0].length;
  const kept = entries
    .slice(0, keep)
    .map((m) => m[0])
    .join('');
  let out = xml.slice(0, start) + kept + xml.slice(end);
  out = out.replace(/<IsTruncated>[^<]*<\/IsTruncated>/, '<IsTruncated>false</IsTruncated>');
  out = out.replace(/<KeyCount>[^<]*<\/KeyCount>/, `<KeyCount>${keep}</KeyCount>`);
  out = out.replace(/<NextContinuationToken>[^<]*<\/NextContinuationToken>/, '');
  return out;
}

interface UpstreamAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

const HOP_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'expect']);

function forwardableHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_HEADERS.has(k)) out[k] = v;
  return out;
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(options.upstream);
  const seed = (options.seed ?? randomBytes(4).readUInt32LE(0)) >>> 0;
  const random = seededRandom(seed);
  const counters = emptyFaultCounters();
  let rates: FaultRates = { ...(options.rates ?? {}) };
  const [delayMin, delayMax] = options.delayMs ?? [20, 200];
  const maxHoldMs = options.maxHoldMs ?? 30_000;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const held = new Set<http.ServerResponse>();

  const draw = (): FaultKind | undefined => {
    let r = random();
    for (const k of FAULT_KINDS) {
      const p = rates[k] ?? 0;
      if (r < p) return k;
      r -= p;
    }
    return undefined;
  };

  /** Sends a request upstream with `body`, buffering the whole answer. */
  const call = (method: string, path: string, headers: http.OutgoingHttpHeaders, body: Buffer | undefined): Promise<UpstreamAnswer> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: upstream.hostname, port: upstream.port, method, path, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });

  const readBody = (req: http.IncomingMessage): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
    });

  const answer = (res: http.ServerResponse, status: number, headers: http.OutgoingHttpHeaders, body: Buffer, method: string) => {
    const h = { ...headers, 'content-length': String(body.length) };
    res.writeHead(status, h);
    res.end(method === 'HEAD' ? undefined : body);
  };

  const answerError = (res: http.ServerResponse, status: number, code: string, message: string, method: string) => {
    answer(res, status, { 'content-type': 'application/xml' }, Buffer.from(s3ErrorXml(code, message)), method);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    counters.requests++;
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://proxy');
    const isListing = method === 'GET' && url.searchParams.get('list-type') === '2';
    const isObjectRead = method === 'GET' && !isListing && url.pathname.split('/').filter(Boolean).length >= 2;
    let fault = draw();
    if (fault === FaultKind.truncateList && !isListing) fault = undefined;
    if (fault === FaultKind.cutBody && !isObjectRead) fault = undefined;

    const body = await readBody(req);
    switch (fault) {
      case FaultKind.error500:
        counters.error500++;
        return answerError(res, 500, 'InternalError', 'We encountered an internal error. Please try again.', method);
      case FaultKind.slowDown503:
        counters.slowDown503++;
        return answerError(res, 503, 'SlowDown', 'Please reduce your request rate.', method);
      case FaultKind.timeout: {
        counters.timeout++;
        held.add(res);
        const timer = setTimeout(() => req.socket.destroy(), maxHoldMs);
        res.on('close', () => {
          clearTimeout(timer);
          held.delete(res);
        });
        return;
      }
      case FaultKind.delay:
        counters.delay++;
        await new Promise((r) => setTimeout(r, delayMin + random() * (delayMax - delayMin)));
        break;
      default:
        break;
    }

    const headers = forwardableHeaders(req.headers);
    const isCreateOnlyWrite =
      (method === 'PUT' || method === 'POST') && req.headers['if-none-match'] === '*' && !url.searchParams.has('partNumber');
    if (options.enforceCreateOnly && isCreateOnlyWrite) {
      const head = await call('HEAD', url.pathname, { host: req.headers.host ?? upstream.host }, undefined);
      if (head.status === 200) {
        counters.preconditionFailed++;
        return answerError(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', method);
      }
    }
    const up = await call(method, req.url ?? '/', headers, body.length > 0 || method === 'PUT' || method === 'POST' ? body : undefined);
    const upHeaders = forwardableHeaders(up.headers);
    switch (fault) {
      case FaultKind.dropResponse:
        counters.dropResponse++;
        req.socket.destroy();
        return;
      case FaultKind.truncateList: {
        const xml = up.status === 200 ? computeTruncatedListing(up.body.toString('utf8'), random) : undefined;
        if (xml === undefined) break;
        counters.truncateList++;
        for (const k of Object.keys(upHeaders))
          if (k.startsWith('x-amz-checksum') || k === 'content-md5' || k === 'etag') delete upHeaders[k];
        return answer(res, up.status, upHeaders, Buffer.from(xml, 'utf8'), method);
      }
      case FaultKind.cutBody: {
        if (up.status !== 200 || up.body.length < 2) break;
        counters.cutBody++;
        res.writeHead(up.status, { ...upHeaders, 'content-length': String(up.body.length) });
        res.write(up.body.subarray(0, Math.floor(up.body.length / 2)), () => req.socket.destroy());
        return;
      }
      default:
        break;
    }
    answer(res, up.status, upHeaders, up.body, method);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      // The upstream failed or the client went away: end this exchange abruptly.
      req.socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    seed,
    counters,
    setRates(next) {
      rates = { ...next };
    },
    snapshot: () => ({ ...counters }),
    describe() {
      const parts = Object.entries(counters)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k}=${n}`);
      return `fault proxy seed ${seed}: ${parts.join(' ')}`;
    },
    async stop() {
      for (const res of held) res.socket?.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
