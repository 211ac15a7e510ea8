#!/usr/bin/env node
// Micro-benchmark of the pure merge library (src/merge, ADR-0020) on the built code in dist/:
// a three-way merge of a generated Markdown note of about 1 MiB (headings, paragraphs, list
// items, a third of its lines blank or repeated), each side editing every ~1,000th line at
// positions that never touch; and the same merge by node-diff3 over the whole texts at the
// largest size it finishes in reasonable time (to show why the merge cuts at anchors).
// Inputs are fixed and printed. Then a sync that merges 300 notes at once against a sync uploading
// 300 edits (CLI child processes, S3 remote; see benchMergingSync below).
// Run: npm run build && node bench/merge.js [--runs N] [--lines N] [--no-sync] [--sync-rounds N] [--keep]
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

// ---- A sync that merges 300 notes at once (issue 22's second merge target: within 2x of a
// sync uploading 300 changes). bm-log CLI in child processes (GNU time: wall, CPU of the whole
// process tree) on an S3 remote (fauxqs on 127.0.0.1, counting requests). 300 Markdown notes of
// 8 paragraphs (fixed text, printed sizes); per round alice edits paragraph 2r of every note and
// bob paragraph 2r+5 (never adjacent); alice's sync uploads her 300 edits (the comparison), then
// bob's one sync meets them with his own 300 unsynced edits and merges all 300. Checked: every
// note on bob ends with both edits. Skip with --no-sync; --sync-rounds N (default 3).
if (!argv.includes('--no-sync')) await benchMergingSync(Number(opt('--sync-rounds', 3)));

async function benchMergingSync(rounds) {
  const fs = await import('node:fs/promises');
  const os = await import('node:os');
  const { runBmLog } = await import('./lib/proc.js');
  const { startCountingS3, diffCounts, s3ChildEnv } = await import('./lib/s3.js');
  const NOTES = 300;
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'bm-log-bench-merge-'));
  const logDir = path.join(tmp, 'logs');
  const [A, B] = [path.join(tmp, 'alice'), path.join(tmp, 'bob')];
  await fs.mkdir(logDir);
  const s3 = await startCountingS3();
  try {
    await s3.createBucket('bench');
    const env = s3ChildEnv();
    const remote = ['--remote', 's3://bench/vault', '--endpoint', s3.endpoint, '--region', 'us-east-1', '--path-style'];
    const paragraphs = (i) =>
      Array.from(
        { length: 8 },
        (_, k) => `Paragraph ${k} of note ${i}: ${'lorem ipsum dolor sit amet, consectetur adipiscing. '.repeat(4)}`,
      );
    const render = (i, ps) => `---\ntitle: Note ${i}\ntags: [bench]\n---\n# Note ${i}\n\n${ps.join('\n\n')}\n`;
    const notePath = (dir, i) => path.join(dir, 'notes', `note-${String(i).padStart(3, '0')}.md`);
    await fs.mkdir(path.join(A, 'notes'), { recursive: true });
    for (let i = 0; i < NOTES; i++) await fs.writeFile(notePath(A, i), render(i, paragraphs(i)));
    const size = (await fs.stat(notePath(A, 0))).size;
    console.log(`\nmerging sync: ${NOTES} notes of ${size} bytes (8 paragraphs, front matter), S3 remote (fauxqs), ${rounds} rounds`);
    const run = async (label, args) => {
      const before = s3.snapshot();
      const r = await runBmLog(args, { env, logDir, label });
      return { ms: r.ms, cpuS: r.userS === null ? null : r.userS + r.sysS, requests: diffCounts(before, s3.snapshot()) };
    };
    await run('alice-init', ['init', '--create', ...remote, '--name', 'alice', '--dir', A]);
    await run('bob-init', ['init', ...remote, '--name', 'bob', '--no-sync', '--dir', B]);
    await run('bob-join', ['sync', '--dir', B]);
    const state = Array.from({ length: NOTES }, (_, i) => paragraphs(i));
    const upload = [];
    const merge = [];
    const pull = [];
    for (let r = 0; r < rounds; r++) {
      const [pa, pb] = [(2 * r) % 8, (2 * r + 5) % 8];
      for (let i = 0; i < NOTES; i++) {
        const ps = state[i];
        const byA = ps.map((p, k) => (k === pa ? `${p} (alice, round ${r})` : p));
        const byB = ps.map((p, k) => (k === pb ? `${p} (bob, round ${r})` : p));
        await fs.writeFile(notePath(A, i), render(i, byA));
        await fs.writeFile(notePath(B, i), render(i, byB));
        state[i] = ps.map((p, k) => (k === pa ? byA[k] : k === pb ? byB[k] : p));
      }
      upload.push(await run(`alice-upload-${r}`, ['sync', '--dir', A]));
      merge.push(await run(`bob-merge-${r}`, ['sync', '--dir', B]));
      pull.push(await run(`alice-pull-${r}`, ['sync', '--dir', A]));
      for (let i = 0; i < NOTES; i++) {
        for (const dir of [A, B]) {
          if ((await fs.readFile(notePath(dir, i), 'utf8')) !== render(i, state[i]))
            throw new Error(`round ${r}: ${notePath(dir, i)} does not hold both edits`);
        }
      }
      const names = await fs.readdir(path.join(B, 'notes'));
      if (names.length !== NOTES) throw new Error(`round ${r}: ${names.length - NOTES} extra files (conflict copies?) on bob`);
    }
    const line = (what, xs) => {
      const cpu = xs.map((x) => x.cpuS).filter((c) => c !== null);
      const req = xs.map((x) => x.requests.total);
      const types = Object.entries(xs.at(-1).requests.byType)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      console.log(
        `${what}: wall median ${median(xs.map((x) => x.ms)).toFixed(0)} ms, CPU median ${cpu.length > 0 ? `${median(cpu).toFixed(2)} s` : 'n/a'}, ` +
          `requests median ${median(req)} (last round: ${types}) of ${xs.length} rounds`,
      );
    };
    line('  alice: sync uploading 300 edits', upload);
    line('  bob:   sync merging 300 notes  ', merge);
    line('  alice: sync pulling 300 merges ', pull);
    console.log(
      `  merging / uploading: wall ${(median(merge.map((x) => x.ms)) / median(upload.map((x) => x.ms))).toFixed(2)}x, ` +
        `CPU ${(median(merge.map((x) => x.cpuS ?? 0)) / median(upload.map((x) => x.cpuS ?? 1))).toFixed(2)}x (target: within 2x); every note held both edits`,
    );
  } finally {
    await s3.stop();
    if (!argv.includes('--keep')) await fs.rm(tmp, { recursive: true, force: true });
  }
}
