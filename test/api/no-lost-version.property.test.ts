/**
 * Property (issue 26, ADR-0028, ADR-0033): interleavings of API writes (as the folder's own
 * client and as an agent client, fresh and stale; a stale one refused on request, else, by
 * default or on request, merged or kept as a conflict), a person's edits in two folders, and
 * syncs lose no version. Every writer adds a unique token
 * to one paragraph of the bytes it based its write on (a stale writer: the bytes of the
 * version it read then), so that writes to different paragraphs merge and writes to the same
 * one conflict. A version is lost exactly when a token that was written disappears from every
 * head: after everyone has synced, each token written must be in some head's bytes (the file,
 * a merge, or a conflict copy). One step runs an API write and a person's edit of the same
 * note at once. Real parts: client folders made by the CLI, a directory remote, LevelDB.
 */
import * as fs from 'node:fs/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isBmError, openFolder, type BmFolder } from '../../src/api/index.js';
import { sleep, useWorlds } from '../cli/support/cli.js';

const { pair } = useWorlds();
/** Stale writes the sync merged, over all runs (printed: the property covers merges, not only conflicts). */
let merges = 0;
const NOTE = 'plan.md';
const PARAGRAPHS = 4;
const BASE = Array.from({ length: PARAGRAPHS }, (_, i) => `p${i}`).join('\n\n') + '\n';
/** What a stale write does; 'default' passes no onStale (the API's default, ADR-0033: a person's rule). */
type OnStale = 'default' | 'refuse' | 'merge' | 'conflict';

type Step =
  | { readonly kind: 'api'; readonly who: 'own' | 'agent'; readonly stale: boolean; readonly onStale: OnStale; readonly at: number }
  | { readonly kind: 'edit'; readonly where: 'a' | 'b'; readonly at: number }
  | { readonly kind: 'sync'; readonly who: 'a' | 'b' | 'agent' }
  | { readonly kind: 'race'; readonly delayMs: number; readonly at: number };

const at = fc.integer({ min: 0, max: PARAGRAPHS - 1 });

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('api' as const),
    who: fc.constantFrom('own' as const, 'agent' as const),
    stale: fc.boolean(),
    onStale: fc.constantFrom<OnStale>('default', 'refuse', 'merge', 'conflict'),
    at,
  }),
  fc.record({ kind: fc.constant('edit' as const), where: fc.constantFrom('a' as const, 'b' as const), at }),
  fc.record({ kind: fc.constant('sync' as const), who: fc.constantFrom('a' as const, 'b' as const, 'agent' as const) }),
  fc.record({ kind: fc.constant('race' as const), delayMs: fc.integer({ min: 0, max: 400 }), at }),
);

/** Pure: `text` with `token` added to its paragraph `at` (the paragraph starting `p<at>`), or at its end when none is. */
function addToken(text: string, at: number, token: string): string {
  const re = new RegExp(`^(p${at}\\b.*)$`, 'm');
  return re.test(text) ? text.replace(re, `$1 ${token}`) : `${text}${token}\n`;
}

interface Run {
  readonly folders: { readonly own: BmFolder; readonly agent: BmFolder; readonly b: BmFolder };
  readonly dirs: { readonly a: string; readonly b: string };
  /** The last version each API writer read, and its text (its stale writes use them). */
  readonly lastRead: Map<'own' | 'agent', { readonly version: string; readonly text: string }>;
  /** Every token some writer wrote (API writes that succeeded, edits on disk). */
  readonly written: Set<string>;
  next: number;
}

async function apiWrite(r: Run, s: Extract<Step, { kind: 'api' }>): Promise<void> {
  const folder = r.folders[s.who];
  const fresh = await folder.read(NOTE);
  const now = { version: fresh.version, text: new TextDecoder().decode(fresh.bytes) };
  // A stale writer writes over the version it read before, adding its token to those bytes.
  const based = s.stale ? (r.lastRead.get(s.who) ?? now) : now;
  r.lastRead.set(s.who, now);
  const token = `t${r.next++}`;
  const options = { expectedVersion: based.version, ...(s.onStale === 'default' ? {} : { onStale: s.onStale }) };
  try {
    const w = await folder.write(NOTE, addToken(based.text, s.at, token), options);
    r.written.add(token);
    if (w.merged) merges++;
  } catch (e) {
    // Only a write that asked to be refused may be: the default and 'merge' never refuse.
    if (!isBmError(e, 'stale-version') || s.onStale !== 'refuse') throw e;
  }
}

async function edit(r: Run, where: 'a' | 'b', at: number): Promise<void> {
  const file = `${r.dirs[where]}/${NOTE}`;
  const now = await fs.readFile(file, 'utf8').catch(() => '');
  const token = `t${r.next++}`;
  await fs.writeFile(file, addToken(now, at, token));
  r.written.add(token);
}

async function runStep(r: Run, s: Step): Promise<void> {
  switch (s.kind) {
    case 'api':
      return apiWrite(r, s);
    case 'edit':
      return edit(r, s.where, s.at);
    case 'sync':
      await (s.who === 'a' ? r.folders.own : s.who === 'b' ? r.folders.b : r.folders.agent).sync();
      return;
    case 'race':
      await Promise.all([
        apiWrite(r, { kind: 'api', who: 'own', stale: false, onStale: 'default', at: s.at }),
        sleep(s.delayMs).then(() => edit(r, 'a', (s.at + 1) % PARAGRAPHS)),
      ]);
      return;
  }
}

/** Every token in the bytes of the note and its conflict copies in `dir`. */
async function tokensIn(dir: string): Promise<Set<string>> {
  const out = new Set<string>();
  for (const name of await fs.readdir(dir)) {
    if (!name.startsWith('plan')) continue;
    for (const t of (await fs.readFile(`${dir}/${name}`, 'utf8')).match(/t\d+/g) ?? []) out.add(t);
  }
  return out;
}

describe('API writes, local edits and syncs', () => {
  it('lose no version in any interleaving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 3, maxLength: 7 }), async (steps) => {
        const { a, b } = await pair({ [NOTE]: BASE });
        const r: Run = {
          folders: { own: await openFolder(a.dir), agent: await openFolder(a.dir, { as: 'agent' }), b: await openFolder(b.dir) },
          dirs: { a: a.dir, b: b.dir },
          lastRead: new Map(),
          written: new Set(),
          next: 0,
        };
        for (const s of steps) await runStep(r, s);
        // Everyone syncs until the edits made last are published and everything has arrived.
        for (const f of [r.folders.own, r.folders.b, r.folders.agent, r.folders.own, r.folders.b, r.folders.own]) await f.sync();
        const kept = await tokensIn(a.dir);
        const lost = [...r.written].filter((t) => !kept.has(t));
        expect(lost, `steps ${JSON.stringify(steps)}`).toEqual([]);
        expect(await tokensIn(b.dir)).toEqual(kept);
      }),
      { numRuns: Number(process.env['API_PROPERTY_RUNS'] ?? 6), endOnFailure: true },
    );
    console.log(`stale API writes merged: ${merges}`);
  }, 900_000);
});
