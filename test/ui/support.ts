import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { EXIT, expectExit, sleep, type CliResult, type Client } from '../cli/support/cli.js';

/** `bm-log ui --no-open --port 0` on a client, and the URL its first line of stdout gave. */
export interface RunningUi {
  readonly url: string;
  readonly port: number;
  readonly token: string;
  stop(): Promise<void>;
}

/** Starts the UI of `c` and waits for its URL (the first line of stdout). */
export async function startUi(c: Client): Promise<RunningUi> {
  const child = c.spawn('ui', '--no-open', '--port', '0');
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bm-log ui printed no URL in 30 s: ${out}`)), 30_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    });
    child.done.then((r) => reject(new Error(`bm-log ui exited ${r.code}: ${r.stderr}`)), reject);
  });
  const u = new URL(url);
  return {
    url,
    port: Number(u.port),
    token: u.searchParams.get('token') ?? '',
    stop: async () => {
      child.kill('SIGTERM');
      await child.done.catch(() => undefined);
    },
  };
}

export interface HttpReply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A plain HTTP request to 127.0.0.1:`port` with exactly these headers (Host included). */
export function httpRequest(
  port: number,
  o: { method?: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: o.method ?? 'GET', path: o.path, headers: o.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

/** Debian's chromium, or why the browser tests cannot run here (printed in their name). */
export function findChromium(): { path: string } | { skip: string } {
  const candidates = [process.env['BM_LOG_CHROMIUM'], '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) return { skip: `no chromium at ${candidates.join(' or ')} (.ci/run installs Debian's chromium)` };
  const probe = spawnSync(found, ['--headless', '--no-sandbox', '--version'], { encoding: 'utf8', timeout: 30_000 });
  if (probe.status !== 0)
    return { skip: `${found} --version failed: ${(probe.stderr || probe.error?.message || '').trim().slice(0, 200)}` };
  return { path: found };
}

/**
 * `bm-log ARGS --json` on a client whose folder `bm-log ui` shares: a one-shot CLI command
 * that meets the folder held (the page polling) exits 3, "retry" (ADR-0028), so it is retried.
 */
export async function runShared(c: Client, ...args: string[]): Promise<unknown> {
  let r: CliResult = await c.run(...args, '--json');
  for (let i = 0; i < 40 && r.code === EXIT.retry; i++) {
    await sleep(250);
    r = await c.run(...args, '--json');
  }
  return expectExit(r, EXIT.ok).json;
}
