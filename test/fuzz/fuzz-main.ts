import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import type { FuzzFinding, FuzzStats } from './fuzz-engine.js';
import { FUZZ_TARGETS } from './targets.js';

/**
 * The decoder fuzzer's runner (ADR-0017): `--seconds N` or `--minutes N` in all, shared by
 * the targets (`--target NAME` for one), over `--jobs` threads (default: one per core). A
 * thread whose input runs longer than `--hang-seconds` (default 10) is stopped and that input
 * is a finding. Every finding is saved under test/fuzz/regressions/<target>/, where
 * regressions.test.ts replays it, and printed; the exit code is 1 when there was one.
 */
const { values } = parseArgs({
  options: {
    seconds: { type: 'string' },
    minutes: { type: 'string' },
    target: { type: 'string' },
    jobs: { type: 'string' },
    seed: { type: 'string' },
    'hang-seconds': { type: 'string', default: '10' },
    'save-dir': { type: 'string', default: new URL('./regressions/', import.meta.url).pathname },
  },
});
const totalMs = (values.minutes !== undefined ? Number(values.minutes) * 60 : Number(values.seconds ?? 20)) * 1000;
if (!(totalMs > 0)) throw new Error('--seconds or --minutes must be a positive number');
const targets = FUZZ_TARGETS.filter((t) => values.target === undefined || t.name === values.target).map((t) => t.name);
if (targets.length === 0) throw new Error(`no fuzz target ${values.target}; targets: ${FUZZ_TARGETS.map((t) => t.name).join(', ')}`);
const jobs = Math.max(1, Math.min(Number(values.jobs ?? availableParallelism()), targets.length));
const seed = Number(values.seed ?? Date.now() % 2 ** 31);
const hangMs = Number(values['hang-seconds']) * 1000;
const SHARED_BYTES = 8 + (1 << 16);

function save(f: FuzzFinding): string {
  const dir = `${values['save-dir']}${f.target}`;
  mkdirSync(dir, { recursive: true });
  const file = `${dir}/${createHash('sha256').update(f.input).digest('hex').slice(0, 16)}.bin`;
  writeFileSync(file, f.input);
  return file;
}

/** Runs `mine` on one thread; resolves with each target's stats and findings (a hang included). */
function runThread(mine: readonly string[], threadSeed: number): Promise<{ target: string; stats: FuzzStats }[]> {
  const shareMs = totalMs / Math.ceil(targets.length / jobs);
  const shared = new SharedArrayBuffer(SHARED_BYTES);
  const meta = new Int32Array(shared, 0, 2);
  const out: { target: string; stats: FuzzStats }[] = [];
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./fuzz-thread.mjs', import.meta.url), {
      workerData: { targets: mine, shareMs, seed: threadSeed, shared },
    });
    let last = -1;
    let lastMoved = Date.now();
    const watch = setInterval(() => {
      const now = Atomics.load(meta, 0);
      if (now !== last) {
        last = now;
        lastMoved = Date.now();
        return;
      }
      // Before its first input the thread is loading (and instrumenting) the modules.
      if (now === 0 || Date.now() - lastMoved < hangMs) return;
      clearInterval(watch);
      const input = new Uint8Array(shared, 8, Atomics.load(meta, 1)).slice();
      const target = mine[out.length] ?? '?';
      out.push({
        target,
        stats: {
          execs: now,
          corpus: 0,
          covered: 0,
          counters: 0,
          findings: [{ target, input, message: `hang: one input ran over ${hangMs / 1000} s` }],
        },
      });
      void worker.terminate().then(() => resolve(out));
    }, 250);
    worker.on('message', (m: { target: string; stats: FuzzStats }) => out.push(m));
    worker.on('error', (e) => {
      clearInterval(watch);
      reject(e);
    });
    worker.on('exit', () => {
      clearInterval(watch);
      resolve(out);
    });
  });
}

console.log(`fuzz: ${targets.length} target(s) for ${(totalMs / 1000).toFixed(0)} s on ${jobs} thread(s), seed ${seed}`);
const started = Date.now();
const perThread = Array.from({ length: jobs }, (_, j) => targets.filter((_, i) => i % jobs === j));
const results = (await Promise.all(perThread.map((mine, j) => runThread(mine, seed + 1000 * j)))).flat();
let findings = 0;
for (const { target, stats } of results) {
  console.log(
    `  ${target}: ${stats.execs} execs, corpus ${stats.corpus}, ${stats.covered}/${stats.counters} coverage counters hit, ${stats.findings.length} finding(s)`,
  );
  for (const f of stats.findings) {
    findings++;
    console.log(
      `    FINDING ${f.message.split('\n').slice(0, 3).join('\n      ')}\n      input (${f.input.length} bytes) saved as ${save(f)}; base64 ${Buffer.from(f.input).toString('base64').slice(0, 4000)}`,
    );
  }
}
const execs = results.reduce((n, r) => n + r.stats.execs, 0);
console.log(`fuzz: ${execs} execs in ${((Date.now() - started) / 1000).toFixed(1)} s, ${findings} finding(s)`);
process.exitCode = findings > 0 ? 1 : 0;
