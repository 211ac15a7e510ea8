/**
 * The web view's request guard (ADR-0030), pure: for any request, it is let through exactly
 * when its Host is 127.0.0.1:PORT or localhost:PORT, it presents the token (header, the port's
 * cookie, or the query of the first page), and, unless it is a GET or HEAD, its Origin is the
 * server's own. Generated requests mix right and wrong values of each part.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeCookie, computeRefusal, tokenCookieName, type GuardRequest } from '../../src/ui/request-guard.js';

const PORT = 41234;
const TOKEN = 'Q7wutzoHHFYHAL4BX5nepMmUvpAmGly1nJDHRQwSnKU';

const hostArb = fc.oneof(
  fc.constantFrom(`127.0.0.1:${PORT}`, `localhost:${PORT}`, `LOCALHOST:${PORT}`),
  fc.constantFrom(`127.0.0.1:${PORT + 1}`, 'evil.example', `evil.example:${PORT}`, `127.0.0.1.nip.io:${PORT}`, '', `[::1]:${PORT}`),
  fc.string(),
);
const tokenArb = fc.oneof(fc.constant(TOKEN), fc.constant(TOKEN.slice(1)), fc.constant(`${TOKEN}x`), fc.base64String({ minLength: 1 }));
const originArb = fc.option(
  fc.oneof(
    fc.constantFrom(`http://127.0.0.1:${PORT}`, `http://localhost:${PORT}`),
    fc.constantFrom('null', `https://127.0.0.1:${PORT}`, `http://127.0.0.1:${PORT + 1}`, 'http://evil.example'),
    fc.string(),
  ),
  { nil: undefined },
);
const requestArb = fc.record({
  method: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'),
  pathname: fc.constantFrom('/', '/app.js', '/api/activity', '/api/resolve'),
  host: fc.option(hostArb, { nil: undefined }),
  origin: originArb,
  via: fc.constantFrom('none', 'header', 'cookie', 'other-cookie', 'query'),
  token: tokenArb,
});

type Generated = typeof requestArb extends fc.Arbitrary<infer T> ? T : never;

function toRequest(r: Generated): GuardRequest {
  return {
    method: r.method,
    pathname: r.pathname,
    host: r.host,
    origin: r.origin,
    authorization: r.via === 'header' ? `Bearer ${r.token}` : undefined,
    cookie:
      r.via === 'cookie'
        ? `a=b; ${tokenCookieName(PORT)}=${r.token}`
        : r.via === 'other-cookie'
          ? `${tokenCookieName(PORT + 1)}=${r.token}`
          : undefined,
    queryToken: r.via === 'query' ? r.token : null,
  };
}

describe('the request guard', () => {
  it('lets a request through exactly when host, token and (for changes) origin are right', () => {
    fc.assert(
      fc.property(requestArb, (r) => {
        const hostOk = r.host !== undefined && [`127.0.0.1:${PORT}`, `localhost:${PORT}`].includes(r.host.toLowerCase());
        const tokenOk =
          r.token === TOKEN &&
          (r.via === 'header' || r.via === 'cookie' || (r.via === 'query' && r.method === 'GET' && r.pathname === '/'));
        const reads = r.method === 'GET' || r.method === 'HEAD';
        const originOk =
          reads || (r.origin !== undefined && [`http://127.0.0.1:${PORT}`, `http://localhost:${PORT}`].includes(r.origin.toLowerCase()));
        const refusal = computeRefusal(toRequest(r), { token: TOKEN, port: PORT });
        expect(refusal === undefined).toBe(hostOk && tokenOk && originOk);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads the named cookie only, whatever else the header holds', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.stringMatching(/^[a-z-]{1,12}$/), fc.stringMatching(/^[A-Za-z0-9_-]{0,20}$/))),
        fc.nat(5),
        (pairs, at) => {
          const others = pairs.filter(([k]) => k !== 'want');
          const all = [...others.slice(0, at), ['want', 'v4lue'] as const, ...others.slice(at)];
          expect(computeCookie(all.map(([k, v]) => `${k}=${v}`).join('; '), 'want')).toBe('v4lue');
          expect(computeCookie(others.map(([k, v]) => `${k}=${v}`).join('; '), 'want')).toBeUndefined();
        },
      ),
    );
  });
});
