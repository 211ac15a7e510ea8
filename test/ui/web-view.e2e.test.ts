/**
 * The web view in a real headless Chromium (issue 27, ADR-0030): Debian's chromium driven by
 * playwright-core against `bm-log ui --no-open --port 0` (the built CLI, a child process) on
 * Alice's folder, made by `init` with a directory remote that Bob shares. The page opens the
 * timeline, a file's history and a diff between two versions, resolves a conflict with edited
 * text (the file changes on disk; Bob gets the resolve at his next sync), restores a version and
 * brings a deleted file back; in a vault of its own, it lists members and a pending joiner. Each view's screenshot goes to docs/ui/ (linked from the README).
 * One browser for the whole file. Where chromium is missing or cannot start, the tests are
 * skipped and their name says why.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeFingerprint } from '../../src/crypto/fingerprint.js';
import { importPrivateKeyPem } from '../../src/events/signing.js';
import { REPO_ROOT, sleep, useWorlds, type Client } from '../cli/support/cli.js';
import { findChromium, runShared, startUi, type RunningUi } from './support.js';

const { pair } = useWorlds();
/** A vault from before members (format 1), where `members init` starts them (ADR-0032). */
const { world: openWorld } = useWorlds(() => ({ openVault: true }));
const found = findChromium();
const skip = 'skip' in found ? found.skip : undefined;
if (skip !== undefined) console.warn(`web view browser tests skipped: ${skip}`);
const SHOTS = path.join(REPO_ROOT, 'docs', 'ui');

const NOTE = 'notes/plan.md';
const BASE = '# Plan\n\nfirst paragraph\n\nmiddle\n\nlast paragraph\n';

let alice: Client;
let bob: Client;
let ui: RunningUi;
let browser: Browser;
let page: Page;

/** Waits until `check` holds (the page polls every 3 s; syncs take a while on a busy machine). */
async function eventually(check: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(250);
  }
}

const conflictsOf = async (c: Client) => ((await runShared(c, 'conflicts')) as { conflicts: { path: string }[] }).conflicts;
const logOf = async (c: Client, ...args: string[]) => ((await runShared(c, 'log', ...args)) as { events: { change: string }[] }).events;

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** The page's notice once it says `word`, or an error (whose text then shows in the assertion's message). */
async function noticeSaying(word: string): Promise<string> {
  await page.waitForSelector(`#notice:has-text("${word}"), #notice.error`, { timeout: 60_000 });
  return (await page.locator('#notice').textContent()) ?? '';
}

/** Opens a view by its hash and waits until it is drawn. */
async function open(hash: string): Promise<void> {
  await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
  await page.waitForSelector(`main[data-ready="${hash}"]`);
}

describe.skipIf(skip !== undefined)(`the web view in headless Chromium${skip === undefined ? '' : ` (skipped: ${skip})`}`, () => {
  beforeAll(async () => {
    ({ a: alice, b: bob } = await pair({ [NOTE]: BASE, 'todo.md': 'milk\n' }));
    await alice.write('todo.md', 'milk\neggs\n');
    await alice.syncOk();
    await alice.write('todo.md', 'milk\neggs\nbread\n');
    await alice.syncOk();
    // A conflict: both edit the same line; Bob syncs second, then Alice fetches it.
    await bob.syncOk();
    await alice.write(NOTE, BASE.replace('middle', 'middle by alice'));
    await bob.write(NOTE, BASE.replace('middle', 'middle by bob'));
    await alice.syncOk();
    await bob.syncOk();
    await alice.syncOk();
    expect((await alice.conflicts()).map((c) => c.path)).toEqual([NOTE]);
    await fs.mkdir(SHOTS, { recursive: true });
    ui = await startUi(alice);
    if (!('path' in found)) throw new Error('unreachable: skipped above');
    browser = await chromium.launch({ executablePath: found.path, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    page.on('dialog', (d) => void d.accept());
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await ui?.stop();
  });

  it('opens the timeline from the printed URL: who did what, when, from which device, having seen what', async () => {
    await page.goto(ui.url);
    expect(new URL(page.url()).search).toBe(''); // the token went into the cookie, out of the address bar
    await page.waitForSelector('main[data-ready="#/activity"] #activity');
    const rows = await page.locator('#activity tbody tr').allInnerTexts();
    expect(rows.length).toBe((await logOf(alice)).length);
    expect(rows.some((r) => r.includes('todo.md') && r.includes('alice') && r.includes('edited'))).toBe(true);
    expect(rows.some((r) => r.includes(NOTE) && r.includes('bob'))).toBe(true);
    expect(rows.some((r) => /bob@\d+|alice@\d+/.test(r))).toBe(true); // the seen frontier, by name
    await shot('activity');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot('activity-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('opens a file from the timeline by keyboard; shows its history and the diff between any two versions', async () => {
    await open('#/activity');
    await page.locator('#activity a', { hasText: 'todo.md' }).first().focus();
    await page.keyboard.press('Enter');
    await page.waitForSelector('#history tbody tr');
    expect(await page.locator('#history tbody tr').count()).toBe(3);
    // Default: the newest against the one before it.
    await page.waitForSelector('#diff .add');
    expect(await page.locator('#diff .add').allInnerTexts()).toEqual(['+bread']);
    // From the first version to the newest: two lines added.
    const first = await page.locator('#diff-from option').last().getAttribute('value');
    await page.selectOption('#diff-from', first!);
    await eventually(async () => (await page.locator('#diff .add').count()) === 2, 'the diff from the first version');
    expect(await page.locator('#diff .add').allInnerTexts()).toEqual(['+eggs', '+bread']);
    await shot('history-diff');
  });

  it('resolves a conflict with edited text: the file changes on disk and the resolve reaches Bob at his sync', async () => {
    await open('#/conflicts');
    await page.locator('#conflicts a', { hasText: NOTE }).click();
    await page.waitForSelector('#merged-text');
    expect(await page.locator('.sides section').count()).toBe(3); // the ancestor and both heads
    const sides = await page.locator('.sides pre').allInnerTexts();
    expect(sides[0]).toContain('middle\n');
    expect(sides.slice(1).sort()).toEqual([expect.stringContaining('middle by alice'), expect.stringContaining('middle by bob')].sort());
    expect(await page.inputValue('#merged-text')).toMatch(/<<<<<<<[\s\S]*=======[\s\S]*>>>>>>>/);
    await shot('conflict');
    const merged = BASE.replace('middle', 'middle by alice and bob');
    await page.fill('#merged-text', merged);
    await page.click('#save-merged');
    expect(await noticeSaying('Resolved')).toContain('Resolved');
    expect(await alice.read(NOTE)).toBe(merged);
    expect(await conflictsOf(alice)).toEqual([]);
    await bob.syncOk();
    expect(await bob.read(NOTE)).toBe(merged);
    expect(await bob.conflicts()).toEqual([]);
    await open('#/conflicts');
    expect(await page.locator('main').textContent()).toContain('No open conflicts.');
  }, 180_000);

  it('restores an old version from its history: the file on disk is that version again, as a new version', async () => {
    await open(`#/file/${encodeURIComponent('todo.md')}`);
    await page.waitForSelector('#history tbody tr');
    const oldest = page.locator('#history button.restore').last();
    await oldest.click();
    expect(await noticeSaying('Restored')).toContain('Restored');
    expect(await alice.read('todo.md')).toBe('milk\n');
    await page.waitForSelector('main[data-ready]');
    await eventually(async () => (await page.locator('#history tbody tr').count()) === 4, 'the restore in the history');
    await shot('history-restored');
    expect((await logOf(alice, 'todo.md'))[0]).toEqual(expect.objectContaining({ change: 'restored' }));
  }, 120_000);

  it('lists a file Bob deleted (live, after a sync) and brings it back; shows clients and verifies the vault', async () => {
    await bob.syncOk();
    await bob.rm('todo.md');
    await bob.syncOk();
    await open('#/deleted');
    await page.click('#sync-now');
    await page.waitForSelector('#deleted tbody tr');
    expect(await page.locator('#deleted').textContent()).toContain('todo.md');
    expect(alice.exists('todo.md')).toBe(false);
    await shot('deleted');
    await page.locator('#deleted button', { hasText: 'Bring back' }).click();
    expect(await noticeSaying('Restored')).toContain('Restored');
    expect(await alice.read('todo.md')).toBe('milk\n');

    await open('#/clients');
    const clients = await page.locator('#clients tbody tr').allInnerTexts();
    expect(clients.length).toBe(2);
    expect(clients.find((r) => r.includes('(this one)'))).toContain('alice');
    await shot('clients');

    await open('#/health');
    await page.click('#run-verify');
    await page.waitForSelector('#verify-result p:has-text("Healthy")', { timeout: 60_000 });
    await shot('health');
  }, 240_000);
  it('lists members: without them, the command that starts them; then alice as admin and bob pending, his fingerprint and admit command', async () => {
    const w = await openWorld();
    const a = await w.init('alice');
    const own = await startUi(a);
    try {
      await page.goto(own.url);
      await open('#/members');
      expect(await page.locator('#no-members').count()).toBe(1);
      expect(await page.locator('main code.command').allInnerTexts()).toEqual(['bm-log members init']);
      await runShared(a, 'members', 'init');
      const b = await w.init('bob'); // joins after the root: pending until an admin admits it
      const bobKey = importPrivateKeyPem(await fs.readFile(path.join(b.dir, '.bm-log', 'identity.key'), 'utf8'));
      await open('#/activity');
      await open('#/members');
      expect(await page.locator('#members tbody tr').allInnerTexts()).toEqual([expect.stringMatching(/^alice \(this one\)\s.*\sadmin\s/)]);
      const pending = await page.locator('#pending tbody tr').allInnerTexts();
      expect(pending).toEqual([expect.stringContaining(`${await b.clientId()}`)]);
      expect(pending[0]).toMatch(/^bob\s.*\spending\s/);
      expect(await page.locator('#pending .fingerprint').allInnerTexts()).toEqual([computeFingerprint(bobKey.publicKeyHex)]);
      expect(await page.locator('#pending code.command').allInnerTexts()).toEqual(['bm-log members add bob']);
      expect(await page.locator('main button', { hasText: /admit/i }).count()).toBe(0); // admitting is the admin's deliberate act
      await shot('members');
    } finally {
      await own.stop();
    }
  }, 180_000);
});
