#!/usr/bin/env node
// bm-log on a bucket with latency, side by side with rclone (issue 25). Run with
// `npm run bench:bucket` (builds dist/ first), or `npm run bench:bucket -- --quick`.
//
// Every pipeline gets a fresh in-process S3 server (fauxqs) behind bench/lib/latency-proxy.js
// on 127.0.0.1, which holds each request for a fixed delay (one round trip to a distant
// bucket) and counts requests by method and S3 type and body bytes both ways. On the same
// seeded tree of small Markdown notes each tool runs, through the proxy:
//   (1) first   client A's first sync into an empty bucket (bm-log: `init --create`, sync included)
//   (2) noop    the same sync again, nothing changed
//   (3) change  after 100 notes changed, 100 added, 100 deleted (the same edit for every tool)
// Tools: bm-log; `rclone copy` and `rclone bisync` (bisync: `--resync` on the first run),
// each with rclone's default flags and with `--transfers 32`, on an env-only S3 remote.
// rclone copy never deletes: its (3) uploads the changed and added notes only.
// After the measured cases, bm-log's pipeline joins a second client with the delay set to 0
// (not measured) and checks that it holds A's tree; rclone's bucket is listed and counted.
// Options: --quick (1,000 notes at 0 and 20 ms)  --sizes 1000,10000  --latencies 0,20,80
//          --tools LIST  --seed N  --no-verify  --keep  --tmp DIR
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generateTree, listSmallFiles, mutateTree, treeDigest } from './lib/tree.js';
import { startCountingS3, s3ChildEnv, rcloneS3Env } from './lib/s3.js';
import { startLatencyProxy, diffProxyCounts } from './lib/latency-proxy.js';
import { runMeasured, repoRoot, bmLogLauncher, snapshotBuild, ensureTools } from './lib/proc.js';
import { fmtS, table } from './lib/table.js';
import { parseBenchArgs } from './lib/args.js';
import { describeMachine, machineBusySeconds, selfCpuSeconds } from './lib/machine.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// The header comment above is the manual (--help prints it).
const { flag, opt } = parseBenchArgs(import.meta.url);
const quick = flag('--quick');
const sizes = opt('--sizes', quick ? '1000' : '1000,10000')
  .split(',')
  .map(Number);
const latencies = opt('--latencies', quick ? '0,20' : '0,20,80')
  .split(',')
  .map(Number);
const ALL_TOOLS = ['bm-log', 'rclone-copy', 'rclone-copy-t32', 'rclone-bisync', 'rclone-bisync-t32'];
const tools = opt('--tools', ALL_TOOLS.join(',')).split(',');
for (const t of tools) if (!ALL_TOOLS.includes(t)) throw new Error(`--tools: unknown tool ${t} (known: ${ALL_TOOLS.join(', ')})`);
if (sizes.some((n) => !Number.isInteger(n) || n < 300) || latencies.some((n) => !Number.isFinite(n) || n < 0)) {
  throw new Error('--sizes: whole numbers of notes, at least 300; --latencies: milliseconds, 0 or more');
}
const seed = Number(opt('--seed', 20261207));
const verify = !flag('--no-verify');
const keep = flag('--keep');
/** Small Markdown notes only (no large files): 1-8 KiB in 16×16 folders. */
const spec = (files) => ({ fanout: 16, files, minSize: 1024, maxSize: 8192, largeCount: 0, largeSize: 0 });

const say = (s = '') => process.stdout.write(`${s}\n`);
const t0All = Date.now();
const elapsed = () => `${((Date.now() - t0All) / 1000).toFixed(0)} s`;
const tmpRoot = await fsp.mkdtemp(path.join(opt('--tmp', os.tmpdir()), 'bm-log-bucket-'));
const logDir = path.join(tmpRoot, 'logs');
fs.mkdirSync(logDir);

// ------------------------------------------------------------------ tools
const bucketArgs = (p) => ['--remote', 's3://bench/vault', '--endpoint', p.proxy.endpoint, '--region', 'us-east-1', '--path-style'];
const bmTool = {
  about: 'bm-log (launcher bin/bm-log, default settings)',
  env: () => s3ChildEnv(),
  first: (p) => [bmLogLauncher, ['init', '--create', ...bucketArgs(p), '--name', 'alice', '--dir', p.A]],
  again: (p) => [bmLogLauncher, ['sync', '--dir', p.A]],
};
const rcloneCopy = (extra) => ({
  about: `rclone copy A benchs3:bench/vault${extra.length ? ` ${extra.join(' ')}` : ' (default flags)'}`,
  env: (p) => rcloneS3Env(p.proxy.endpoint),
  first: (p) => ['rclone', ['copy', p.A, 'benchs3:bench/vault', ...extra]],
  again: (p) => ['rclone', ['copy', p.A, 'benchs3:bench/vault', ...extra]],
});
const rcloneBisync = (extra) => ({
  about: `rclone bisync A benchs3:bench/vault --workdir W${extra.length ? ` ${extra.join(' ')}` : ' (default flags)'}; --resync on (1)`,
  env: (p) => rcloneS3Env(p.proxy.endpoint),
  first: (p) => ['rclone', ['bisync', p.A, 'benchs3:bench/vault', '--resync', '--workdir', p.work, ...extra]],
  again: (p) => ['rclone', ['bisync', p.A, 'benchs3:bench/vault', '--workdir', p.work, ...extra]],
});
const TOOLS = {
  'bm-log': bmTool,
  'rclone-copy': rcloneCopy([]),
  'rclone-copy-t32': rcloneCopy(['--transfers', '32']),
  'rclone-bisync': rcloneBisync([]),
  'rclone-bisync-t32': rcloneBisync(['--transfers', '32']),
};

// ------------------------------------------------------------------ measuring
/** Runs one command of a pipeline through the proxy; returns wall time, requests, bytes and other load. */
async function measure(p, label, [cmd, args]) {
  const before = p.proxy.snapshot();
  const busy0 = machineBusySeconds();
  const self0 = selfCpuSeconds();
  const r = await runMeasured(cmd, args, { env: p.env, logDir, label: `${p.id}-${label}` });
  const cpu = r.userS !== null ? r.userS + r.sysS : null;
  const others =
    busy0 !== null && cpu !== null
      ? (machineBusySeconds() - busy0 - cpu - (selfCpuSeconds() - self0)) / ((r.ms / 1000) * os.cpus().length)
      : null;
  const synced = /^synced: .*$/m.exec(r.stdoutTail);
  return {
    ms: r.ms,
    cpuS: cpu,
    othersShare: others === null ? null : Math.max(0, others),
    ...diffProxyCounts(before, p.proxy.snapshot()),
    note: synced?.[0],
  };
}

/** Keys under `prefix` in the bucket, read from the server directly (not through the proxy). */
async function countKeys(endpoint, bucket, prefix) {
  let n = 0;
  let token = '';
  for (;;) {
    const q = new URLSearchParams({ 'list-type': '2', prefix, ...(token ? { 'continuation-token': token } : {}) });
    const xml = await (await fetch(`${endpoint}/${bucket}?${q}`)).text();
    n += (xml.match(/<Key>/g) ?? []).length;
    token = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1] ?? '';
    if (!/<IsTruncated>true<\/IsTruncated>/.test(xml)) return n;
  }
}

const fmtTypes = (t) =>
  Object.entries(t)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
const fmtBytes = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(0)} kB`);

// ------------------------------------------------------------------ pipeline
/** Verification after the measured cases (delay 0): bm-log joins a second client; rclone's bucket is counted. */
async function verifyPipeline(p, toolName, tree) {
  p.proxy.setDelay(0);
  if (toolName === 'bm-log') {
    const B = path.join(p.dir, 'B');
    await fsp.mkdir(B);
    await runMeasured(bmLogLauncher, ['init', ...bucketArgs(p), '--name', 'bob', '--dir', B], {
      env: p.env,
      logDir,
      label: `${p.id}-verify`,
    });
    const [a, b] = await Promise.all([treeDigest(p.A, { content: true }), treeDigest(B, { content: true })]);
    const detail = `A ${a.files} files ${a.digest}, B ${b.files} files ${b.digest}`;
    return { what: "a second client joined (delay 0) holds A's tree", ok: a.digest === b.digest, detail };
  }
  const keys = await countKeys(p.s3.endpoint, 'bench', 'vault/');
  const copy = toolName.startsWith('rclone-copy');
  const want = copy ? tree.files + 100 : tree.files;
  const what = `bucket holds ${want} objects${copy ? ' (copy keeps the 100 deleted notes)' : ''}`;
  return { what, ok: keys === want, detail: `${keys} objects under vault/` };
}

async function runPipeline(size, latency, toolName, srcDir, tree) {
  const tool = TOOLS[toolName];
  const id = `${size}-${latency}ms-${toolName}`;
  const dir = path.join(tmpRoot, id);
  const p = { id, dir, A: path.join(dir, 'A'), work: path.join(dir, 'rclone-workdir') };
  await fsp.mkdir(p.work, { recursive: true });
  spawnSync('cp', ['-a', srcDir, p.A]);
  p.s3 = await startCountingS3();
  await p.s3.createBucket('bench');
  p.proxy = await startLatencyProxy({ upstream: p.s3.endpoint, delayMs: latency });
  p.env = tool.env(p);
  const out = { tool: toolName, about: tool.about, latencyMs: latency, notes: size, cases: {}, checks: [], errors: [] };
  say(`  ${toolName} at ${latency} ms (${elapsed()} elapsed)`);
  try {
    for (const kase of ['first', 'noop', 'change']) {
      if (kase === 'change') await mutateTree(p.A, await listSmallFiles(p.A), seed * 7 + size);
      const s = await measure(p, kase, kase === 'first' ? tool.first(p) : tool.again(p));
      out.cases[kase] = s;
      const load = s.othersShare > 0.1 ? `  [other load ${(s.othersShare * 100).toFixed(0)}%]` : '';
      const traffic = `requests ${s.requests} (${fmtTypes(s.byType)}) on ${s.connections} connection(s)  in ${fmtBytes(s.bytesIn)} out ${fmtBytes(s.bytesOut)}`;
      say(`    ${kase.padEnd(6)} ${fmtS(s.ms).padStart(7)} s  ${traffic}${load}${s.note ? `  ${s.note}` : ''}`);
    }
    if (verify) {
      const c = await verifyPipeline(p, toolName, tree);
      out.checks.push(c);
      say(`    check: ${c.what}: ${c.ok ? 'ok' : 'FAILED'} (${c.detail})`);
    }
  } catch (e) {
    say(`    ERROR: ${e.message.split('\n').slice(0, 12).join('\n    ')}`);
    out.errors.push(e.message.slice(0, 4000));
  } finally {
    await p.proxy.stop();
    await p.s3.stop();
    if (!keep) await fsp.rm(dir, { recursive: true, force: true });
  }
  return out;
}

// ------------------------------------------------------------------ report

function printReport(results, inputs) {
  say('\n================================================================ RESULTS');
  const trees = inputs.trees.map(
    (t) => `${t.notes.toLocaleString('en-US')} notes (seed ${t.seed}, ${(t.bytes / 1e6).toFixed(1)} MB, digest ${t.digest})`,
  );
  say(`inputs: ${trees.join('; ')}`);
  say('change = 100 notes changed + 100 added + 100 deleted (same edit for every tool); one sample per cell');
  say('conns = TCP connections opened to the proxy; in = body bytes sent to the bucket, out = received');
  for (const size of sizes) {
    for (const latency of latencies) {
      const rows = [['tool', 'case', 'wall s', 'requests', 'by type', 'conns', 'in', 'out', 'req/note']];
      for (const r of results.filter((x) => x.notes === size && x.latencyMs === latency)) {
        for (const [kase, s] of Object.entries(r.cases)) {
          const perNote = kase === 'first' ? (s.requests / size).toFixed(2) : '';
          rows.push([
            r.tool,
            kase,
            fmtS(s.ms),
            s.requests,
            fmtTypes(s.byType),
            s.connections,
            fmtBytes(s.bytesIn),
            fmtBytes(s.bytesOut),
            perNote,
          ]);
        }
        if (r.errors.length) rows.push([r.tool, 'ERROR', '', '', r.errors[0].split('\n')[0].slice(0, 100), '', '', '', '']);
      }
      say(`\n--- ${size.toLocaleString('en-US')} notes, ${latency} ms per request`);
      say(table(rows));
    }
    const ratioRows = [['bm-log / peer (wall)', ...latencies.flatMap((l) => ['first', 'noop', 'change'].map((k) => `${k} ${l}ms`))]];
    const cell = (tool, l, k) => results.find((x) => x.notes === size && x.latencyMs === l && x.tool === tool)?.cases[k];
    for (const peer of tools.filter((t) => t !== 'bm-log')) {
      ratioRows.push([
        peer,
        ...latencies.flatMap((l) =>
          ['first', 'noop', 'change'].map((k) => {
            const a = cell('bm-log', l, k);
            const b = cell(peer, l, k);
            return a && b ? `${(a.ms / b.ms).toFixed(2)}x` : '-';
          }),
        ),
      ]);
    }
    if (tools.includes('bm-log') && ratioRows.length > 1) {
      say(`\n--- ${size.toLocaleString('en-US')} notes: ratios`);
      say(table(ratioRows));
    }
  }
  const failed = results.flatMap((r) => r.checks.filter((c) => !c.ok).map((c) => `${r.notes} ${r.latencyMs}ms ${r.tool}: ${c.what}`));
  const errored = results.filter((r) => r.errors.length).map((r) => `${r.notes} ${r.latencyMs}ms ${r.tool}`);
  say(
    `\nchecks: ${failed.length === 0 ? 'all passed' : `FAILED: ${failed.join('; ')}`}${errored.length ? `; errors in: ${errored.join(', ')}` : ''}`,
  );
}

// ------------------------------------------------------------------ main
async function main() {
  const machine = describeMachine(tmpRoot);
  say(`bm-log bucket bench — ${new Date().toISOString()}`);
  say(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB, ${machine.os}; node ${machine.node}`);
  say(`load average at start ${machine.loadavgAtStart.join(' ')} (a shared machine: compare within this run)`);
  const git = spawnSync('git', ['-C', repoRoot, 'describe', '--always', '--dirty'], { encoding: 'utf8' }).stdout.trim();
  const distHash = snapshotBuild(path.join(tmpRoot, 'bm-log'));
  say(`bm-log: ${git} (dist/ snapshot ${distHash})`);
  const peers = tools.some((t) => t.startsWith('rclone')) ? ensureTools(['rclone'], say) : {};
  say(`rclone: ${peers.rclone ?? 'not used or missing'}`);
  const runTools = tools.filter((t) => !t.startsWith('rclone') || peers.rclone);
  say(`seed ${seed}; notes ${sizes.join(', ')}; latencies ${latencies.join(', ')} ms; tools ${runTools.join(', ')}`);
  for (const t of runTools) say(`  ${t}: ${TOOLS[t].about}`);
  const inputs = { seed, sizes, latencies, tools: runTools, trees: [] };
  const results = [];
  for (const size of sizes) {
    const src = path.join(tmpRoot, `tree-${size}`);
    const gen = await generateTree(src, spec(size), seed + size);
    const digest = await treeDigest(src, { content: true });
    const tree = { notes: size, seed: seed + size, ...spec(size), ...gen, digest: digest.digest };
    inputs.trees.push(tree);
    const mb = (gen.bytes / 1e6).toFixed(1);
    say(
      `\n== ${size.toLocaleString('en-US')} notes of 1-8 KiB in ${gen.folders} folders, ${mb} MB (seed ${tree.seed}, digest ${tree.digest})`,
    );
    for (const latency of latencies) for (const t of runTools) results.push(await runPipeline(size, latency, t, src, tree));
    await fsp.rm(src, { recursive: true, force: true });
  }
  printReport(results, inputs);
  const outDir = path.join(here, 'out');
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `bucket-${new Date().toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`);
  fs.writeFileSync(
    file,
    JSON.stringify({ machine, bmLog: { git, distHash }, peers, inputs, results, totalSeconds: (Date.now() - t0All) / 1000 }, null, 2),
  );
  say(
    `\nJSON: ${path.relative(process.cwd(), file)}; total ${elapsed()}; load average now ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
}

for (const sig of ['SIGINT', 'SIGTERM'])
  process.once(sig, async () => {
    if (!keep) await fsp.rm(tmpRoot, { recursive: true, force: true }).catch(() => undefined);
    process.exit(130);
  });
try {
  await main();
} finally {
  if (!keep) await fsp.rm(tmpRoot, { recursive: true, force: true }).catch(() => undefined);
}
