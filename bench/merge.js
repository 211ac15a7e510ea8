#!/usr/bin/env node
// Micro-benchmark of the pure merge library (src/merge, ADR-0020) on the built code in dist/:
// a three-way merge of a generated Markdown note of about 1 MiB (headings, paragraphs, list
// items, a third of its lines blank or repeated), each side editing every ~1,000th line at
// positions that never touch; and the same merge by node-diff3 over the whole texts at the
// largest size it finishes in reasonable time (to show why the merge cuts at anchors).
// Inputs are fixed and printed. Run: npm run build && node bench/merge.js [--runs N] [--lines N]
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const distDir = process.env.BM_LOG_DIST ?? path.join(here, '..', 'dist');
const { computeMerge } = await import(pathToFileURL(path.join(distDir, 'merge', 'compute-merge.js')).href);
const { computePlainLineMerge } = await import(pathToFileURL(path.join(distDir, 'merge', 'line-merge.js')).href);

const argv = process.argv.slice(2);
const opt = (n, d) => (argv.includes(n) ? argv[argv.indexOf(n) + 1] : d);
const runs = Number(opt('--runs', 9));
const lines = Number(opt('--lines', 56_000));

/** A note of `n` lines: a heading, a blank, a list item, a blank, a task, a paragraph; repeated. */
function note(n) {
  const out = [];
  let x = 1;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const k = i % 6;
    const kinds = [
      `## Heading ${i}`,
      '',
      `- item ${x % 1000} of list ${i}`,
      '',
      '- [ ] todo',
      `Paragraph ${i} lorem ipsum dolor sit amet ${x}`,
    ];
    out.push(kinds[k]);
  }
  return out;
}
/** Side A edits lines 100, 1100, 2100, ...; side B lines 600, 1600, ...: never adjacent. */
function sides(o) {
  const a = o.slice();
  const b = o.slice();
  for (let i = 100; i < o.length; i += 1000) a[i] = `${a[i]} (edited by A)`;
  for (let i = 600; i < o.length; i += 1000) b[i] = `${b[i]} (edited by B)`;
  return [a, b];
}
const enc = (ls) => new TextEncoder().encode(`${ls.join('\n')}\n`);
const median = (xs) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];

const o = note(lines);
const [a, b] = sides(o);
const [bo, ba, bb] = [enc(o), enc(a), enc(b)];
console.log(
  `input: note(${lines}) = ${bo.byteLength.toLocaleString('en-US')} bytes, ${lines} lines; A edits every 1,000th line from 100, B from 600`,
);
const times = [];
const cpu = [];
let outcome;
// The first run in a process also compiles the code: reported apart, not in the median (a sync
// merging many notes runs warm after its first).
for (let r = 0; r <= runs; r++) {
  const t = performance.now();
  const c = process.cpuUsage();
  outcome = computeMerge('markdown/1', bo, [
    { version: 'a', bytes: ba },
    { version: 'b', bytes: bb },
  ]);
  const used = process.cpuUsage(c);
  times.push(performance.now() - t);
  cpu.push((used.user + used.system) / 1000);
}
const [firstWall, firstCpu] = [times.shift(), cpu.shift()];
// CPU time is reported beside wall time: on a shared machine the wall time mostly measures the others.
const ms = (xs) => `median ${median(xs).toFixed(1)} ms (min ${Math.min(...xs).toFixed(1)})`;
console.log(
  `computeMerge markdown/1: ${outcome.kind}, wall ${ms(times)}, CPU ${ms(cpu)} of ${runs} runs after a first run ` +
    `(wall ${firstWall.toFixed(1)} ms, CPU ${firstCpu.toFixed(1)} ms)`,
);

for (const n of [500, 1000, 2000]) {
  const po = note(n);
  const [pa, pb] = sides(po);
  const t = performance.now();
  const r = computePlainLineMerge(po, pa, pb);
  const plain = performance.now() - t;
  const t2 = performance.now();
  computeMerge('lines/1', enc(po), [
    { version: 'a', bytes: enc(pa) },
    { version: 'b', bytes: enc(pb) },
  ]);
  console.log(
    `note(${n}): node-diff3 over whole texts ${plain.toFixed(1)} ms (${r.kind}); anchored computeMerge ${(performance.now() - t2).toFixed(1)} ms`,
  );
}
