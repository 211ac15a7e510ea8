#!/usr/bin/env node
// Breaks one no-op `bm-log sync` of an existing client folder into its phases (the clean-state
// check; then what a sync that found a change reads instead of the whole log (ADR-0009: the
// scan by the witness, the witness diff, per-path rows); then, for comparison, the full fold,
// manifest read, scan and plan that a sync without a clean-state record still does), with the
// time and the memory (heap used, RSS) after each, by calling the same dist/ functions
// runSync calls, in the same order. Read-only: nothing is published or committed.
//   node --expose-gc bench/phases.js --dir CLIENT_FOLDER [--json FILE]
// (bench/run.js runs it on the largest tree's bm-log client after the no-op syncs.)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
// BM_LOG_DIST: the snapshot of dist/ that bench/run.js measures (default: ../dist).
const distDir = process.env.BM_LOG_DIST ?? path.join(here, '..', 'dist');
const dist = (p) => import(pathToFileURL(path.join(distDir, p)).href);
const args = process.argv.slice(2);
const opt = (n) => (args.includes(n) ? args[args.indexOf(n) + 1] : undefined);
const dir = opt('--dir');
if (!dir) throw new Error('usage: node --expose-gc bench/phases.js --dir CLIENT_FOLDER');

const t00 = performance.now();
const [
  { readCleanRecord },
  { openClient },
  { fetchLogs },
  { decodeTrustedSegment },
  { computeSegmentVersions, projectVersions },
  { planSync },
] = await Promise.all([
  dist('reconcile/clean-state.js'),
  dist('client/client-session.js'),
  dist('events/log.js'),
  dist('events/codec.js'),
  dist('projections/project-paths.js'),
  dist('reconcile/plan-sync.js'),
]);
const phases = [];
const gc = globalThis.gc ?? (() => {});
let last = performance.now();
let heapBefore = process.memoryUsage().heapUsed;
function mark(name, extra = {}) {
  const now = performance.now();
  const rawHeap = process.memoryUsage().heapUsed;
  gc();
  const m = process.memoryUsage();
  phases.push({
    name,
    ms: now - last,
    heapUsedMB: m.heapUsed / 1048576,
    heapDeltaMB: (m.heapUsed - heapBefore) / 1048576,
    heapBeforeGcMB: rawHeap / 1048576,
    rssMB: m.rss / 1048576,
    externalMB: (m.external + m.arrayBuffers) / 1048576,
    ...extra,
  });
  heapBefore = m.heapUsed;
  last = performance.now(); // gc time is not charged to the next phase
}
mark('load modules', { ms: performance.now() - t00 });

const s = await openClient(dir);
mark('open client (config, key, LevelDB, remote)');
try {
  const { index, store, identity, tree, isIgnored, subscriptions } = s.ctx;
  const pinned = await index.getPinnedKeys();
  const cursors = await index.getCursors();
  const pinnedKeys = new Map([...pinned].map(([c, k]) => [c, { client: c, name: k.name, publicKeyHex: k.publicKey }]));
  const fetched = await fetchLogs(store, { vault: identity.vault, cursors, pinnedKeys });
  mark('fetch new events (list keys + logs)', { requests: fetched.requests, newSegments: fetched.segments.length });
  const record = await readCleanRecord(s.ctx);
  const quiet =
    fetched.segments.every((g) => g.segment.body.events.length === 0) && fetched.newKeys.length === 0 && fetched.faults.length === 0;
  const clean = record !== undefined && quiet && (await tree.unchanged(record.witness));
  mark('clean-state check (ADR-0008: re-list, lstat)', { clean });
  // What a no-op sync does ends here when the check passes. A sync that found a change after
  // a clean-state record (ADR-0009) goes on with these (here nothing differs, so 300 paths
  // stand for the per-path reads of a 300-change sync):
  if (record !== undefined) {
    const base = tree.witnessBase(record.witness);
    mark('lazy: the witness as a scan base');
    const lazyScan = await tree.scan(base, isIgnored);
    mark('lazy: scan by the witness (lstat every file)', { files: lazyScan.files.size, hashed: lazyScan.hashed });
    const dirty = tree.diffWitness(record.witness, lazyScan);
    mark('lazy: diff the scan against the witness', { dirty: dirty?.size });
    const sample = [...lazyScan.files.keys()].slice(0, 300);
    const [states, rows] = await Promise.all([index.readPathStates(sample), index.getManifestEntries(sample)]);
    mark("lazy: read 300 paths' rows (history, collections, manifest)", { states: states.size, rows: rows.size });
  }
  // For comparison: what a sync without a record does (fold, manifest, scan, plan).

  // As runSync does: one segment at a time, decoded, flattened and folded into the projection.
  let segments = 0;
  let bytes = 0;
  let events = 0;
  const split = { readMs: 0, decodeMs: 0, flattenMs: 0, projectMs: 0 };
  const projection = new Map();
  let t = performance.now();
  for await (const rec of index.iterateSegments()) {
    const t1 = performance.now();
    split.readMs += t1 - t;
    segments++;
    bytes += rec.bytes.length;
    const body = decodeTrustedSegment(rec.bytes);
    const t2 = performance.now();
    const vs = computeSegmentVersions(body);
    const t3 = performance.now();
    projectVersions(vs, projection);
    t = performance.now();
    events += vs.length;
    split.decodeMs += t2 - t1;
    split.flattenMs += t3 - t2;
    split.projectMs += t - t3;
  }
  mark('rebuild projection from every stored segment', { segments, segmentMB: bytes / 1048576, events, paths: projection.size, ...split });

  const manifest = await index.getManifest();
  mark('read base manifest (getManifest)', { rows: manifest.size });
  const scan = await tree.scan(manifest, isIgnored);
  mark('scan local tree (stat every file; hash changed ones)', { files: scan.files.size, hashed: scan.hashed });
  const names = new Map([...pinned].map(([c, k]) => [c, k.name]));
  const plan = planSync({
    base: manifest,
    local: scan,
    cloud: projection,
    options: { subscriptions, isIgnored, clientName: (c) => names.get(c) ?? c.slice(-6), self: identity.client },
  });
  mark('plan (planSync)', { ops: plan.ops.length, conflicts: plan.conflicts.length });
} finally {
  await s.close();
}
const total = phases.reduce((a, p) => a + p.ms, 0);
process.stdout.write(
  `phases of a sync of ${dir} (read-only replay of runSync: no-op check, lazy reads, full path; total ${total.toFixed(0)} ms; gc between phases not counted)\n`,
);
for (const p of phases) {
  const extra = Object.entries(p)
    .filter(([k]) => !['name', 'ms', 'heapUsedMB', 'heapDeltaMB', 'heapBeforeGcMB', 'rssMB', 'externalMB'].includes(k))
    .map(([k, v]) => `${k} ${typeof v === 'number' ? Math.round(v * 10) / 10 : v}`)
    .join(', ');
  process.stdout.write(
    `  ${p.name.padEnd(54)} ${p.ms.toFixed(0).padStart(6)} ms  heap ${p.heapUsedMB.toFixed(0).padStart(5)} MB (${p.heapDeltaMB >= 0 ? '+' : ''}${p.heapDeltaMB.toFixed(0)}; ${p.heapBeforeGcMB.toFixed(0)} before gc)  rss ${p.rssMB.toFixed(0).padStart(5)} MB${extra ? `  ${extra}` : ''}\n`,
  );
}
const jsonOut = opt('--json');
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ dir, totalMs: total, phases }, null, 2));
