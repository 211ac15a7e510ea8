import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FUZZ_TARGETS } from './targets.js';

/**
 * The decoders under fuzzing (ADR-0017). Property: a decoder returns a value its schema
 * accepts or throws a BmError; never another exception, never a hang.
 * - every seed and every saved finding (test/fuzz/regressions/<target>/*.bin) holds it;
 * - a short coverage-guided run (FUZZ_SECONDS, default 20, over all cores) finds nothing.
 * Longer runs: `npm run fuzz -- --minutes N`.
 */
const REGRESSIONS = fileURLToPath(new URL('./regressions/', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SECONDS = Number(process.env['FUZZ_SECONDS'] ?? 20);

function savedInputs(target: string): { name: string; bytes: Uint8Array }[] {
  const dir = join(REGRESSIONS, target);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.bin'))
    .map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(join(dir, f))) }));
}

describe('decoder fuzz targets', () => {
  for (const t of FUZZ_TARGETS) {
    it(`${t.name}: every seed and every saved finding decodes to a schema-valid value or throws a BmError`, () => {
      for (const s of t.seeds) t.run(s);
      for (const { bytes } of savedInputs(t.name)) t.run(bytes);
    });
  }

  it(
    `a ${SECONDS} s coverage-guided run finds nothing, and grows every target's corpus beyond its seeds`,
    async () => {
      {
        // A finding is saved under test/fuzz/regressions/<target>/ (commit it: it becomes a case above) and printed in base64.
        const out = await new Promise<{ code: number | null; text: string }>((resolve) => {
          execFile(
            process.execPath,
            ['--import', 'tsx', 'test/fuzz/fuzz-main.ts', '--seconds', String(SECONDS)],
            { cwd: ROOT, timeout: (SECONDS + 120) * 1000 },
            (e, stdout, stderr) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, text: `${stdout}${stderr}` }),
          );
        });
        console.log(out.text);
        expect(out.code, out.text).toBe(0);
        for (const t of FUZZ_TARGETS) {
          const line = out.text.split('\n').find((l) => l.trim().startsWith(`${t.name}:`));
          expect(line, `no figure for ${t.name}`).toBeDefined();
          const [, execs, corpus, covered] = /: (\d+) execs, corpus (\d+), (\d+)\//.exec(line!)!.map(Number);
          expect(execs).toBeGreaterThan(100);
          expect(corpus).toBeGreaterThan(t.seeds.length); // coverage feedback kept new inputs
          expect(covered).toBeGreaterThan(0);
        }
      }
    },
    (SECONDS + 180) * 1000,
  );
});
