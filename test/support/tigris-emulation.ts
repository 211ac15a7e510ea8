import * as http from 'node:http';

/**
 * A small emulation of Tigris bucket snapshots (the documented headers, issue 25) in front of
 * the in-process S3 server, which has none. It is an HTTP proxy on 127.0.0.1 that forwards
 * every request unchanged, except:
 * - CreateBucket with `X-Tigris-Enable-Snapshot: true` marks the bucket snapshot-enabled (and
 *   is forwarded, so the server creates it);
 * - CreateBucket with `X-Tigris-Snapshot: true` on an enabled bucket takes a snapshot: every
 *   object the server holds now is copied (through the server's own List and Get), and the
 *   version, a decimal timestamp, comes back in `X-Tigris-Snapshot-Version`. On a bucket not
 *   enabled it is forwarded (the server answers as for any CreateBucket: no version);
 * - GetObject and HeadObject with `X-Tigris-Snapshot-Version` are answered from that copy
 *   (404 NoSuchKey when the snapshot does not hold the key, `Range: bytes=a-b` honoured);
 * - ListObjectsV2 with `X-Tigris-Snapshot-Version` answers 501: not emulated (bm-log does not
 *   list snapshots).
 * It proves that bm-log speaks these headers as this file reads the Tigris docs, not that
 * Tigris behaves so (ADR-0034, Testing).
 */
export interface TigrisEmulation {
  readonly endpoint: string;
  /** Snapshots taken so far, and reads answered from one. */
  readonly counts: { snapshots: number; snapshotReads: number };
  /** Run after each snapshot is taken, before its response is sent (a test deletes objects then). */
  onSnapshot?: ((version: string) => Promise<void>) | undefined;
  stop(): Promise<void>;
}

const decodeXml = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
const encodeKey = (key: string) => key.split('/').map(encodeURIComponent).join('/');

/** Every object of `bucket` on the server at `upstream` (fauxqs checks no signatures). */
async function copyBucket(upstream: string, bucket: string): Promise<Map<string, Buffer>> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const q = `list-type=2${token === undefined ? '' : `&continuation-token=${encodeURIComponent(token)}`}`;
    const xml = await (await fetch(`${upstream}/${bucket}?${q}`)).text();
    for (const m of xml.matchAll(/<Key>([^<]*)<\/Key>/g)) keys.push(decodeXml(m[1]!));
    token = /<IsTruncated>true<\/IsTruncated>/.test(xml) ? decodeXml(/<NextContinuationToken>([^<]*)</.exec(xml)?.[1] ?? '') : undefined;
  } while (token);
  const out = new Map<string, Buffer>();
  for (const key of keys) {
    const res = await fetch(`${upstream}/${bucket}/${encodeKey(key)}`);
    if (res.ok) out.set(key, Buffer.from(await res.arrayBuffer()));
  }
  return out;
}

function notFound(res: http.ServerResponse, method: string): void {
  res.writeHead(404, { 'content-type': 'application/xml' });
  res.end(method === 'HEAD' ? undefined : '<?xml version="1.0"?><Error><Code>NoSuchKey</Code><Message>not in snapshot</Message></Error>');
}

function serveObject(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
  const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ''));
  const start = range ? Number(range[1]) : 0;
  const end = range && range[2] !== '' ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
  const part = body.subarray(start, end + 1);
  const headers: http.OutgoingHttpHeaders = { 'content-length': part.length, 'content-type': 'application/octet-stream', etag: '"snap"' };
  if (range) headers['content-range'] = `bytes ${start}-${end}/${body.length}`;
  res.writeHead(range ? 206 : 200, headers);
  res.end(req.method === 'HEAD' ? undefined : part);
}

function forward(upstream: URL, req: http.IncomingMessage, res: http.ServerResponse): void {
  const out = http.request(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  out.on('error', () => res.destroy());
  req.pipe(out);
}

/** Starts the emulation in front of the S3 server at `upstream` (path-style addressing). */
export async function startTigrisEmulation(upstream: string): Promise<TigrisEmulation> {
  const enabled = new Set<string>();
  const snapshots = new Map<string, Map<string, Buffer>>();
  let lastVersion = 0;
  const em: { -readonly [K in keyof TigrisEmulation]: TigrisEmulation[K] } = {
    endpoint: '',
    counts: { snapshots: 0, snapshotReads: 0 },
    stop: async () => {},
  };
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x');
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const key = rest.map(decodeURIComponent).join('/');
    const version = req.headers['x-tigris-snapshot-version'];
    if (req.method === 'PUT' && key === '' && !url.search) {
      if (String(req.headers['x-tigris-enable-snapshot']).toLowerCase() === 'true') enabled.add(bucket);
      if (req.headers['x-tigris-snapshot'] !== undefined && enabled.has(bucket)) {
        req.resume();
        const v = String(Math.max(Date.now() * 1000, lastVersion + 1));
        lastVersion = Number(v);
        snapshots.set(v, await copyBucket(upstream, bucket));
        em.counts.snapshots++;
        await em.onSnapshot?.(v);
        res.writeHead(200, { 'x-tigris-snapshot-version': v, location: `/${bucket}` });
        return void res.end();
      }
    }
    if (typeof version === 'string') {
      req.resume();
      if (key === '') {
        res.writeHead(501, { 'content-type': 'application/xml' });
        return void res.end(
          '<?xml version="1.0"?><Error><Code>NotImplemented</Code><Message>snapshot lists are not emulated</Message></Error>',
        );
      }
      const body = snapshots.get(version)?.get(key);
      if (body === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) return notFound(res, req.method ?? 'GET');
      em.counts.snapshotReads++;
      return serveObject(req, res, body);
    }
    forward(new URL(upstream), req, res);
  };
  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the emulation did not get a TCP address');
  em.endpoint = `http://127.0.0.1:${address.port}`;
  em.stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return em;
}
