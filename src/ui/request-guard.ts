import { timingSafeEqual } from 'node:crypto';

/*
 * Who may drive `bm-log ui` (ADR-0030). Pure: each request is checked before anything else
 * runs, and refused unless
 * - its Host is 127.0.0.1:PORT or localhost:PORT (a page of another site that rebinds its
 *   name to 127.0.0.1 sends its own name: DNS rebinding gets nothing);
 * - it carries the token printed in the URL: in the query of the first page only (which
 *   trades it for the cookie), then in the cookie (HttpOnly, SameSite=Strict, named after the
 *   port), or in an `Authorization: Bearer` header (scripts);
 * - when it may change something (any method but GET and HEAD), its Origin is this server's
 *   own (a missing Origin is refused too: browsers send it on every such request).
 */

/** What the guard reads of a request. */
export interface GuardRequest {
  readonly method: string;
  /** The path, without the query. */
  readonly pathname: string;
  readonly host: string | undefined;
  readonly origin: string | undefined;
  readonly cookie: string | undefined;
  readonly authorization: string | undefined;
  /** The `token` query parameter, if any. */
  readonly queryToken: string | null;
}

export interface GuardSettings {
  readonly token: string;
  readonly port: number;
}

/** The cookie carrying the token: one name per port, so two `bm-log ui` on one machine keep their own. */
export function tokenCookieName(port: number): string {
  return `bm-log-ui-${port}`;
}

/** The hosts a request may name: this server's loopback address and `localhost`, with its port. */
export function computeAllowedHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`];
}

/** Pure: equal strings, in time independent of where they differ. */
export function isSameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Pure: the value of cookie `name` in a Cookie header. */
export function computeCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Pure: the token a request presents, and how (the query counts only for the first page). */
export function computePresentedToken(r: GuardRequest, port: number): { token: string; via: 'query' | 'cookie' | 'header' } | undefined {
  const bearer = /^Bearer (.+)$/.exec(r.authorization ?? '')?.[1];
  if (bearer !== undefined) return { token: bearer, via: 'header' };
  const cookie = computeCookie(r.cookie, tokenCookieName(port));
  if (cookie !== undefined) return { token: cookie, via: 'cookie' };
  if (r.queryToken !== null && r.method === 'GET' && r.pathname === '/') return { token: r.queryToken, via: 'query' };
  return undefined;
}

/** Pure: why the request is refused, or undefined when it may go on. */
export function computeRefusal(r: GuardRequest, s: GuardSettings): string | undefined {
  const allowed = computeAllowedHosts(s.port);
  if (r.host === undefined || !allowed.includes(r.host.toLowerCase())) return 'wrong Host header';
  const presented = computePresentedToken(r, s.port);
  if (presented === undefined) return 'no token (open the URL bm-log ui printed)';
  if (!isSameSecret(presented.token, s.token)) return 'wrong token (open the URL bm-log ui printed)';
  if (r.method !== 'GET' && r.method !== 'HEAD') {
    if (r.origin === undefined) return 'no Origin header on a request that changes something';
    if (!allowed.map((h) => `http://${h}`).includes(r.origin.toLowerCase())) return 'foreign Origin';
  }
  return undefined;
}
