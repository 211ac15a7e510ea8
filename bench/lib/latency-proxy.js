// A latency proxy for the bucket bench (issue 25): an HTTP proxy on 127.0.0.1 in front of
// an S3 server that holds every request for a fixed delay before forwarding it (one round
// trip to a distant bucket), then streams the request and the answer through unchanged.
// It counts requests by method and by S3 request type, and the bytes of request bodies
// (in: client to bucket) and of answer bodies (out: bucket to client), and the TCP
// connections clients open to it.
//
// Why not the fault proxy (src/testing/fault-proxy.ts): that one buffers whole bodies,
// draws a random delay per request as one of its faults, counts faults rather than
// bytes, and is shipped test support in src/. This one is bench code and streams.
import * as http from 'node:http';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { classifyRequest } from './s3.js';

const HOP_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'expect']);

function forwardableHeaders(headers) {
  const out = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_HEADERS.has(k)) out[k] = v;
  return out;
}

/** A pass-through stream that adds the length of every chunk to `add(n)`. */
function byteCounter(add) {
  return new Transform({
    transform(chunk, _enc, done) {
      add(chunk.length);
      done(null, chunk);
    },
  });
}

function emptyCounts() {
  return { requests: 0, connections: 0, byMethod: {}, byType: {}, bytesIn: 0, bytesOut: 0 };
}

const bump = (map, key) => {
  map[key] = (map[key] ?? 0) + 1;
};

const realSleep = (ms) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

/**
 * Starts the proxy. `upstream`: the S3 server (http://127.0.0.1:PORT, path-style).
 * `delayMs`: added to every request before it is forwarded (change it with setDelay).
 * `sleep`: the timer (a test passes its own to see every delay).
 * Returns { endpoint, snapshot(), setDelay(ms), stop() }; snapshot() is a copy of the counts.
 */
export async function startLatencyProxy({ upstream, delayMs = 0, sleep = realSleep }) {
  const up = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const counts = emptyCounts();
  let delay = delayMs;

  const handle = async (req, res) => {
    counts.requests++;
    bump(counts.byMethod, req.method);
    bump(counts.byType, classifyRequest(req.method, req.url, req.headers));
    await sleep(delay);
    const upReq = http.request({
      host: up.hostname,
      port: up.port,
      method: req.method,
      path: req.url,
      headers: forwardableHeaders(req.headers),
      agent,
    });
    const answered = new Promise((resolve, reject) => {
      upReq.on('response', resolve);
      upReq.on('error', reject);
    });
    await pipeline(
      req,
      byteCounter((n) => (counts.bytesIn += n)),
      upReq,
    );
    const upRes = await answered;
    res.writeHead(upRes.statusCode ?? 502, forwardableHeaders(upRes.headers));
    await pipeline(
      upRes,
      byteCounter((n) => (counts.bytesOut += n)),
      res,
    );
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => req.socket.destroy());
  });
  // A client that does not keep its connections alive pays a TCP handshake per request: counted.
  server.on('connection', () => counts.connections++);
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    snapshot: () => ({ ...counts, byMethod: { ...counts.byMethod }, byType: { ...counts.byType } }),
    setDelay(ms) {
      delay = ms;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

/** What happened between two snapshots: the same shape, every count a difference. */
export function diffProxyCounts(before, after) {
  const sub = (a, b) =>
    Object.fromEntries(
      Object.entries(a)
        .map(([k, v]) => [k, v - (b[k] ?? 0)])
        .filter(([, v]) => v > 0),
    );
  return {
    requests: after.requests - before.requests,
    connections: after.connections - before.connections,
    byMethod: sub(after.byMethod, before.byMethod),
    byType: sub(after.byType, before.byType),
    bytesIn: after.bytesIn - before.bytesIn,
    bytesOut: after.bytesOut - before.bytesOut,
  };
}
