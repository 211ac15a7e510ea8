/**
 * `bm-log ui` refuses whoever does not hold its token, names another Host, comes from another
 * Origin, or names a path outside the vault (issue 27, ADR-0030): the built CLI as a child
 * process on a folder made by `init` with a directory remote, driven by plain HTTP requests
 * whose headers are set exactly. A refusal is 403 and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useWorlds, type Client } from '../cli/support/cli.js';
import { httpRequest, runShared, startUi, type RunningUi } from './support.js';

const { pair } = useWorlds();
let alice: Client;
let ui: RunningUi;

beforeAll(async () => {
  ({ a: alice } = await pair({ 'notes/a.md': 'one\n', 'todo.md': 'x\n' }));
  ui = await startUi(alice);
}, 120_000);
afterAll(async () => ui?.stop());

const host = () => `127.0.0.1:${ui.port}`;
const auth = () => ({ host: host(), authorization: `Bearer ${ui.token}` });
const own = () => ({ ...auth(), origin: `http://${host()}`, 'content-type': 'application/json' });

describe('bm-log ui: who may drive it', () => {
  it('prints its URL first: 127.0.0.1, a port, and a 32-byte base64url token', () => {
    expect(ui.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}$/);
  });

  it('refuses every request without the token, or with a wrong one, and serves it with the token', async () => {
    for (const path of ['/', '/app.js', '/api/activity', '/api/pulse', '/api/history?path=todo.md'])
      expect((await httpRequest(ui.port, { path, headers: { host: host() } })).status, path).toBe(403);
    const wrong = await httpRequest(ui.port, {
      path: '/api/activity',
      headers: { host: host(), authorization: `Bearer ${'A'.repeat(43)}` },
    });
    expect([wrong.status, wrong.body]).toEqual([403, expect.stringContaining('wrong token')]);
    const wrongQuery = await httpRequest(ui.port, { path: `/?token=${'B'.repeat(43)}`, headers: { host: host() } });
    expect(wrongQuery.status).toBe(403);
    // The token in the query counts for the first page only: not for the API.
    const queryApi = await httpRequest(ui.port, { path: `/api/activity?token=${ui.token}`, headers: { host: host() } });
    expect(queryApi.status).toBe(403);
    const ok = await httpRequest(ui.port, { path: '/api/activity', headers: auth() });
    expect(ok.status).toBe(200);
    expect((JSON.parse(ok.body) as { path: string }[]).map((e) => e.path).sort()).toEqual(['notes/a.md', 'todo.md']);
  });

  it('trades the token in the URL for an HttpOnly, SameSite=Strict cookie of its port, which then opens the page', async () => {
    const first = await httpRequest(ui.port, { path: `/?token=${ui.token}`, headers: { host: host() } });
    expect(first.status).toBe(303);
    expect(first.headers['location']).toBe('/');
    const cookie = String(first.headers['set-cookie']);
    expect(cookie).toContain(`bm-log-ui-${ui.port}=${ui.token}`);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const page = await httpRequest(ui.port, { path: '/', headers: { host: host(), cookie: `bm-log-ui-${ui.port}=${ui.token}` } });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script type="module" src="/app.js">');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    // Another port's cookie is not this server's.
    const other = await httpRequest(ui.port, { path: '/', headers: { host: host(), cookie: `bm-log-ui-1=${ui.token}` } });
    expect(other.status).toBe(403);
  });

  it('refuses a Host other than 127.0.0.1:PORT or localhost:PORT, token or not (DNS rebinding)', async () => {
    for (const h of [
      'evil.example',
      `evil.example:${ui.port}`,
      `127.0.0.1:${ui.port + 1}`,
      `localhost.evil.example:${ui.port}`,
      '127.0.0.1',
    ]) {
      const r = await httpRequest(ui.port, { path: '/api/activity', headers: { ...auth(), host: h } });
      expect([h, r.status, r.body]).toEqual([h, 403, 'refused: wrong Host header']);
    }
    expect((await httpRequest(ui.port, { path: '/api/pulse', headers: { ...auth(), host: `localhost:${ui.port}` } })).status).toBe(200);
  });

  it('refuses a POST from a foreign Origin, or with none, and publishes nothing; its own Origin may', async () => {
    const before = (JSON.parse((await httpRequest(ui.port, { path: '/api/pulse', headers: auth() })).body) as { versions: number })
      .versions;
    const restore = JSON.stringify({ path: 'todo.md', at: 'yesterday' });
    for (const origin of ['http://evil.example', `http://127.0.0.1:${ui.port + 1}`, 'null', `https://127.0.0.1:${ui.port}`]) {
      const r = await httpRequest(ui.port, { method: 'POST', path: '/api/restore', headers: { ...own(), origin }, body: restore });
      expect([origin, r.status, r.body]).toEqual([origin, 403, 'refused: foreign Origin']);
    }
    const { origin: _, ...noOrigin } = own();
    const none = await httpRequest(ui.port, { method: 'POST', path: '/api/sync', headers: noOrigin, body: '{}' });
    expect(none.status).toBe(403);
    const form = await httpRequest(ui.port, {
      method: 'POST',
      path: '/api/sync',
      headers: { ...own(), 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(form.status).toBe(403);
    const after = (JSON.parse((await httpRequest(ui.port, { path: '/api/pulse', headers: auth() })).body) as { versions: number }).versions;
    expect(after).toBe(before);
    expect((await httpRequest(ui.port, { method: 'POST', path: '/api/sync', headers: own(), body: '{}' })).status).toBe(200);
  });

  it('refuses paths outside the vault: .., absolute, inside .bm-log (any case), for reads and actions alike', async () => {
    const bad = [
      '../outside.md',
      '/etc/passwd',
      'notes/../../x',
      '.bm-log/config.json',
      'notes/.BM-LOG/key',
      '.bm-log./x',
      'C:/x',
      'a\\..\\b',
    ];
    for (const p of bad) {
      const q = encodeURIComponent(p);
      for (const path of [`/api/history?path=${q}`, `/api/diff?path=${q}&to=X`, `/api/conflict?path=${q}`]) {
        const r = await httpRequest(ui.port, { path, headers: auth() });
        expect([path, r.status, r.body]).toEqual([path, 403, expect.stringContaining('outside the vault')]);
      }
      for (const [route, body] of [
        ['/api/restore', { path: p, at: 'yesterday' }],
        ['/api/resolve', { path: p, keep: 'local' }],
        ['/api/resolve', { path: p, text: 'x', heads: [] }],
      ] as const) {
        const r = await httpRequest(ui.port, { method: 'POST', path: route, headers: own(), body: JSON.stringify(body) });
        expect([route, p, r.status]).toEqual([route, p, 403]);
      }
    }
    expect(await alice.read('todo.md')).toBe('x\n');
    expect(((await runShared(alice, 'log')) as { events: unknown[] }).events.length).toBe(2);
  });
});
