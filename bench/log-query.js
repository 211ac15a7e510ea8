#!/usr/bin/env node
// Audit queries on long histories, on the built code in dist/:
//   builds a real LocalIndex (dist/local/local-index.js) from real signed segments
//   (encodeSegment, dist/events/codec.js): 1,000,000 events over 100,000 paths, 10,000
//   events per segment, one hot path with a version in every one of 100 segments;
//   then times
//   - getPathHistory(path), the per-path index `bm-log log PATH` reads: hot, cold, absent path;
//   - readPathHistory(path) (dist/cli/history-commands.js): all of `log PATH`, moves included;
//   - a full scan: iterateSegments + decode + flatten, keeping one path's versions (what
//     answering `log PATH` without the index would take);
//   - readLogState: the whole fold `bm-log log` (no PATH) runs.
// Run: node --expose-gc bench/log-query.js [--events N] [--paths N] [--per-segment N] [--hot N]
//        [--clients N] [--delete-every N] [--runs N] [--tmp DIR] [--keep] [--json FILE]
// BM_LOG_DIST: another build's dist/ to measure (default: ../dist).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const distDir = process.env.BM_LOG_DIST ?? path.join(here, '..', 'dist');
const dist = (p) => pathToFileURL(path.join(distDir, p)).href;
const { LocalIndex } = await import(dist('local/local-index.js'));
const { encodeSegment, decodeTrustedSegment } = await import(dist('events/codec.js'));
const { generateKeyPair } = await import(dist('events/signing.js'));
const { computeSegmentVersions } = await import(dist('projections/project-paths.js'));
const { readLogState } = await import(dist('reconcile/sync-log.js'));
const { readPathHistory } = await import(dist('cli/history-commands.js'));
const { counterIdFactory } = await import(dist('events/ids.js'));

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i < 0 ? dflt : args[i + 1];
};
const EVENTS = Number(opt('--events', 1_000_000));
const PATHS = Number(opt('--paths', 100_000));
const PER_SEGMENT = Number(opt('--per-segment', 10_000));
const HOT = Number(opt('--hot', 100));
const CLIENTS = Number(opt('--clients', 4));
/** One event in N (of a path that exists) is a delete; 0: none. */
const DELETE_EVERY = Number(opt('--delete-every', 20));
const RUNS = Number(opt('--runs', 21));
const tmpBase = opt('--tmp', os.tmpdir());
const keep = args.includes('--keep');
const jsonOut = opt('--json', null);
const SEGMENTS = Math.ceil(EVENTS / PER_SEGMENT);

const gc = globalThis.gc ?? (() => {});
const line = (s) => process.stdout.write(`${s}\n`);
const now = () => process.hrtime.bigint();
const msSince = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 10 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(2)} ms`);
const rssMB = () => Math.round(process.memoryUsage().rss / 1048576);

// ---------------------------------------------------------------- synthetic history
const hex64 = (n) => createHash('sha256').update(String(n)).digest('hex');
const HOT_PATH = 'team/plan.md';
/** 100 folders of 1,000 notes (at the default 100,000 paths). */
const pathOf = (i) => `notes/folder-${String(i % 100).padStart(3, '0')}/note-${String(i).padStart(6, '0')}.md`;
// Valid ULIDs from counters; version ids sort in creation order, as monotonic ULIDs do.
const VAULT = counterIdFactory('01VA')();
const clientId = counterIdFactory('01C');
const versionId = counterIdFactory('01V');
const clients = Array.from({ length: CLIENTS }, () => ({ id: clientId(), keys: generateKeyPair(), seq: 0, prev: null }));
const T0 = Date.parse('2026-01-01T00:00:00.000Z');

/**
 * Segment k (0-based) is written by client k % CLIENTS; it carries one version of the hot
 * path when k is one of HOT evenly spaced segments, and otherwise the next paths in turn.
 * Every version replaces the path's previous one; one in DELETE_EVERY (of a path that
 * exists) is a delete.
 */
function* makeSegments() {
  const last = new Array(PATHS).fill(undefined);
  let n = 0;
  let cursor = 0;
  const hotEvery = SEGMENTS / Math.min(HOT, SEGMENTS);
  let hotTaken = 0;
  for (let k = 0; k < SEGMENTS; k++) {
    const c = clients[k % CLIENTS];
    const events = [];
    const count = Math.min(PER_SEGMENT, EVENTS - n);
    const hotHere = hotTaken < HOT && k >= hotTaken * hotEvery;
    for (let j = 0; j < count; j++, n++) {
      let p;
      if (hotHere && j === 0) {
        p = 0;
        hotTaken++;
      } else {
        p = 1 + (cursor++ % (PATHS - 1));
      }
      const id = versionId();
      const replaces = last[p] === undefined ? [] : [last[p].id];
      const tombstone = DELETE_EVERY > 0 && last[p] !== undefined && last[p].type === 'put' && n % DELETE_EVERY === 7 % DELETE_EVERY;
      const e = tombstone
        ? { type: 'tombstone', id, path: p === 0 ? HOT_PATH : pathOf(p), replaces }
        : {
            type: 'put',
            id,
            path: p === 0 ? HOT_PATH : pathOf(p),
            replaces,
            content: { hash: hex64(n), size: 1024 + (n % 7168), mode: 0o644 },
          };
      last[p] = { id, type: e.type };
      events.push(e);
    }
    const seen = {};
    for (const o of clients) if (o !== c) seen[o.id] = o.seq;
    c.seq++;
    const body = {
      v: 1,
      vault: VAULT,
      client: c.id,
      seq: c.seq,
      prev: c.prev,
      time: new Date(T0 + k * 60_000).toISOString(),
      seen,
      snapshot: null,
      events,
    };
    yield { client: c, body };
  }
}

// ---------------------------------------------------------------- run
const root = fs.mkdtempSync(path.join(tmpBase, 'bm-log-bench-logq-'));
const results = {
  inputs: {
    events: EVENTS,
    paths: PATHS,
    perSegment: PER_SEGMENT,
    segments: SEGMENTS,
    hotVersions: HOT,
    clients: CLIENTS,
    deleteEvery: DELETE_EVERY,
    runs: RUNS,
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    loadavgAtStart: os.loadavg().map((x) => +x.toFixed(2)),
    tmp: root,
    dist: distDir,
  },
};
line(
  `bm-log log-query bench: ${EVENTS.toLocaleString('en')} events, ${PATHS.toLocaleString('en')} paths, ${SEGMENTS} segments of ${PER_SEGMENT.toLocaleString('en')} events from ${CLIENTS} clients; hot path ${HOT_PATH} with ${HOT} versions; ${DELETE_EVERY > 0 ? `1 event in ${DELETE_EVERY} a delete` : 'no deletes'}`,
);
line(
  `machine: ${results.inputs.cpu}, ${results.inputs.cores} cores, node ${process.version}, load average at start ${results.inputs.loadavgAtStart.join(' ')}; index in ${root}`,
);

let index = await LocalIndex.open(root);
let encodeMs = 0;
let commitMs = 0;
let segmentBytes = 0;
const tBuild = now();
for (const { client, body } of makeSegments()) {
  let t = now();
  const seg = encodeSegment(body, client.keys.privateKey);
  encodeMs += msSince(t);
  client.prev = seg.hash;
  segmentBytes += seg.bytes.length;
  t = now();
  // As a sync commits a fetched segment: its bytes, its per-path history rows, the cursor, one batch.
  await index.commitBatch({
    segments: [{ client: body.client, seq: body.seq, bytes: seg.bytes }],
    cursors: new Map([[body.client, { seq: body.seq, hash: seg.hash }]]),
  });
  commitMs += msSince(t);
}
const buildMs = msSince(tBuild);
await index.close();
const du = (dir) => {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true }))
    total += e.isDirectory() ? du(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).size;
  return total;
};
const indexBytes = du(LocalIndex.location(root));
results.build = {
  totalMs: buildMs,
  encodeAndSignMs: encodeMs,
  commitMs,
  segmentMB: segmentBytes / 1048576,
  indexOnDiskMB: indexBytes / 1048576,
};
line('');
line(
  `build: ${fmt(buildMs)} in all: sign+encode ${fmt(encodeMs)}, commit to the index (segment + history rows, ${SEGMENTS} fsynced batches) ${fmt(commitMs)}`,
);
line(`       segments ${(segmentBytes / 1048576).toFixed(1)} MB; index on disk ${(indexBytes / 1048576).toFixed(1)} MB`);

// Queries on a freshly opened index (LevelDB's own caches empty; the OS page cache is warm).
index = await LocalIndex.open(root);
const COLD_PATH = pathOf(Math.floor(PATHS / 2));
const ABSENT_PATH = 'nowhere/never.md';

async function timeRuns(fn, runs) {
  const times = [];
  let out;
  for (let i = 0; i < runs; i++) {
    const t = now();
    out = await fn();
    times.push(msSince(t));
  }
  return { first: times[0], median: median(times.slice(runs > 1 ? 1 : 0)), min: Math.min(...times), max: Math.max(...times), runs, out };
}

line('');
line(`queries (first call after opening the index, then the median of ${RUNS - 1} more):`);
results.getPathHistory = {};
for (const [label, p] of [
  ['hot', HOT_PATH],
  ['cold', COLD_PATH],
  ['absent', ABSENT_PATH],
]) {
  const r = await timeRuns(() => index.getPathHistory(p), RUNS);
  results.getPathHistory[label] = { path: p, versions: r.out.length, firstMs: r.first, medianMs: r.median, minMs: r.min, maxMs: r.max };
  line(
    `  getPathHistory  ${label.padEnd(6)} ${p.padEnd(36)} ${String(r.out.length).padStart(4)} versions: first ${fmt(r.first)}, median ${fmt(r.median)} (min ${fmt(r.min)}, max ${fmt(r.max)})`,
  );
}

// All of `log PATH`: the rows plus move detection (each row's segment is read and decoded).
results.readPathHistory = {};
const session = { index };
for (const [label, p] of [
  ['hot', HOT_PATH],
  ['cold', COLD_PATH],
]) {
  const once = await timeRuns(() => readPathHistory(session, p), 1);
  const runs = once.first < 2000 ? Math.max(3, Math.min(RUNS, Math.floor(20_000 / Math.max(1, once.first)))) : 1;
  const r = runs > 1 ? await timeRuns(() => readPathHistory(session, p), runs) : once;
  results.readPathHistory[label] = {
    path: p,
    versions: r.out.versions.length,
    moves: r.out.moves.size,
    firstMs: once.first,
    medianMs: r.median,
    runs,
  };
  line(
    `  readPathHistory ${label.padEnd(6)} ${p.padEnd(36)} ${String(r.out.versions.length).padStart(4)} versions, ${r.out.moves.size} move(s): first ${fmt(once.first)}, median ${fmt(r.median)} of ${runs}`,
  );
}

// Without the index: read and decode every segment, keep one path's versions.
const FULL_RUNS = 3;
async function scanFor(p) {
  const found = [];
  for await (const rec of index.iterateSegments())
    for (const v of computeSegmentVersions(decodeTrustedSegment(rec.bytes))) if (v.path === p) found.push(v);
  return found;
}
gc();
const scan = await timeRuns(() => scanFor(HOT_PATH), FULL_RUNS);
results.fullScan = { versions: scan.out.length, firstMs: scan.first, medianMs: scan.median, runs: FULL_RUNS };
line(
  `  full scan (iterateSegments + decode + flatten, one path kept): ${scan.out.length} versions: first ${fmt(scan.first)}, median ${fmt(scan.median)} of ${FULL_RUNS - 1} more`,
);

gc();
const rssBefore = rssMB();
let rssPeak = rssBefore;
const fold = await timeRuns(async () => {
  const { state } = await readLogState(index);
  rssPeak = Math.max(rssPeak, rssMB());
  let n = 0;
  for (const st of state.paths.values()) n += st.versions.size;
  return n;
}, FULL_RUNS);
results.fullFold = {
  versions: fold.out,
  firstMs: fold.first,
  medianMs: fold.median,
  runs: FULL_RUNS,
  rssMBBefore: rssBefore,
  rssMBPeak: rssPeak,
};
line(
  `  readLogState (the fold \`log\` without PATH runs): ${fold.out.toLocaleString('en')} versions: first ${fmt(fold.first)}, median ${fmt(fold.median)} of ${FULL_RUNS - 1} more; RSS ${rssBefore} MB before, ${rssPeak} MB with the fold held`,
);

const hot = results.getPathHistory.hot.medianMs;
line('');
line(
  `full scan / getPathHistory(hot): ${(results.fullScan.medianMs / hot).toFixed(0)}x; full scan / readPathHistory(hot): ${(results.fullScan.medianMs / results.readPathHistory.hot.medianMs).toFixed(1)}x`,
);
results.inputs.loadavgAtEnd = os.loadavg().map((x) => +x.toFixed(2));
line(`load average at end ${results.inputs.loadavgAtEnd.join(' ')}`);

await index.close();
if (!keep) fs.rmSync(root, { recursive: true, force: true });
if (jsonOut) fs.writeFileSync(jsonOut, `${JSON.stringify(results, null, 2)}\n`);
