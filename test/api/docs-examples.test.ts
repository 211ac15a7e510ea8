/**
 * docs/api.md's examples run as they are written (issue 26): each ```js block, against the
 * built package (`from 'bm-log'` points at dist/api/index.js), in a real client folder
 * holding plan.md. Each example asserts what it shows; a failing assert fails the test.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, useWorlds } from '../cli/support/cli.js';

const { pair } = useWorlds();

/** The ```js blocks of a Markdown file, in order. */
function jsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

function runNode(file: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [file], { env: { ...process.env, ...env }, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('docs/api.md', () => {
  it('every example runs and its asserts hold', async () => {
    const blocks = jsBlocks(await fs.readFile(path.join(REPO_ROOT, 'docs', 'api.md'), 'utf8'));
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    const { a } = await pair({ 'plan.md': '# plan\n' });
    const api = pathToFileURL(path.join(REPO_ROOT, 'dist', 'api', 'index.js')).href;
    for (const [i, block] of blocks.entries()) {
      const file = path.join(path.dirname(a.dir), `example-${i}.mjs`);
      await fs.writeFile(file, block.replaceAll("from 'bm-log'", `from '${api}'`));
      const r = await runNode(file, { NOTES: a.dir });
      expect(r.code, `example ${i + 1}:\n${block}\n${r.stderr}`).toBe(0);
    }
  }, 300_000);
});
