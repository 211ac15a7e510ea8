/**
 * What a no-op sync loads (docs/performance.md, "The no-op at 100k, explained"): the no-op's
 * regression since issue 20 was start-up, not per file: every sync loaded the `diff` command's
 * modules (jsdiff, the API's version diff) because main.ts imported that command eagerly, and
 * the merge library's YAML parser through the merge stage. A no-op needs neither. The built CLI
 * runs as a child process with a preload that lists, at exit, every ES module it loaded (a
 * module hook) and every CommonJS module in require's cache.
 */
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXIT, expectExit, runCli, useWorlds, type SyncReportJson } from './support/cli.js';

const { world } = useWorlds();

/** A preload (`node --import`) that writes the loaded modules' URLs and paths to `out` at exit. */
async function writeModuleRecorder(dir: string, out: string): Promise<string> {
  const hooks = path.join(dir, 'hooks.mjs');
  const preload = path.join(dir, 'preload.mjs');
  await fs.writeFile(
    hooks,
    `export async function load(url, context, next) { const r = await next(url, context); globalThis.port?.postMessage(url); return r; }
export function initialize({ port }) { globalThis.port = port; }\n`,
  );
  await fs.writeFile(
    preload,
    `import { register, createRequire } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
import { writeFileSync } from 'node:fs';
const seen = [];
const { port1, port2 } = new MessageChannel();
port1.on('message', (u) => seen.push(u));
port1.unref();
register(${JSON.stringify(pathToFileURL(hooks).href)}, { data: { port: port2 }, transferList: [port2] });
process.on('exit', () => {
  const cjs = Object.keys(createRequire(import.meta.url).cache);
  writeFileSync(${JSON.stringify(out)}, [...seen, ...cjs].join('\\n'));
});\n`,
  );
  return preload;
}

describe('a no-op sync', () => {
  it('loads neither the diff command, jsdiff, nor the YAML parser', async () => {
    const w = await world();
    const a = await w.init('alice', { files: { 'a.md': '---\ntitle: a\n---\nbody\n', 'b.txt': 'b' } });
    expectExit(await a.sync(), EXIT.ok);
    const out = path.join(w.base, 'modules.txt');
    const preload = await writeModuleRecorder(w.base, out);
    const r = expectExit(await runCli(['sync', '--json', '--dir', a.dir], { env: { NODE_OPTIONS: `--import ${preload}` } }), EXIT.ok);
    expect((r.json as SyncReportJson).plan).toEqual([]);
    const loaded = readFileSync(out, 'utf8').split('\n');
    // The recorder works: the engine itself and a CommonJS dependency are seen.
    expect(loaded.some((u) => u.endsWith('/dist/reconcile/run-sync.js'))).toBe(true);
    expect(loaded.some((u) => u.includes('/node_modules/classic-level/'))).toBe(true);
    const unneeded = loaded.filter((u) =>
      /\/node_modules\/(diff|yaml)\/|\/dist\/cli\/diff-command\.js|\/dist\/api\/version-diff\.js/.test(u),
    );
    expect(unneeded).toEqual([]);
  });
});
