/**
 * The local holes of issue 20 run again from outside, as a new user would meet them: the
 * built CLI in child processes on a local-directory remote. Each test states what the
 * adversarial probe saw on main and what must hold instead.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, expectExit, hashTree, runCli, useWorlds } from './support/cli.js';

const { world } = useWorlds();

/** Every object of a directory remote as key -> bytes. */
async function remoteObjects(remoteDir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const key of (await hashTree(remoteDir)).keys()) out.set(key, await fs.readFile(path.join(remoteDir, ...key.split('/'))));
  return out;
}

describe.concurrent('a bm-log folder nested in another (failure 2)', () => {
  it('the outer folder syncs the nested folder\'s files, never its .bm-log: no key, config or index reaches the outer remote or another client', async () => {
    const w = await world();
    const outer = w.client('outer');
    await outer.write('notes.md', 'outer notes\n');
    await outer.write('sub/inner.md', 'inner notes\n');
    // Probe: a nested client with its own remote, then the outer one syncs everything.
    expectExit(await runCli(['init', '--remote', path.join(w.base, 'inner-remote'), '--name', 'inner', '--dir', outer.abs('sub')]), EXIT.ok);
    expectExit(await runCli(['init', '--remote', w.remoteUrl, '--name', 'outer', '--dir', outer.dir]), EXIT.ok);
    await outer.syncOk();
    const key = await fs.readFile(outer.abs('sub/.bm-log/identity.key'));
    const config = await fs.readFile(outer.abs('sub/.bm-log/config.json'));
    for (const [object, bytes] of await remoteObjects(w.remoteDir)) {
      expect(bytes.includes(key), `${object} holds the nested private key`).toBe(false);
      expect(bytes.includes(config), `${object} holds the nested config`).toBe(false);
    }
    expect((await outer.log()).map((e) => e.path).sort()).toEqual(['notes.md', 'sub/inner.md']);
    const bob = await w.init('bob');
    expect(await bob.files()).toEqual(['notes.md', 'sub/inner.md']);
    expect(bob.exists('sub/.bm-log')).toBe(false);
    // The nested folder still works as a client of its own remote.
    await outer.write('sub/inner.md', 'inner notes, edited\n');
    const inner = expectExit(await runCli(['sync', '--json', '--dir', outer.abs('sub')]), EXIT.ok);
    expect(inner.json.applied.map((o: { path: string }) => o.path)).toEqual(['inner.md']);
  });
});
