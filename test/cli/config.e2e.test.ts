/**
 * The vault-wide merge policy end to end (ADR-0037): the built CLI in child processes on a
 * local-directory remote. One client sets the policy with `bm-log config merge`; every client
 * follows it alike; in a vault with members only an admin may change it.
 */
import { describe, expect, it } from 'vitest';
import { EXIT, copiesOf, expectExit, useWorlds } from './support/cli.js';

const { pair } = useWorlds();

const NOTE = 'notes/plan.md';
const BASE = '# Plan\n\nfirst paragraph\n\nmiddle\n\nlast paragraph\n';

interface ConfigJson {
  readonly merge: { enabled: boolean; maxBytes: number; patterns: string[]; markdownPatterns: string[] };
  readonly from: { client: string; seq: number; id: string } | null;
  readonly published: { id: string; seq: number } | null;
}

describe.concurrent('bm-log config merge (CLI, directory remote)', () => {
  it('a policy one client sets is the one both follow: with Markdown left out, edits of different paragraphs stay a conflict on both', async () => {
    const { a, b } = await pair({ [NOTE]: BASE });
    const set = expectExit(await a.run('config', 'merge', '--pattern', '*.txt', '--json'), EXIT.ok).json as ConfigJson;
    expect(set.published).not.toBeNull();
    expect(set.merge.patterns).toEqual(['*.txt']);
    // Setting it again changes nothing and publishes nothing.
    expect((expectExit(await a.run('config', 'merge', '--pattern', '*.txt', '--json'), EXIT.ok).json as ConfigJson).published).toBeNull();
    await b.syncOk();
    const seen = expectExit(await b.run('config', '--json'), EXIT.ok).json as ConfigJson;
    expect(seen.merge).toEqual(set.merge);
    expect(seen.from?.id).toBe(set.published!.id);
    await a.write(NOTE, BASE.replace('first paragraph', 'first paragraph, by alice'));
    await b.write(NOTE, BASE.replace('last paragraph', 'last paragraph, by bob'));
    await a.syncOk();
    const rb = await b.sync();
    expect(rb.json.applied.map((o: { kind: string }) => o.kind)).not.toContain('merge');
    await a.sync();
    for (const c of [a, b]) {
      expect((await c.conflicts()).map((x) => x.path)).toEqual([NOTE]);
      expect(copiesOf(await c.files(), NOTE)).toHaveLength(1);
    }
    // Markdown merges again once the policy says so (alice, the vault's admin, resets it): the open conflict is merged by the next sync.
    expectExit(await a.run('config', 'merge', '--reset'), EXIT.ok);
    await a.syncOk();
    await b.syncOk();
    await a.syncOk();
    await b.syncOk();
    const both = BASE.replace('first paragraph', 'first paragraph, by alice').replace('last paragraph', 'last paragraph, by bob');
    for (const c of [a, b]) {
      expect(await c.conflicts()).toEqual([]);
      expect(await c.read(NOTE)).toBe(both);
    }
  }, 300_000); // about 20 CLI runs, on a machine shared with other sessions

  it('in a vault with members (every vault init --create makes) a writer may not change the policy (nothing published); the admin may', async () => {
    const { a, b } = await pair({ [NOTE]: BASE });
    await b.syncOk();
    expect(expectExit(await b.run('config', 'merge', '--off'), EXIT.usage).stderr).toMatch(/only an admin/);
    expect((expectExit(await a.run('config', '--json'), EXIT.ok).json as ConfigJson).from).toBeNull();
    expect(expectExit(await a.run('config', 'merge', '--off', '--on'), EXIT.usage).stderr).toMatch(/cannot be used with/);
    const off = expectExit(await a.run('config', 'merge', '--off', '--json'), EXIT.ok).json as ConfigJson;
    expect(off.merge.enabled).toBe(false);
    await b.syncOk();
    expect((expectExit(await b.run('config', '--json'), EXIT.ok).json as ConfigJson).merge.enabled).toBe(false);
  }, 300_000);
});
