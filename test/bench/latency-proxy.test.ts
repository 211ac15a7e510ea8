import * as http from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffProxyCounts, startLatencyProxy, type LatencyProxy } from '../../bench/lib/latency-proxy.js';
import { startLocalS3, type LocalS3Server } from '../support/s3-server.js';

// The bench's latency proxy (bench/lib/latency-proxy.js) in front of the in-process S3
// server: it forwards requests and answers unchanged, counts them by method and S3 type and
// counts body bytes both ways, and holds each request for its delay before the server sees it.
// No timing is asserted: the delay goes through an injected sleep the test controls.

let server: LocalS3Server;
const bucket = 'proxy-test';

beforeAll(async () => {
  server = await startLocalS3();
  await server.createBucket(bucket);
});
afterAll(async () => {
  await server.stop();
});

const body = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => 97 + ((i * 7 + seed) % 26)));

async function withProxy<T>(
  options: { delayMs?: number; sleep?: (ms: number) => Promise<void> },
  f: (p: LatencyProxy) => Promise<T>,
): Promise<T> {
  const proxy = await startLatencyProxy({ upstream: server.endpoint, ...options });
  try {
    return await f(proxy);
  } finally {
    await proxy.stop();
  }
}

describe('latency proxy', () => {
  it('forwards PUT, HEAD, GET and LIST unchanged and counts them by method, type and bytes', async () => {
    const sleeps: number[] = [];
    const sleep = async (ms: number) => {
      sleeps.push(ms);
    };
    await withProxy({ delayMs: 35, sleep }, async (proxy) => {
      const data = body(1000, 1);
      const url = `${proxy.endpoint}/${bucket}/notes/a.md`;
      expect((await fetch(url, { method: 'PUT', body: data })).status).toBe(200);
      const head = await fetch(url, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe('1000');
      const got = Buffer.from(await (await fetch(url)).arrayBuffer());
      expect(got.equals(data)).toBe(true);
      const listing = await (await fetch(`${proxy.endpoint}/${bucket}?list-type=2&prefix=notes/`)).text();
      expect(listing).toContain('<Key>notes/a.md</Key>');

      const c = proxy.snapshot();
      expect(c.requests).toBe(4);
      expect(c.byMethod).toEqual({ PUT: 1, HEAD: 1, GET: 2 });
      expect(c.byType).toEqual({ PUT: 1, HEAD: 1, GET: 1, LIST: 1 });
      expect(c.bytesIn).toBe(1000);
      expect(c.bytesOut).toBe(1000 + Buffer.byteLength(listing));
      expect(sleeps).toEqual([35, 35, 35, 35]);

      proxy.setDelay(0);
      await fetch(url, { method: 'HEAD' });
      expect(sleeps.at(-1)).toBe(0);
      const one = { requests: 1, connections: 0, byMethod: { HEAD: 1 }, byType: { HEAD: 1 }, bytesIn: 0, bytesOut: 0 };
      expect(diffProxyCounts(c, proxy.snapshot())).toEqual(one);
    });
  });

  it('counts the TCP connections clients open: one for a kept-alive client, one per request otherwise', async () => {
    const head = (endpoint: string, agent: http.Agent) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request(`${endpoint}/${bucket}/none.md`, { method: 'HEAD', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
    // PUT first: a HEAD of a missing key gets an answer without Content-Length from fauxqs,
    // after which Node's client does not reuse the connection (see docs/performance.md).
    await withProxy({}, async (proxy) => {
      await fetch(`${proxy.endpoint}/${bucket}/none.md`, { method: 'PUT', body: 'x' });
      const start = proxy.snapshot().connections;
      const kept = new http.Agent({ keepAlive: true, maxSockets: 1 });
      for (let i = 0; i < 3; i++) expect(await head(proxy.endpoint, kept)).toBe(200);
      kept.destroy();
      const afterKept = proxy.snapshot().connections;
      const fresh = new http.Agent({ keepAlive: false });
      for (let i = 0; i < 3; i++) expect(await head(proxy.endpoint, fresh)).toBe(200);
      fresh.destroy();
      expect(afterKept - start).toBe(1);
      expect(proxy.snapshot().connections - afterKept).toBe(3);
    });
  });

  it('holds a request for its delay before the server sees it', async () => {
    let release: () => void = () => undefined;
    let asked = 0;
    const sleep = (ms: number) => {
      asked = ms;
      return new Promise<void>((r) => {
        release = r;
      });
    };
    await withProxy({ delayMs: 80, sleep }, async (proxy) => {
      const key = `${bucket}/held.md`;
      const put = fetch(`${proxy.endpoint}/${key}`, { method: 'PUT', body: body(10, 2) });
      while (asked === 0) await new Promise((r) => setTimeout(r, 5));
      expect(asked).toBe(80);
      expect((await fetch(`${server.endpoint}/${key}`, { method: 'HEAD' })).status).toBe(404);
      release();
      expect((await put).status).toBe(200);
      expect((await fetch(`${server.endpoint}/${key}`, { method: 'HEAD' })).status).toBe(200);
    });
  });

  it('counts every request of any sequence, and every body byte both ways', async () => {
    const op = fc.record({
      method: fc.constantFrom('PUT', 'GET', 'HEAD'),
      size: fc.integer({ min: 1, max: 5000 }),
      key: fc.integer({ min: 0, max: 3 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 12 }), async (ops) => {
        await withProxy({}, async (proxy) => {
          const prefix = `p-${Math.random().toString(36).slice(2)}`;
          const sizes = new Map<number, number>();
          let bytesIn = 0;
          let bytesOut = 0;
          const byMethod: Record<string, number> = {};
          for (const o of ops) {
            const url = `${proxy.endpoint}/${bucket}/${prefix}/k${o.key}`;
            byMethod[o.method] = (byMethod[o.method] ?? 0) + 1;
            if (o.method === 'PUT') {
              // (fauxqs answers an empty PUT with a 500 of its own, hence sizes from 1)
              const res = await fetch(url, { method: 'PUT', body: body(o.size, o.key) });
              expect(res.status).toBe(200);
              bytesOut += (await res.arrayBuffer()).byteLength;
              sizes.set(o.key, o.size);
              bytesIn += o.size;
            } else {
              const res = await fetch(url, { method: o.method });
              const got = Buffer.from(await res.arrayBuffer());
              expect(res.status).toBe(sizes.has(o.key) ? 200 : 404);
              if (o.method === 'GET' && sizes.has(o.key)) expect(got.length).toBe(sizes.get(o.key));
              bytesOut += got.length;
            }
          }
          const c = proxy.snapshot();
          expect(c.requests).toBe(ops.length);
          expect(c.byMethod).toEqual(byMethod);
          expect(c.bytesIn).toBe(bytesIn);
          expect(c.bytesOut).toBe(bytesOut);
        });
      }),
      { numRuns: 25 },
    );
  });
});
