#!/usr/bin/env node
// bm-log benchmark (issue 8). Run with `npm run bench` (builds dist/ first), or
// `npm run bench -- --quick` for the 10,000-file tree only. See docs/performance.md.
//
// For each tree size it runs, per tool, one or more *pipelines* on a fresh remote:
//   (1) first sync of client A into an empty remote     bm-log: `init --remote` (includes the sync)
//   (2) second client B's first sync from it             bm-log: `init --no-sync`, then `sync` (both timed)
//   (3) no-op sync of A, page cache warm (×repeat), then once with the page cache dropped
//   (4) 100 files changed + 100 added + 100 deleted in A, sync of A; then B pulls them (×repeat);
//       then one more no-op sync of A (longer history)
// for bm-log (local-directory remote and S3), rclone bisync (local and S3) and unison
// (local). S3 is an in-process fauxqs server on 127.0.0.1 that counts requests by type.
// Every command runs in a child process under GNU time (peak RSS, CPU time).
// Options: --quick  --sizes 10k,100k  --suites LIST  --runs N  --runs-large N  --repeat N
//          --runs-s3 N  --repeat-peers-large N  --s3-sizes LIST  --seed N  --no-peers  --no-core  --no-profile  --keep  --tmp DIR
//          --quiet-wait S (wait up to S seconds for other CPU load to settle before each case)
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generateTree, listSmallFiles, mutateTree, treeDigest } from './lib/tree.js';
import { startCountingS3, diffCounts, s3ChildEnv, rcloneS3Env } from './lib/s3.js';
import { runMeasured, runBmLog, dropCaches, gnuTime, repoRoot, bmLogBin, bmLogLauncher, snapshotBuild, ensureTools } from './lib/proc.js';
import { fmtS, table } from './lib/table.js';
import { parseBenchArgs } from './lib/args.js';
import { describeMachine, machineBusySeconds, selfCpuSeconds, othersShare } from './lib/machine.js';
import { summariseCpuProfile, formatSummary } from './lib/cpuprofile.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const t0All = Date.now();

// ------------------------------------------------------------------ options
// The header comment above is the manual (--help prints it).
const { flag, opt } = parseBenchArgs(import.meta.url);
const SIZES = { '10k': 10_000, '100k': 100_000 };
const quick = flag('--quick');
const sizes = (quick ? ['10k'] : opt('--sizes', '10k,100k').split(',')).map((s) => {
  if (SIZES[s] === undefined && !/^\d+$/.test(s)) throw new Error(`--sizes: unknown size ${s}`);
  return { name: s, files: SIZES[s] ?? Number(s) };
});
const ALL_SUITES = ['bm-log/dir', 'bm-log/s3', 'rclone/dir', 'rclone/s3', 'unison/dir'];
let suites = opt('--suites', ALL_SUITES.join(',')).split(',');
if (flag('--no-peers')) suites = suites.filter((s) => s.startsWith('bm-log'));
if (flag('--no-s3')) suites = suites.filter((s) => !s.endsWith('/s3'));
const largest = Math.max(...sizes.map((s) => s.files));
// Pipelines per tool on the small tree: 3 in --quick (so cases 1 and 2 have 3 samples);
// 1 in the full run, which would otherwise not fit in half an hour on 2 cores.
const runsSmall = Number(opt('--runs', quick || sizes.length === 1 ? 3 : 1));
const runsLarge = Number(opt('--runs-large', 1));
// S3 pipelines on the small tree: 3 in --quick, 1 in the full run (which adds the 100k tree).
const runsS3 = Number(opt('--runs-s3', quick || sizes.length === 1 ? 3 : 1));
const repeatAll = Number(opt('--repeat', 3));
// rclone and unison on the largest tree: one no-op/change round by default (rclone bisync
// needs ~30 s per no-op and ~45 s per change at 100k files on this machine).
const repeatPeersLarge = Number(opt('--repeat-peers-large', 1));
// S3 suites at 100k take ~20 more minutes (fauxqs lists by sorting every key per request);
// by default they run on the 10k tree only. `--s3-sizes 10k,100k` adds the large tree.
const s3Sizes = opt('--s3-sizes', '10k').split(',');
const seed = Number(opt('--seed', 20251121));
const quietWait = Number(opt('--quiet-wait', 0));
const profile = !flag('--no-profile');
const keep = flag('--keep');
const spec = (files) => ({ fanout: 32, files, minSize: 1024, maxSize: 8192, largeCount: 3, largeSize: 50 << 20 });

const outDir = path.join(here, 'out');
fs.mkdirSync(outDir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const tmpRoot = await fsp.mkdtemp(path.join(opt('--tmp', os.tmpdir()), 'bm-log-bench-'));
const logDir = path.join(tmpRoot, 'logs');
fs.mkdirSync(logDir);

const say = (s = '') => process.stdout.write(`${s}\n`);
const elapsed = () => `${((Date.now() - t0All) / 1000).toFixed(0)} s`;

let cleaning = false;
async function cleanup() {
  if (cleaning) return;
  cleaning = true;
  if (!keep) await fsp.rm(tmpRoot, { recursive: true, force: true }).catch(() => undefined);
}
for (const sig of ['SIGINT', 'SIGTERM'])
  process.once(sig, async () => {
    say(`\n${sig}: cleaning up ${tmpRoot}`);
    await cleanup();
    process.exit(130);
  });

// ------------------------------------------------------------------ peers
function ensurePeers() {
  const wanted = [];
  if (suites.some((s) => s.startsWith('rclone'))) wanted.push('rclone');
  if (suites.includes('unison/dir')) wanted.push('unison');
  const versions = ensureTools(wanted, say);
  suites = suites.filter((s) => (s.startsWith('rclone') ? versions.rclone : s.startsWith('unison') ? versions.unison : true));
  return versions;
}

// ------------------------------------------------------------------ suites
// fauxqs accepts request bodies up to 11 MiB, so large files must go multipart (as bm-log's
// do: 16 MiB threshold, 8 MiB parts). --fast-list and --use-server-modtime are rclone's
// documented settings for S3 (without them every no-op sync HEADs every object for its mtime).
const RCLONE_S3_FLAGS = ['--fast-list', '--use-server-modtime', '--s3-upload-cutoff', '16M', '--s3-chunk-size', '8M'];

const SUITES = {
  'bm-log/dir': {
    about: 'bm-log, remote = local directory',
    async setup(p) {
      p.remote = path.join(p.dir, 'remote');
      p.env = process.env;
    },
    first: (p) => bm(p, 'first', ['init', '--create', '--remote', p.remote, '--name', 'alice', '--dir', p.A]),
    joinInit: (p) => bm(p, 'join.init', ['init', '--remote', p.remote, '--name', 'bob', '--no-sync', '--dir', p.B]),
    join: (p) => bm(p, 'join', ['sync', '--dir', p.B]),
    syncA: (p, label) => bm(p, label, ['sync', '--dir', p.A]),
    syncB: (p, label) => bm(p, label, ['sync', '--dir', p.B]),
  },
  'bm-log/s3': {
    about: 'bm-log, remote = S3 (fauxqs on 127.0.0.1)',
    async setup(p) {
      p.s3 = await startCountingS3();
      await p.s3.createBucket('bench');
      p.env = s3ChildEnv();
      p.remoteArgs = ['--remote', 's3://bench/vault', '--endpoint', p.s3.endpoint, '--region', 'us-east-1', '--path-style'];
    },
    async teardown(p) {
      await p.s3.stop();
    },
    first: (p) => bm(p, 'first', ['init', '--create', ...p.remoteArgs, '--name', 'alice', '--dir', p.A]),
    joinInit: (p) => bm(p, 'join.init', ['init', ...p.remoteArgs, '--name', 'bob', '--no-sync', '--dir', p.B]),
    join: (p) => bm(p, 'join', ['sync', '--dir', p.B]),
    syncA: (p, label) => bm(p, label, ['sync', '--dir', p.A]),
    syncB: (p, label) => bm(p, label, ['sync', '--dir', p.B]),
  },
  'rclone/dir': {
    about: 'rclone bisync, local ↔ local directory',
    async setup(p) {
      p.remote = path.join(p.dir, 'remote');
      p.work = path.join(p.dir, 'rclone-workdir');
      await fsp.mkdir(p.remote);
      await fsp.mkdir(p.work);
      p.env = { ...process.env, RCLONE_CONFIG: '/nonexistent/bm-log-bench/rclone.conf' };
      p.rc = (label, local, resync) =>
        measure(p, label, 'rclone', ['bisync', local, p.remote, ...(resync ? ['--resync'] : []), '--workdir', p.work]);
    },
    first: (p) => p.rc('first', p.A, true),
    join: (p) => p.rc('join', p.B, true),
    syncA: (p, label) => p.rc(label, p.A, false),
    syncB: (p, label) => p.rc(label, p.B, false),
  },
  'rclone/s3': {
    about: `rclone bisync, local ↔ S3 (fauxqs; ${RCLONE_S3_FLAGS.join(' ')})`,
    async setup(p) {
      p.s3 = await startCountingS3();
      await p.s3.createBucket('bench');
      p.work = path.join(p.dir, 'rclone-workdir');
      await fsp.mkdir(p.work);
      p.env = rcloneS3Env(p.s3.endpoint);
      p.rc = (label, local, resync) =>
        measure(p, label, 'rclone', [
          'bisync',
          local,
          'benchs3:bench/vault',
          ...(resync ? ['--resync'] : []),
          '--workdir',
          p.work,
          ...RCLONE_S3_FLAGS,
        ]);
    },
    async teardown(p) {
      await p.s3.stop();
    },
    first: (p) => p.rc('first', p.A, true),
    join: (p) => p.rc('join', p.B, true),
    syncA: (p, label) => p.rc(label, p.A, false),
    syncB: (p, label) => p.rc(label, p.B, false),
  },
  'unison/dir': {
    about: 'unison -batch, local ↔ local directory',
    async setup(p) {
      p.remote = path.join(p.dir, 'remote');
      await fsp.mkdir(p.remote);
      await fsp.mkdir(path.join(p.dir, 'unison-archives'));
      p.env = { ...process.env, UNISON: path.join(p.dir, 'unison-archives') };
      p.un = (label, local) => measure(p, label, 'unison', [local, p.remote, '-batch', '-silent']);
    },
    first: (p) => p.un('first', p.A),
    join: (p) => p.un('join', p.B),
    syncA: (p, label) => p.un(label, p.A),
    syncB: (p, label) => p.un(label, p.B),
  },
};

// ------------------------------------------------------------------ measuring
async function waitQuiet() {
  if (quietWait <= 0) return null;
  const until = Date.now() + quietWait * 1000;
  let share = await othersShare(500);
  while (share !== null && share > 0.25 && Date.now() < until) share = await othersShare(1000);
  return share;
}

/** Runs one measured command of a pipeline and returns its sample. */
async function measure(p, label, cmd, args, extra = {}) {
  const quiet = await waitQuiet();
  const s3Before = p.s3?.snapshot();
  const busy0 = machineBusySeconds();
  const self0 = selfCpuSeconds();
  const r = await runMeasured(cmd, args, { env: p.env, logDir, label: `${p.id}-${label}`, ...extra });
  const busy1 = machineBusySeconds();
  const cpu = r.userS !== null ? r.userS + r.sysS : null;
  const selfCpu = selfCpuSeconds() - self0;
  const sample = {
    ms: r.ms,
    rssMB: r.rssKB !== null ? r.rssKB / 1024 : null,
    cpuS: cpu,
    // Busy CPU of the whole machine during the command minus the command's own and the
    // bench process's (which hosts the S3 server): work by other processes, as a share of all cores.
    othersShare: busy0 !== null && cpu !== null ? Math.max(0, (busy1 - busy0 - cpu - selfCpu) / ((r.ms / 1000) * os.cpus().length)) : null,
    quietBefore: quiet,
  };
  if (p.s3) sample.requests = diffCounts(s3Before, p.s3.snapshot());
  const synced = /^synced: .*$/m.exec(r.stdoutTail);
  if (synced) sample.note = synced[0];
  return sample;
}

function bm(p, label, args) {
  return measure(p, label, bmLogLauncher, args);
}

// ------------------------------------------------------------------ pipeline
const results = {}; // results[size][suite] = { cases: { case: [samples] }, checks: [], errors: [], profiles: {} }

function record(size, suite, kase, sample) {
  const s = ((results[size] ??= {})[suite] ??= { cases: {}, checks: [], errors: [], profiles: {} });
  (s.cases[kase] ??= []).push(sample);
}
function check(size, suite, what, ok, detail) {
  results[size][suite].checks.push({ what, ok, detail });
  if (!ok) say(`    CHECK FAILED ${what}: ${detail}`);
}

async function runPipeline(size, suiteName, index, srcDir, srcDigest) {
  const suite = SUITES[suiteName];
  const repeat = !suiteName.startsWith('bm-log') && size.files === largest && sizes.length > 1 ? repeatPeersLarge : repeatAll;
  const dir = path.join(tmpRoot, `${size.name}-${suiteName.replace('/', '-')}-${index}`);
  const p = { id: `${size.name}-${suiteName.replace('/', '-')}-${index}`, dir, A: path.join(dir, 'A'), B: path.join(dir, 'B') };
  await fsp.mkdir(dir);
  const t0 = Date.now();
  spawnSync('cp', ['-a', srcDir, p.A]);
  await fsp.mkdir(p.B);
  const show = (kase, s) =>
    say(
      `    ${kase.padEnd(11)} ${fmtS(s.ms).padStart(7)} s  cpu ${s.cpuS?.toFixed(1) ?? '?'} s  rss ${s.rssMB?.toFixed(0) ?? '?'} MB${s.requests ? `  requests ${s.requests.total} ${JSON.stringify(s.requests.byType)}` : ''}${s.othersShare > 0.1 ? `  [other load ${(s.othersShare * 100).toFixed(0)}%]` : ''}${s.note ? `  ${s.note}` : ''}`,
    );
  const rec = (kase, s) => {
    record(size.name, suiteName, kase, s);
    show(kase, s);
    return s;
  };
  say(`  ${suiteName} pipeline ${index + 1} (${elapsed()} elapsed)`);
  try {
    await suite.setup(p);
    rec('first', await suite.first(p));
    if (suite.joinInit) rec('join.init', await suite.joinInit(p));
    rec('join', await suite.join(p));
    const dB = await treeDigest(p.B);
    check(
      size.name,
      suiteName,
      'B equals the generated tree after (2)',
      dB.digest === srcDigest.digest,
      `B ${dB.files} files ${dB.digest}, tree ${srcDigest.files} files ${srcDigest.digest}`,
    );
    for (let i = 0; i < repeat; i++) rec('noop', await suite.syncA(p, 'noop'));
    if (profile && suiteName === 'bm-log/dir' && index === 0) await profileRun(size, p, 'noop', ['sync', '--dir', p.A]);
    if (profile && suiteName === 'bm-log/dir' && index === 0) await phaseRun(size, p);
    if (dropCaches()) rec('noop.cold', await suite.syncA(p, 'noop.cold'));
    // Change rounds; on the first bm-log/dir pipeline one extra round runs under --cpu-prof
    // (not counted in the tables).
    const profiled = profile && suiteName === 'bm-log/dir' && index === 0;
    for (let i = 0; i < repeat + (profiled ? 1 : 0); i++) {
      const files = await listSmallFiles(p.A);
      const m = await mutateTree(p.A, files, seed * 7 + i);
      if (i === repeat) await profileRun(size, p, 'change', ['sync', '--dir', p.A]);
      else rec('change', await suite.syncA(p, 'change'));
      const pull = await suite.syncB(p, 'pull');
      if (i < repeat) rec('pull', pull);
      const [a, b] = await Promise.all([treeDigest(p.A), treeDigest(p.B)]);
      let same = a.digest === b.digest;
      for (const f of [...m.changed, ...m.added]) {
        const [x, y] = await Promise.all([fsp.readFile(path.join(p.A, f)), fsp.readFile(path.join(p.B, f)).catch(() => null)]);
        if (y === null || !x.equals(y)) same = false;
      }
      check(
        size.name,
        suiteName,
        `A and B equal after 300 changes (round ${i + 1})`,
        same,
        `A ${a.files} files ${a.digest}, B ${b.files} files ${b.digest}`,
      );
    }
    // One more no-op after the change rounds: the history is longer now (S3 request counts
    // should not have moved).
    rec('noop.after', await suite.syncA(p, 'noop.after'));
  } catch (e) {
    say(`    ERROR: ${e.message.split('\n').slice(0, 12).join('\n    ')}`);
    results[size.name][suiteName] ??= { cases: {}, checks: [], errors: [], profiles: {} };
    (results[size.name] ??= {})[suiteName].errors.push(e.message.slice(0, 4000));
  } finally {
    await suite.teardown?.(p).catch(() => undefined);
    if (!keep) await fsp.rm(dir, { recursive: true, force: true });
  }
  say(`    (pipeline took ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}

/** One extra, unmeasured-for-the-table bm-log run under --cpu-prof, summarised. */
async function profileRun(size, p, kase, args) {
  const profDir = path.join(outDir, `profile-${stamp}`, `${size.name}-${kase}`);
  fs.mkdirSync(profDir, { recursive: true });
  const s = await measure(p, `${kase}.profiled`, 'node', [bmLogBin, ...args], { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profDir] });
  const file = fs.readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  const summary = summariseCpuProfile(JSON.parse(fs.readFileSync(path.join(profDir, file), 'utf8')));
  const inclusive = {};
  for (const fn of [
    'runSync',
    'fetchLogs',
    'iterateSegments',
    'decodeTrustedSegment',
    'projectVersions',
    'getManifest',
    'scan',
    'planSync',
    'computeTwinConflicts',
    'computePathProblem',
    'checkGuards',
    'executeRound',
    'commitBatch',
    'computeFileHash',
    'summarizeSync',
    'renderSyncJson',
  ]) {
    inclusive[fn] = summary.inclusive(new RegExp(`^${fn}$`));
  }
  const entry = {
    wallMs: s.ms,
    rssMB: s.rssMB,
    note: s.note,
    file: path.relative(repoRoot, path.join(profDir, file)),
    totalMs: summary.totalMs,
    top: summary.byFunction.slice(0, 25),
    byFile: summary.byFile.slice(0, 12),
    inclusive,
  };
  results[size.name]['bm-log/dir'].profiles[kase] = entry;
  say(`    ${kase} under --cpu-prof: ${fmtS(s.ms)} s, rss ${s.rssMB?.toFixed(0)} MB${s.note ? `, ${s.note}` : ''} (profile ${entry.file})`);
  say(formatSummary(summary, 12).replace(/^/gm, '  '));
  say(
    `      inclusive: ${Object.entries(inclusive)
      .filter(([, v]) => v.ms > 0)
      .map(([k, v]) => `${k} ${v.ms.toFixed(0)} ms`)
      .join(', ')}`,
  );
}

/** bench/phases.js on client A: a read-only replay of a no-op sync, phase by phase, with memory. */
async function phaseRun(size, p) {
  const jsonFile = path.join(tmpRoot, `${p.id}-phases.json`);
  try {
    const r = await runMeasured('node', ['--expose-gc', path.join(here, 'phases.js'), '--dir', p.A, '--json', jsonFile], {
      env: p.env,
      logDir,
      label: `${p.id}-phases`,
    });
    const j = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
    results[size.name]['bm-log/dir'].profiles.phases = { ...j, processRssMB: r.rssKB / 1024 };
    say(r.stdoutTail.trimEnd().replace(/^/gm, '    '));
  } catch (e) {
    say(`    phases.js failed: ${e.message.split('\n')[0]}`);
  }
}

/** Extra profiled first sync + join of the smallest tree (fresh remote; not in the tables). */
async function profileFirstSync(size, srcDir) {
  const dir = path.join(tmpRoot, `${size.name}-profile-first`);
  const p = { id: `${size.name}-profile`, dir, A: path.join(dir, 'A'), B: path.join(dir, 'B'), env: process.env };
  await fsp.mkdir(dir);
  spawnSync('cp', ['-a', srcDir, p.A]);
  const remote = path.join(dir, 'remote');
  results[size.name]['bm-log/dir'] ??= { cases: {}, checks: [], errors: [], profiles: {} };
  try {
    say(`  bm-log/dir profiled first sync and second client's first sync (${size.name}; not part of the tables)`);
    await profileRun(size, p, 'first', ['init', '--create', '--remote', remote, '--name', 'alice', '--dir', p.A]);
    await runBmLog(['init', '--remote', remote, '--name', 'bob', '--no-sync', '--dir', p.B], { logDir, label: 'profile-joininit' });
    await profileRun(size, p, 'join', ['sync', '--dir', p.B]);
  } finally {
    if (!keep) await fsp.rm(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ core micro-benchmarks
async function runCore() {
  const n = quick ? 200_000 : 1_000_000;
  say(`\n== core micro-benchmarks (bench/core.js, ${n.toLocaleString('en-US')} events / paths) ==`);
  // Two processes: the hashing figures are not measured in a process that has just built
  // and dropped gigabytes of projection and plan inputs (its GC state skews small-file runs).
  const merged = {};
  for (const part of ['projection,plan', 'hashing']) {
    const jsonFile = path.join(tmpRoot, `core-${part.replace(',', '-')}.json`);
    const r = spawnSync(
      process.execPath,
      [
        '--expose-gc',
        '--max-old-space-size=12288',
        path.join(here, 'core.js'),
        '--only',
        part,
        '--events',
        String(n),
        '--paths',
        String(n),
        '--json',
        jsonFile,
        '--tmp',
        tmpRoot,
        '--seed',
        String(seed),
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    if (r.status !== 0 || !fs.existsSync(jsonFile)) {
      say(`core.js --only ${part} failed (exit ${r.status})`);
      continue;
    }
    const j = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
    merged.inputs = j.inputs;
    for (const k of ['projection', 'plan', 'hashing']) if (j[k].length > 0) merged[k] = j[k];
  }
  for (const k of ['projection', 'plan', 'hashing']) merged[k] ??= [];
  return merged.inputs ? merged : null;
}

// ------------------------------------------------------------------ report
const median = (xs) => {
  const s = xs.filter((x) => x !== null && x !== undefined).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const CASES = [
  ['first', '(1) first sync into an empty remote (bm-log: init incl. sync)'],
  ['join.init', '(2a) bm-log only: B `init --no-sync`'],
  ['join', "(2) second client's first sync (bm-log: sync after 2a)"],
  ['noop', '(3) no-op sync, warm cache'],
  ['noop.cold', '(3b) no-op sync, page cache dropped'],
  ['change', '(4) sync after 100 changed + 100 added + 100 deleted'],
  ['pull', '(4b) second client pulls those 300 changes'],
  ['noop.after', '(3c) no-op sync after the change rounds (longer history)'],
];

function summarise() {
  const summary = {};
  for (const [size, bySuite] of Object.entries(results)) {
    summary[size] = {};
    for (const [suite, r] of Object.entries(bySuite)) {
      summary[size][suite] = {};
      for (const [kase, samples] of Object.entries(r.cases)) {
        const req = samples.filter((s) => s.requests);
        const medReq = req.length ? req.slice().sort((a, b) => a.requests.total - b.requests.total)[req.length >> 1].requests : undefined;
        summary[size][suite][kase] = {
          n: samples.length,
          medianS: median(samples.map((s) => s.ms)) / 1000,
          minS: Math.min(...samples.map((s) => s.ms)) / 1000,
          maxS: Math.max(...samples.map((s) => s.ms)) / 1000,
          medianCpuS: median(samples.map((s) => s.cpuS)),
          peakRssMB: Math.max(...samples.map((s) => s.rssMB ?? 0)),
          medianRssMB: median(samples.map((s) => s.rssMB ?? 0)),
          medianOthersShare: median(samples.map((s) => s.othersShare)),
          ...(medReq ? { requests: medReq } : {}),
        };
      }
    }
  }
  return summary;
}

function printReport(summary, core, inputs) {
  say('\n================================================================ RESULTS');
  say(
    `inputs: seed ${seed}; trees: ${inputs.trees.map((t) => `${t.name} = ${t.smallFiles.toLocaleString('en-US')} files of 1-8 KiB in ${t.folders} folders + ${t.largeFiles} × 50 MiB = ${(t.bytes / 1e6).toFixed(0)} MB`).join('; ')}`,
  );
  say(
    `runs: ${runsSmall} pipeline(s) per local tool and ${runsS3} per S3 tool on trees < ${largest.toLocaleString('en-US')} files, ${runsLarge} on the largest (when more than one size); ${repeatAll} no-op and ${repeatAll} change rounds per pipeline (${repeatPeersLarge} for rclone and unison on the largest tree); S3 suites on ${s3Sizes.join(', ')}`,
  );
  say('cells: median wall seconds (number of samples), peak RSS of the process in MB. CPU = user+sys of the process.');
  for (const [size, bySuite] of Object.entries(summary)) {
    const cols = ALL_SUITES.filter((s) => bySuite[s] && Object.keys(bySuite[s]).length > 0);
    say(`\n--- ${size} files`);
    const rows = [['case', ...cols]];
    for (const [k, label] of CASES) {
      if (!cols.some((c) => bySuite[c][k])) continue;
      rows.push([
        label,
        ...cols.map((c) =>
          bySuite[c][k] ? `${fmtS(bySuite[c][k].medianS * 1000)} s (${bySuite[c][k].n}) ${bySuite[c][k].peakRssMB.toFixed(0)} MB` : '-',
        ),
      ]);
    }
    say(table(rows));
    const cpuRows = [['CPU seconds (median) / other load', ...cols]];
    for (const [k, label] of CASES) {
      if (!cols.some((c) => bySuite[c][k])) continue;
      cpuRows.push([
        label.slice(0, 5),
        ...cols.map((c) =>
          bySuite[c][k]
            ? `${bySuite[c][k].medianCpuS?.toFixed(2) ?? '?'} / ${bySuite[c][k].medianOthersShare !== null ? `${(bySuite[c][k].medianOthersShare * 100).toFixed(0)}%` : '?'}`
            : '-',
        ),
      ]);
    }
    say(table(cpuRows));
    const ratios = [['ratio (median wall)', 'bm-log dir / rclone dir', 'bm-log dir / unison', 'bm-log s3 / rclone s3']];
    const ratio = (a, b, k) =>
      bySuite[a]?.[k] && bySuite[b]?.[k] ? `${(bySuite[a][k].medianS / bySuite[b][k].medianS).toFixed(2)}×` : '-';
    for (const [k, label] of CASES) {
      if (k === 'join.init') continue;
      ratios.push([
        label.slice(0, 5),
        ratio('bm-log/dir', 'rclone/dir', k),
        ratio('bm-log/dir', 'unison/dir', k),
        ratio('bm-log/s3', 'rclone/s3', k),
      ]);
    }
    say(table(ratios));
    for (const s3suite of ['bm-log/s3', 'rclone/s3']) {
      if (!bySuite[s3suite]) continue;
      const r = [[`${s3suite}: S3 requests (median sample)`, 'total', 'by type']];
      for (const [k, label] of CASES)
        if (bySuite[s3suite][k]?.requests)
          r.push([
            label.slice(0, 5),
            bySuite[s3suite][k].requests.total,
            Object.entries(bySuite[s3suite][k].requests.byType)
              .map(([t, n]) => `${t} ${n}`)
              .join(', '),
          ]);
      say(table(r));
    }
  }
  if (core) {
    say('\n--- core (see above for details)');
    for (const p of core.projection)
      say(`projection: ${p.label}: ${p.projectMs.toFixed(0)} ms, projection heap ${p.heapProjectionOnlyMB.toFixed(0)} MB`);
    for (const p of core.plan)
      say(`planning:   ${p.label}: ${p.planMsMedian.toFixed(0)} ms, heap right after ${p.heapDuringPlanMB.toFixed(0)} MB`);
    for (const h of core.hashing)
      if (h.GBps !== undefined)
        say(`hashing:    ${h.label}: ${h.GBps.toFixed(2)} GB/s${h.filesPerSec ? ` (${h.filesPerSec.toFixed(0)} files/s)` : ''}`);
  }
  const big = summary[sizes.find((s) => s.files === largest)?.name];
  if (big) {
    say(`\n--- targets (${largest.toLocaleString('en-US')} files, warm cache)`);
    const bd = big['bm-log/dir'] ?? {};
    const un = big['unison/dir'] ?? {};
    const t = [['target', 'measured', 'met?']];
    if (bd.noop) t.push(['no-op sync < 1.0 s', `${fmtS(bd.noop.medianS * 1000)} s`, bd.noop.medianS < 1 ? 'yes' : 'NO']);
    if (bd.noop && un.noop)
      t.push([
        'no-op sync faster than unison',
        `${fmtS(bd.noop.medianS * 1000)} s vs ${fmtS(un.noop.medianS * 1000)} s`,
        bd.noop.medianS < un.noop.medianS ? 'yes' : 'NO',
      ]);
    if (bd.change)
      t.push(['300 changes < 1.5 s + transfer', `${fmtS(bd.change.medianS * 1000)} s`, bd.change.medianS < 1.5 ? 'yes' : 'NO']);
    const s3noop = Object.entries(summary)
      .flatMap(([size, s]) => ['noop', 'noop.after'].map((k) => [`${size} ${k}`, s['bm-log/s3']?.[k]?.requests?.total]))
      .filter(([, n]) => n !== undefined);
    if (s3noop.length)
      t.push([
        'no-op requests: small constant',
        s3noop.map(([where, n]) => `${n} (${where})`).join(', '),
        s3noop.every(([, n]) => n <= 5) && new Set(s3noop.map(([, n]) => n)).size === 1 ? 'yes' : 'check',
      ]);
    const rss = Math.max(...Object.values(bd).map((c) => c.peakRssMB ?? 0));
    if (bd.noop)
      t.push([
        'peak RSS < 150 MB: no-op sync (median sample; largest)',
        `${bd.noop.medianRssMB.toFixed(0)} MB; ${bd.noop.peakRssMB.toFixed(0)} MB`,
        bd.noop.medianRssMB < 150 ? 'yes' : 'NO',
      ]);
    if (Object.keys(bd).length) t.push(['peak RSS < 150 MB: every bm-log process', `${rss.toFixed(0)} MB`, rss < 150 ? 'yes' : 'NO']);
    if (core) {
      const mem = core.hashing.find((h) => h.label.startsWith('in memory: one 1 GiB stream, 1 MiB'));
      const disk = core.hashing.find((h) => h.label.includes('warm') && h.label.includes('1 GiB file, computeFileHash'));
      // Small files as the scan hashes them (one readFileSync each, up to 256 KiB): bound by
      // per-file open/read/close, so judged on their own line.
      const small = core.hashing.find((h) => h.label.includes('readFileSync + hash, serial'));
      if (mem && disk)
        t.push([
          'hashing near SHA-256 speed (~1.6 GB/s mem, ~1.1 GB/s disk)',
          `mem ${mem.GBps.toFixed(2)}, computeFileHash 1 GiB ${disk.GBps.toFixed(2)} GB/s`,
          disk.GBps > 0.8 * mem.GBps ? 'yes' : 'NO',
        ]);
      if (small)
        t.push([
          'small files (1-8 KiB) as the scan hashes them',
          `${small.GBps.toFixed(2)} GB/s, ${small.filesPerSec.toFixed(0)} files/s`,
          'per-file I/O bound',
        ]);
    }
    say(table(t));
  }
}

// ------------------------------------------------------------------ main
const machine = describeMachine(tmpRoot);
say(`bm-log bench — ${new Date().toISOString()}`);
say(
  `machine: ${machine.cpu}, ${machine.cores} cores${machine.shaNi ? ' (SHA-NI)' : ''}, ${machine.memGiB} GiB, ${machine.os}, ${machine.kernel}, virt: ${machine.virtualisation}`,
);
say(
  `node ${machine.node} (OpenSSL ${machine.openssl}); temp: ${tmpRoot} (${machine.tmpFs}); load average ${machine.loadavgAtStart.join(' ')}`,
);
const git = spawnSync('git', ['-C', repoRoot, 'describe', '--always', '--dirty'], { encoding: 'utf8' }).stdout.trim();
const distHash = snapshotBuild(path.join(tmpRoot, 'bm-log'));
say(
  `bm-log: ${git}, dist/ built from the working tree and snapshotted (content hash ${distHash}) to ${path.join(tmpRoot, 'bm-log')}; GNU time: ${gnuTime ?? 'missing (node wrapper for RSS; peers without RSS)'}`,
);
const peerVersions = ensurePeers();
say(`peers: rclone ${peerVersions.rclone ?? 'missing'}; unison ${peerVersions.unison ?? 'missing'}`);
say(`seed ${seed}; sizes ${sizes.map((s) => s.name).join(', ')}; suites ${suites.join(', ')}; S3 suites on ${s3Sizes.join(', ')}`);
const canDrop = dropCaches();
say(
  `page cache drop (echo 3 > /proc/sys/vm/drop_caches): ${canDrop ? 'works: cold no-op cases included' : 'not permitted: cold cases skipped'}`,
);

// Fixed cost of every command: node start + loading the CLI's modules (`bm-log --version`).
const startupSamples = [];
for (let i = 0; i < 5; i++) startupSamples.push((await runBmLog(['--version'], { logDir, label: 'startup' })).ms);
say(
  `bm-log --version (node start + module loading): median ${fmtS(median(startupSamples) * 1)} s of ${startupSamples.map((x) => x.toFixed(0)).join(', ')} ms`,
);

const inputs = { seed, trees: [], runsSmall, runsS3, runsLarge, repeat: repeatAll, repeatPeersLarge, s3Sizes, suites, quick };
try {
  for (const size of sizes) {
    const src = path.join(tmpRoot, `tree-${size.name}`);
    const treeSeed = seed + size.files;
    say(`\n== ${size.files.toLocaleString('en-US')} files: generating (seed ${treeSeed}) ...`);
    const t = Date.now();
    const gen = await generateTree(src, spec(size.files), treeSeed);
    const srcDigest = await treeDigest(src);
    inputs.trees.push({ name: size.name, seed: treeSeed, ...spec(size.files), ...gen, digest: srcDigest.digest });
    say(
      `   ${gen.smallFiles} files of 1-8 KiB + ${gen.largeFiles} × 50 MiB in ${gen.folders} folders, ${(gen.bytes / 1e6).toFixed(0)} MB, in ${((Date.now() - t) / 1000).toFixed(0)} s`,
    );
    results[size.name] = {};
    const runsFor = (suiteName) =>
      size.files === largest && sizes.length > 1 ? runsLarge : suiteName.endsWith('/s3') ? runsS3 : runsSmall;
    if (profile && suites.includes('bm-log/dir') && size === sizes[0] && size.files <= 10_000) await profileFirstSync(size, src);
    for (const suiteName of suites) {
      if (suiteName.endsWith('/s3') && !s3Sizes.includes(size.name)) continue;
      for (let i = 0; i < runsFor(suiteName); i++) await runPipeline(size, suiteName, i, src, srcDigest);
    }
    await fsp.rm(src, { recursive: true, force: true });
  }
  const core = flag('--no-core') ? null : await runCore();
  const summary = summarise();
  printReport(summary, core, inputs);
  const out = {
    machine,
    bmLog: { git, distHash, startupMs: startupSamples },
    peers: peerVersions,
    inputs,
    summary,
    samples: results,
    core,
    totalSeconds: (Date.now() - t0All) / 1000,
  };
  const file = path.join(outDir, `bench-${stamp}${quick ? '-quick' : ''}.json`);
  fs.writeFileSync(file, JSON.stringify(out, null, 2));
  fs.writeFileSync(path.join(outDir, `latest${quick ? '-quick' : ''}.json`), JSON.stringify(out, null, 2));
  say(
    `\nJSON: ${path.relative(process.cwd(), file)}; total ${elapsed()}; load average now ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
} finally {
  await cleanup();
}
