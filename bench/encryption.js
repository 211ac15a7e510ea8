#!/usr/bin/env node
// Encryption's cost (ADR-0031): the same pipeline on an open vault and on an `init --create --encrypt`
// vault, side by side. Run after `npm run build`:
//   node bench/encryption.js [--files 2000] [--large 2] [--large-mb 8] [--runs 3] [--seed 7]
// Per run, on a fresh local-directory remote, every command a child process (`bm-log ...`):
//   first sync      A: `init --create [--encrypt] --remote DIR` (includes A's first sync)
//   join sync       B: `init --no-sync` (+ A's `members add B`, encrypted only, untimed), then B's `sync`
//   no-op sync      A: `sync` with nothing changed
//   300 changes     100 files changed + 100 added + 100 deleted in A, A's `sync`; then B's `sync`
// Prints the median wall time of each case for both vaults and the ratio encrypted / open.
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { generateTree, listSmallFiles, mutateTree } from './lib/tree.js';
import { runBmLog } from './lib/proc.js';

const argv = process.argv.slice(2);
const opt = (n, d) => {
  const i = argv.indexOf(n);
  return i < 0 ? d : Number(argv[i + 1]);
};
const FILES = opt('--files', 2000);
const LARGE = opt('--large', 2);
const LARGE_MB = opt('--large-mb', 8);
const RUNS = opt('--runs', 3);
const SEED = opt('--seed', 7);
const spec = { files: FILES, fanout: 10, minSize: 1024, maxSize: 8192, largeCount: LARGE, largeSize: LARGE_MB << 20 };
const CASES = ['first sync', 'join sync', 'no-op sync', '300 changes (A)', '300 changes (B pulls)'];

async function pipeline(encrypt, run) {
  const base = await fsp.mkdtemp(path.join(os.tmpdir(), 'bm-bench-enc-'));
  const logDir = path.join(base, 'logs');
  await fsp.mkdir(logDir);
  const remote = path.join(base, 'remote');
  const a = path.join(base, 'a');
  const b = path.join(base, 'b');
  try {
    await generateTree(a, spec, SEED + run);
    const t = {};
    const bm = (label, args) => runBmLog(args, { logDir, label });
    t['first sync'] = (
      await bm('first', ['init', '--create', ...(encrypt ? ['--encrypt'] : []), '--remote', remote, '--dir', a, '--name', 'a'])
    ).ms;
    await fsp.mkdir(b);
    const join = await bm('join-init', ['init', '--no-sync', '--remote', remote, '--dir', b, '--name', 'b']);
    if (encrypt) await bm('admit', ['members', 'add', 'b', '--dir', a]);
    t['join sync'] = join.ms + (await bm('join-sync', ['sync', '--dir', b])).ms;
    t['no-op sync'] = (await bm('noop', ['sync', '--dir', a])).ms;
    await mutateTree(a, await listSmallFiles(a), SEED + 100 + run);
    t['300 changes (A)'] = (await bm('change', ['sync', '--dir', a])).ms;
    t['300 changes (B pulls)'] = (await bm('pull', ['sync', '--dir', b])).ms;
    return t;
  } finally {
    await fsp.rm(base, { recursive: true, force: true });
  }
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
console.log(
  `bm-log encryption bench: ${FILES} small files (1-8 KiB) + ${LARGE} x ${LARGE_MB} MiB, directory remote, ${RUNS} run(s), seed ${SEED}`,
);
const results = { open: [], encrypted: [] };
for (let run = 0; run < RUNS; run++) {
  for (const mode of ['open', 'encrypted']) results[mode].push(await pipeline(mode === 'encrypted', run));
}
console.log(`${'case'.padEnd(24)}${'open (ms)'.padStart(12)}${'encrypted (ms)'.padStart(16)}${'ratio'.padStart(8)}`);
for (const c of CASES) {
  const o = median(results.open.map((t) => t[c]));
  const e = median(results.encrypted.map((t) => t[c]));
  console.log(`${c.padEnd(24)}${o.toFixed(0).padStart(12)}${e.toFixed(0).padStart(16)}${(e / o).toFixed(2).padStart(8)}`);
}
