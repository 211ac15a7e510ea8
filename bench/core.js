#!/usr/bin/env node
// Micro-benchmarks of bm-log's pure core at scale, on the built code in dist/:
//   - projectVersions over 1,000,000 synthetic version records (two history shapes);
//   - planSync over 1,000,000 paths (nothing changed; 1% changed);
//   - SHA-256 throughput: in memory, from disk (one large file, many small files),
//     compared with computeFileHash (dist/local/fs-tree.js).
// Run: node --expose-gc bench/core.js [--events N] [--paths N] [--only projection,plan,hashing] [--json FILE] [--tmp DIR]
// (bench/run.js runs it in a child process with a larger heap and collects the JSON).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { makeRng, textBytes } from './lib/tree.js';
import { dropCaches } from './lib/proc.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// BM_LOG_DIST: the snapshot of dist/ that bench/run.js measures (default: ../dist).
const distDir = process.env.BM_LOG_DIST ?? path.join(here, '..', 'dist');
const dist = (p) => pathToFileURL(path.join(distDir, p)).href;
const { projectVersions, computeHeads } = await import(dist('projections/project-paths.js'));
const { planSync } = await import(dist('reconcile/plan-sync.js'));
const { computeFileHash } = await import(dist('local/fs-tree.js'));
let isIgnored = () => false;
let ignoreNote = 'isIgnored: () => false';
try {
  const { computeIgnoreMatcher } = await import(dist('local/ignore-rules.js'));
  isIgnored = computeIgnoreMatcher('');
  ignoreNote = 'isIgnored: built-in rules (computeIgnoreMatcher)';
} catch {
  // keep the stub
}

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i < 0 ? dflt : args[i + 1];
};
const EVENTS = Number(opt('--events', 1_000_000));
const PATHS = Number(opt('--paths', 1_000_000));
const jsonOut = opt('--json', null);
const tmpBase = opt('--tmp', os.tmpdir());
const seed = Number(opt('--seed', 1));
const only = opt('--only', 'projection,plan,hashing').split(',');

const gc = globalThis.gc ?? (() => {});
const MB = (b) => b / 1048576;
function mem() {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heapUsedMB: MB(m.heapUsed), rssMB: MB(m.rss) };
}
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const results = {
  inputs: { events: EVENTS, paths: PATHS, seed, node: process.version, ignoreNote },
  projection: [],
  plan: [],
  hashing: [],
};
const line = (s) => process.stdout.write(`${s}\n`);

// ---------------------------------------------------------------- synthetic data
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** A valid-looking ULID from a counter (prefix keeps ids of different runs apart). */
function ulid(prefix, n) {
  let s = '';
  for (let i = 0; i < 26 - prefix.length; i++) {
    s = CROCKFORD[n % 32] + s;
    n = Math.floor(n / 32);
  }
  return prefix + s;
}
const hex64 = (n) => createHash('sha256').update(String(n)).digest('hex');
const CLIENTS = [ulid('01CLA', 1), ulid('01CLB', 2), ulid('01CLC', 3)];
const pathOf = (i) =>
  `area-${String(i % 32).padStart(2, '0')}/topic-${String((i >> 5) % 32).padStart(2, '0')}/note-${String(i).padStart(7, '0')}.md`;
const TIME = '2025-01-01T00:00:00.000Z';

/**
 * `events` version records over `paths` paths: each path gets events/paths versions, each
 * replacing the previous one (a linear history), written by clients in turn, 1,000
 * events per segment.
 */
function makeVersions(events, paths) {
  const perPath = Math.max(1, Math.floor(events / paths));
  const out = new Array(events);
  const last = new Array(paths);
  let n = 0;
  for (let round = 0; round < perPath; round++) {
    for (let p = 0; p < paths && n < events; p++, n++) {
      const client = CLIENTS[n % 3];
      const id = ulid('01V', n);
      const seq = Math.floor(n / 1000) + 1;
      out[n] = {
        id,
        path: pathOf(p),
        type: 'put',
        client,
        seq,
        time: TIME,
        replaces: last[p] === undefined ? [] : [last[p]],
        content: { hash: hex64(n), size: 1024 + (n % 7168), mode: 0o644 },
        seen: { [CLIENTS[(n + 1) % 3]]: seq, [CLIENTS[(n + 2) % 3]]: seq },
        snapshot: null,
      };
      last[p] = id;
    }
  }
  return out;
}

// ---------------------------------------------------------------- projection
async function benchProjection(label, events, paths) {
  const m0 = mem();
  let t0 = process.hrtime.bigint();
  let versions = makeVersions(events, paths);
  const buildMs = ms(t0);
  const m1 = mem();
  t0 = process.hrtime.bigint();
  let projection = projectVersions(versions);
  const projectMs = ms(t0);
  const m2 = mem();
  t0 = process.hrtime.bigint();
  let heads = 0;
  for (const st of projection.values()) heads += computeHeads(st).length;
  const headsMs = ms(t0);
  versions = null;
  const m3 = mem();
  const r = {
    label,
    events,
    paths: projection.size,
    versionsPerPath: events / paths,
    buildRecordsMs: buildMs,
    projectMs,
    eventsPerSec: events / (projectMs / 1000),
    computeHeadsAllMs: headsMs,
    heads,
    heapRecordsMB: m1.heapUsedMB - m0.heapUsedMB,
    heapProjectionMB: m2.heapUsedMB - m1.heapUsedMB,
    heapProjectionOnlyMB: m3.heapUsedMB - m0.heapUsedMB,
    rssAfterMB: m2.rssMB,
  };
  projection = null;
  results.projection.push(r);
  line(
    `  ${label.padEnd(44)} project ${fmt(projectMs)} ms (${fmt(r.eventsPerSec / 1e6, 2)} M events/s), computeHeads over all paths ${fmt(headsMs)} ms; heap: records ${fmt(r.heapRecordsMB)} MB, projection +${fmt(r.heapProjectionMB)} MB (projection alone, records freed: ${fmt(r.heapProjectionOnlyMB)} MB); rss ${fmt(r.rssAfterMB)} MB`,
  );
  return r;
}

// ---------------------------------------------------------------- planning
/** base, local scan and cloud projection for `n` paths that agree; `changed` of them differ. */
function makePlanInput(n, changedFraction) {
  const base = new Map();
  const files = new Map();
  const versions = new Array(n);
  const changed = Math.round(n * changedFraction);
  const step = changed > 0 ? Math.floor(n / changed) : Infinity;
  let localEdits = 0;
  let cloudEdits = 0;
  let localDeletes = 0;
  const extra = [];
  for (let i = 0; i < n; i++) {
    const p = pathOf(i);
    const id = ulid('01P', i);
    const hash = hex64(i);
    const size = 1024 + (i % 7168);
    versions[i] = {
      id,
      path: p,
      type: 'put',
      client: CLIENTS[i % 3],
      seq: 1 + Math.floor(i / 1000),
      time: TIME,
      replaces: [],
      content: { hash, size, mode: 0o644 },
      seen: {},
      snapshot: null,
    };
    base.set(p, { path: p, hash, size, mode: 0o644, mtimeMs: 1.7e12 + i, ino: 1000 + i, heads: [id], version: id });
    let local = { path: p, hash, size, mode: 0o644, mtimeMs: 1.7e12 + i, ino: 1000 + i };
    if (i % step === 0 && localEdits + cloudEdits + localDeletes < changed) {
      const kind = (localEdits + cloudEdits + localDeletes) % 3;
      if (kind === 0) {
        local = { ...local, hash: hex64(-i - 1), mtimeMs: local.mtimeMs + 1 };
        localEdits++;
      } else if (kind === 1) {
        extra.push({
          id: ulid('01Q', i),
          path: p,
          type: 'put',
          client: CLIENTS[(i + 1) % 3],
          seq: 5000,
          time: TIME,
          replaces: [id],
          content: { hash: hex64(-i - 1e9), size, mode: 0o644 },
          seen: {},
          snapshot: null,
        });
        cloudEdits++;
      } else {
        local = undefined;
        localDeletes++;
      }
    }
    if (local) files.set(p, local);
  }
  const cloud = projectVersions(versions);
  projectVersions(extra, cloud);
  return {
    input: {
      base,
      local: { files, dirs: new Set(), unreadable: [] },
      cloud,
      options: { subscriptions: [], isIgnored, clientName: (c) => c.slice(-6), self: CLIENTS[0] },
    },
    localEdits,
    cloudEdits,
    localDeletes,
  };
}

async function benchPlan(label, n, fraction) {
  const m0 = mem();
  let t0 = process.hrtime.bigint();
  let made = makePlanInput(n, fraction);
  const buildMs = ms(t0);
  const m1 = mem();
  const runs = [];
  let plan;
  // Three runs (median) up to 300k paths; one at 1M, where a run takes tens of seconds.
  for (let i = 0; i < (n > 300_000 ? 1 : 3); i++) {
    t0 = process.hrtime.bigint();
    plan = planSync(made.input);
    runs.push(ms(t0));
  }
  const mPlan = process.memoryUsage();
  const counts = {};
  for (const op of plan.ops) counts[op.kind] = (counts[op.kind] ?? 0) + 1;
  const m2 = mem();
  const r = {
    label,
    paths: n,
    changed: { localEdits: made.localEdits, cloudEdits: made.cloudEdits, localDeletes: made.localDeletes },
    buildInputsMs: buildMs,
    planMsRuns: runs,
    planMsMedian: median(runs),
    pathsPerSec: n / (median(runs) / 1000),
    ops: counts,
    conflicts: plan.conflicts.length,
    heapInputsMB: m1.heapUsedMB - m0.heapUsedMB,
    heapDuringPlanMB: MB(mPlan.heapUsed),
    heapPlanRetainedMB: m2.heapUsedMB - m1.heapUsedMB,
    rssMB: MB(mPlan.rss),
  };
  made = null;
  plan = null;
  results.plan.push(r);
  line(
    `  ${label.padEnd(44)} plan ${fmt(r.planMsMedian)} ms (${runs.length === 1 ? 'one run' : `median of ${runs.length}`}, ${fmt(r.pathsPerSec / 1e6, 2)} M paths/s); ops ${JSON.stringify(counts)}; heap: inputs ${fmt(r.heapInputsMB)} MB, heap used right after planning ${fmt(r.heapDuringPlanMB)} MB; rss ${fmt(r.rssMB)} MB`,
  );
  return r;
}

// ---------------------------------------------------------------- hashing
function hashInMemory(totalBytes, chunk) {
  const buf = Buffer.alloc(chunk, 7);
  const t0 = process.hrtime.bigint();
  const h = createHash('sha256');
  for (let done = 0; done < totalBytes; done += chunk) h.update(buf);
  h.digest('hex');
  return totalBytes / (ms(t0) / 1000);
}

function hashManySmall(count, size) {
  const buf = Buffer.alloc(size, 7);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) createHash('sha256').update(buf).digest('hex');
  const s = ms(t0) / 1000;
  return { bytesPerSec: (count * size) / s, filesPerSec: count / s };
}

async function hashFilePlain(file) {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  const h = createHash('sha256');
  for (;;) {
    const n = fs.readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    h.update(n === buf.length ? buf : buf.subarray(0, n));
  }
  fs.closeSync(fd);
  return h.digest('hex');
}

async function timeIt(fn) {
  const t0 = process.hrtime.bigint();
  const r = await fn();
  return { ms: ms(t0), r };
}

/** Runs `fn` over `items` with at most `n` in flight (like the scan's HASH_CONCURRENCY = 8). */
async function pool(items, n, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

async function benchHashing() {
  const GiB = 1 << 30;
  const rec = (label, bytesPerSec, extra = {}) => {
    results.hashing.push({ label, GBps: bytesPerSec / 1e9, ...extra });
    line(
      `  ${label.padEnd(64)} ${fmt(bytesPerSec / 1e9, 2)} GB/s${extra.filesPerSec ? `, ${fmt(extra.filesPerSec)} files/s` : ''}${extra.note ? ` (${extra.note})` : ''}`,
    );
  };
  hashInMemory(64 << 20, 1 << 20); // warm-up
  rec('in memory: one 1 GiB stream, 1 MiB updates', hashInMemory(GiB, 1 << 20));
  rec('in memory: one 1 GiB stream, 64 KiB updates (stream chunk size)', hashInMemory(GiB, 64 << 10));
  const small = hashManySmall(100_000, 4608);
  rec('in memory: 100,000 separate 4.5 KiB hashes (digest per file)', small.bytesPerSec, { filesPerSec: small.filesPerSec });

  const dir = await fsp.mkdtemp(path.join(tmpBase, 'bm-log-core-'));
  try {
    const big = path.join(dir, 'big.bin');
    const rng = makeRng(seed);
    const fh = await fsp.open(big, 'w');
    const block = Buffer.allocUnsafe(8 << 20);
    for (let i = 0; i < block.length; i += 4) block.writeUInt32LE(rng.u32(), i);
    for (let i = 0; i < 128; i++) await fh.write(block); // 1 GiB
    await fh.close();
    const size = (await fsp.stat(big)).size;
    await hashFilePlain(big); // warm the page cache
    let t = await timeIt(() => computeFileHash(big));
    rec('from disk (page cache warm): 1 GiB file, computeFileHash', size / (t.ms / 1000));
    t = await timeIt(() => hashFilePlain(big));
    rec('from disk (page cache warm): 1 GiB file, readSync 1 MiB + hash', size / (t.ms / 1000));
    if (dropCaches()) {
      t = await timeIt(() => computeFileHash(big));
      rec('from disk (caches dropped): 1 GiB file, computeFileHash', size / (t.ms / 1000));
      dropCaches();
      t = await timeIt(() => hashFilePlain(big));
      rec('from disk (caches dropped): 1 GiB file, readSync 1 MiB + hash', size / (t.ms / 1000));
    } else {
      line('  (cannot drop the page cache here: cold-cache hashing not measured)');
    }
    await fsp.rm(big);

    // Many small files, like a notes folder: 20,000 files of 1-8 KiB.
    const smallDir = path.join(dir, 'small');
    await fsp.mkdir(smallDir);
    const files = [];
    let bytes = 0;
    for (let i = 0; i < 20_000; i++) {
      const f = path.join(smallDir, `n${i}.md`);
      const b = textBytes(rng, rng.int(1024, 8192));
      bytes += b.length;
      fs.writeFileSync(f, b);
      files.push(f);
    }
    for (const f of files) fs.readFileSync(f); // warm
    t = await timeIt(() => pool(files, 8, (f) => computeFileHash(f)));
    rec('from disk (warm): 20,000 files of 1-8 KiB, computeFileHash ×8 parallel', bytes / (t.ms / 1000), {
      filesPerSec: files.length / (t.ms / 1000),
    });
    t = await timeIt(() =>
      pool(files, 8, async (f) =>
        createHash('sha256')
          .update(await fsp.readFile(f))
          .digest('hex'),
      ),
    );
    rec('from disk (warm): 20,000 files of 1-8 KiB, fs.readFile + hash ×8', bytes / (t.ms / 1000), {
      filesPerSec: files.length / (t.ms / 1000),
    });
    t = await timeIt(async () => {
      for (const f of files) createHash('sha256').update(fs.readFileSync(f)).digest('hex');
    });
    rec('from disk (warm): 20,000 files of 1-8 KiB, readFileSync + hash, serial', bytes / (t.ms / 1000), {
      filesPerSec: files.length / (t.ms / 1000),
    });
    // What a no-op scan pays per file before any hashing: one lstat.
    t = await timeIt(() => pool(files, 8, (f) => fsp.lstat(f)));
    line(`  ${'20,000 files: fs.promises.lstat ×8 (no hashing), for reference'.padEnd(64)} ${fmt(files.length / (t.ms / 1000))} files/s`);
    results.hashing.push({ label: 'stat only: fs.promises.lstat ×8', filesPerSec: files.length / (t.ms / 1000) });
    t = await timeIt(() => Promise.all(files.map((f) => fsp.lstat(f))));
    line(`  ${'20,000 files: fs.promises.lstat, all at once (as FsTree.scan)'.padEnd(64)} ${fmt(files.length / (t.ms / 1000))} files/s`);
    results.hashing.push({ label: 'stat only: fs.promises.lstat, unbounded', filesPerSec: files.length / (t.ms / 1000) });
    t = await timeIt(async () => {
      for (const f of files) fs.lstatSync(f);
    });
    line(`  ${'20,000 files: fs.lstatSync, serial'.padEnd(64)} ${fmt(files.length / (t.ms / 1000))} files/s`);
    results.hashing.push({ label: 'stat only: fs.lstatSync serial', filesPerSec: files.length / (t.ms / 1000) });
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- helpers
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function fmt(x, d = 0) {
  return Number(x).toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

// ---------------------------------------------------------------- main
line(
  `core micro-benchmarks (dist/, node ${process.version}, heap limit ${fmt(MB((await import('node:v8')).getHeapStatistics().heap_size_limit))} MB, gc ${globalThis.gc ? 'exposed' : 'NOT exposed: memory figures are rough'})`,
);
if (only.includes('projection')) {
  line(`projection: projectVersions (dist/projections/project-paths.js) over ${fmt(EVENTS)} synthetic version records`);
  await benchProjection(`${fmt(EVENTS)} events on ${fmt(EVENTS)} paths (1 each)`, EVENTS, EVENTS);
  await benchProjection(`${fmt(EVENTS)} events on ${fmt(EVENTS / 10)} paths (10 each)`, EVENTS, EVENTS / 10);
}
if (only.includes('plan')) {
  line(`planning: planSync (dist/reconcile/plan-sync.js) over ${fmt(PATHS)} paths (${ignoreNote})`);
  await benchPlan(`${fmt(PATHS)} paths, nothing changed`, PATHS, 0);
  await benchPlan(`${fmt(PATHS)} paths, 1% changed (⅓ each: local edit, cloud edit, local delete)`, PATHS, 0.01);
}
if (only.includes('hashing')) {
  line('hashing: SHA-256 (node:crypto) vs computeFileHash (dist/local/fs-tree.js)');
  await benchHashing();
}
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(results, null, 2));
