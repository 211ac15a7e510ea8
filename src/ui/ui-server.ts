import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FolderViews } from '../api/folder-views.js';
import { serial, type BmFolder } from '../api/open-folder.js';
import { ErrorCode, isBmError } from '../errors.js';
import { computeRefusal, computePresentedToken, tokenCookieName } from './request-guard.js';
import { GET_ROUTES, POST_ROUTES, RefusedInput, type RouteInput } from './ui-routes.js';

/*
 * `bm-log ui`'s HTTP server (node:http, ADR-0030): on 127.0.0.1 only, every request checked
 * by the guard first; the page's three files from the package (nothing from the internet);
 * the JSON routes run one at a time, each one call of the library API.
 */

/** The page's files, by URL path: a fixed list (no path from a request reaches the file system). */
const ASSETS: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};
/** The page's folder beside this module: src/ui/assets, copied to dist/ui/assets by the build. */
const ASSET_DIR = new URL('./assets/', import.meta.url);
const MAX_BODY_BYTES = 16 * 1024 * 1024;

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

export interface UiServer {
  /** The URL to open, with the token. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, ...extra });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, data: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(data));
}

/** The HTTP status of an API failure. */
function statusOf(code: string): number {
  if (code === ErrorCode.notFound) return 404;
  if (code === ErrorCode.staleVersion) return 409;
  if (code === ErrorCode.usage || code === ErrorCode.badPath) return 400;
  if (code === ErrorCode.alreadyRunning || code === ErrorCode.remoteUnavailable) return 503;
  return 500;
}

async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) throw new RefusedInput('the body must be application/json');
  const parts: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY_BYTES) throw new RefusedInput('the body is too large');
    parts.push(c);
  }
  const parsed: unknown = JSON.parse(Buffer.concat(parts).toString('utf8') || '{}');
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new RefusedInput('the body must be a JSON object');
  return parsed as Record<string, unknown>;
}

interface Handler {
  readonly folder: BmFolder;
  readonly views: FolderViews;
  readonly token: string;
  port: number;
  readonly one: ReturnType<typeof serial>;
}

async function serveAsset(h: Handler, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const asset = ASSETS[url.pathname]!;
  const via = computePresentedToken(
    {
      method: req.method ?? 'GET',
      pathname: url.pathname,
      host: undefined,
      origin: undefined,
      cookie: req.headers.cookie,
      authorization: req.headers.authorization,
      queryToken: url.searchParams.get('token'),
    },
    h.port,
  )?.via;
  if (via === 'query') {
    // Trade the token in the URL for the cookie, and show the page without it.
    const cookie = `${tokenCookieName(h.port)}=${h.token}; HttpOnly; SameSite=Strict; Path=/`;
    send(res, 303, 'text/plain; charset=utf-8', 'see /', { location: '/', 'set-cookie': cookie });
    return;
  }
  send(res, 200, asset.type, await readFile(new URL(asset.file, ASSET_DIR)));
}

async function serveApi(h: Handler, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const route = req.method === 'GET' ? GET_ROUTES[url.pathname] : req.method === 'POST' ? POST_ROUTES[url.pathname] : undefined;
  if (route === undefined) return send(res, 404, 'text/plain; charset=utf-8', 'not found');
  try {
    const input: RouteInput = { query: url.searchParams, body: req.method === 'POST' ? await readJsonBody(req) : {} };
    sendJson(res, 200, await h.one(() => route(h.folder, h.views, input)));
  } catch (e) {
    if (e instanceof RefusedInput) return send(res, 403, 'text/plain; charset=utf-8', `refused: ${e.message}`);
    if (e instanceof SyntaxError) return send(res, 400, 'text/plain; charset=utf-8', 'the body is not JSON');
    if (isBmError(e)) return sendJson(res, statusOf(e.code), { error: { code: e.code, message: e.message, hint: e.hint } });
    sendJson(res, 500, {
      error: { code: ErrorCode.internal, message: e instanceof Error ? e.message : String(e), hint: 'please report this' },
    });
  }
}

async function handle(h: Handler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const refusal = computeRefusal(
    {
      method: req.method ?? 'GET',
      pathname: url.pathname,
      host: req.headers.host,
      origin: req.headers.origin,
      cookie: req.headers.cookie,
      authorization: req.headers.authorization,
      queryToken: url.searchParams.get('token'),
    },
    { token: h.token, port: h.port },
  );
  if (refusal !== undefined) return send(res, 403, 'text/plain; charset=utf-8', `refused: ${refusal}`);
  if (ASSETS[url.pathname] !== undefined && (req.method === 'GET' || req.method === 'HEAD')) return serveAsset(h, req, res, url);
  if (url.pathname.startsWith('/api/')) return serveApi(h, req, res, url);
  send(res, 404, 'text/plain; charset=utf-8', 'not found');
}

/** Serves the web view of `folder` on 127.0.0.1:`port` (0: a free port) with a new random token. */
export async function startUiServer(folder: BmFolder, views: FolderViews, options: { port: number }): Promise<UiServer> {
  const h: Handler = { folder, views, token: randomBytes(32).toString('base64url'), port: 0, one: serial() };
  const server: Server = createServer((req, res) => {
    handle(h, req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `internal error: ${e instanceof Error ? e.message : String(e)}`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  h.port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${h.port}/?token=${h.token}`,
    port: h.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
