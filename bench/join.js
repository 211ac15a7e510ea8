#!/usr/bin/env node
// Joining a large vault: from the writers' checkpoints versus replaying the whole log (ADR-0014).
// Run after `npm run build`:  node bench/join.js [--files 100000] [--events 1000000] [--clients 4] [--runs 3]
//
// Builds, in a MemoryStore, a vault of `--files` files with `--events` historical events:
// segments of 10,000 events signed with real Ed25519 keys by `--clients` writers taking
// turns (each segment has seen everything before it). The history creates every file,
// then edits random files, with some deletes and re-creations. At the end every writer
// publishes an acknowledgement (a quiet vault) and checkpoints its own log there, from what
// it knows then (everything: `computeWriterCheckpoint`, as a sync does when the others'
// edits since its last checkpoint make it due, ADR-0014), judging claims by the checkpoints
// written before it. With `--stale`, each writer instead checkpointed at its last segment
// with events and never again (writers that stopped syncing): the later writers' edits of
// its files are then claims in their checkpoints, which a joiner checks against their
// segments. Then, `--runs` times each, a new client catches up:
//   checkpoint  list writer-checkpoints/, read and verify every writer's latest and the
//               segment it stands on, fetch each log after it, check the claims its state
//               depends on against their writers' segments
//   full replay fetch and verify every segment, fold every event
// and the time, the store requests and bytes read, and the live state are printed. File
// downloads are left out: they are the same for both (one blob per live file).
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { counterIdFactory } from '../dist/events/ids.js';
import { encodeSegment, encodeWriterCheckpoint } from '../dist/events/codec.js';
import { keyOfSegment, keyOfWriterCheckpoint } from '../dist/events/layout.js';
import { writeIdentity, writeVaultIfAbsent } from '../dist/events/log.js';
import { generateKeyPair } from '../dist/events/signing.js';
import { MemoryStore } from '../dist/events/store/memory-store.js';
import { computeHeads } from '../dist/projections/project-paths.js';
import { createLogState, projectLogSegment } from '../dist/projections/project-log.js';
import { computeWriterCheckpoint } from '../dist/projections/compute-writer-checkpoint.js';
import { executeFetchLog } from '../dist/reconcile/sync-log.js';
import { register } from 'tsx/esm/api';

// MemoryIndex is a test double (test/support, not in the package): loaded from source through tsx.
register();
const { MemoryIndex } = await import('../test/support/memory-index.ts');

const argv = process.argv.slice(2);
const opt = (n, d) => {
  const i = argv.indexOf(n);
  return i < 0 ? d : Number(argv[i + 1]);
};
const FILES = opt('--files', 100_000);
const EVENTS = opt('--events', 1_000_000);
const CLIENTS = opt('--clients', 4);
const RUNS = opt('--runs', 3);
const STALE = argv.includes('--stale');
const PER_SEGMENT = 10_000;

/** sfc32-ish xorshift: deterministic choices. */
let seed = 0x9e3779b9;
const rand = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
};

/** Counts requests and bytes read through a store. */
class CountingStore {
  constructor(inner) {
    this.inner = inner;
    this.description = 'counting';
    this.counts = { get: 0, list: 0, head: 0, put: 0, bytesRead: 0 };
  }
  async get(key) {
    this.counts.get++;
    const b = await this.inner.get(key);
    if (b) this.counts.bytesRead += b.length;
    return b;
  }
  getStream(key) {
    this.counts.get++;
    return this.inner.getStream(key);
  }
  head(key) {
    this.counts.head++;
    return this.inner.head(key);
  }
  putIfAbsent(key, body) {
    this.counts.put++;
    return this.inner.putIfAbsent(key, body);
  }
  list(prefix, options) {
    this.counts.list++;
    return this.inner.list(prefix, options);
  }
  delete(key) {
    return this.inner.delete(key);
  }
  async close() {}
}

async function createClient(store, name, prefix, vault, now) {
  const newId = counterIdFactory(prefix);
  const client = newId();
  const keys = generateKeyPair();
  await writeIdentity(store, { v: 1, vault, client, name, publicKey: keys.publicKeyHex, time: now().toISOString() }, keys);
  return { name, client, keys, newId, index: new MemoryIndex() };
}

const ctxOf = (c, store, vault, now, extra = {}) => ({
  store,
  index: c.index,
  identity: { client: c.client, vault, name: c.name, keys: c.keys },
  now,
  newId: c.newId,
  ...extra,
});

const mb = (n) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
const liveDigest = (state) => {
  let live = 0;
  let heads = 0;
  const all = createHash('sha256');
  for (const [p, st] of [...state.paths].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const h = computeHeads(st);
    heads += h.length;
    if (h[0]?.content) live++;
    for (const v of h) all.update(`${p}\0${v.id}\0${v.content?.hash ?? '-'}\n`);
  }
  return { live, heads, digest: all.digest('hex').slice(0, 16) };
};

/**
 * A writer's checkpoint of its own log at `segment`, from `state` (what it knew then), written
 * to the store: from `previous` (its last one) and its segments since, as a sync writes it.
 */
async function writeCheckpoint(store, w, segment, hash, state, ownSegments, coverage, keyed, now, previous = undefined) {
  let t = performance.now();
  const own = ownSegments.filter((s) => s.seq > (previous?.seq ?? 0));
  const input = { vault: segment.vault, client: w.client, segment, hash, time: now().toISOString(), previous, own };
  const body = computeWriterCheckpoint({ ...input, paths: state.paths, vaultState: state.vault, keyed, coverage });
  const computeMs = performance.now() - t;
  t = performance.now();
  const cp = encodeWriterCheckpoint(body, w.keys.privateKey);
  const encodeMs = performance.now() - t;
  await store.putIfAbsent(keyOfWriterCheckpoint(w.client, segment.seq), cp.bytes);
  coverage.set(w.client, { seq: segment.seq, seen: segment.seen });
  const versions = body.paths.reduce((n, p) => n + p.versions.length, 0);
  const claims = body.paths.reduce((n, p) => n + p.replaced.length, 0) + body.collected.reduce((n, c) => n + c.versions.length, 0);
  return { name: w.name, seq: segment.seq, versions, claims, bytes: cp.bytes.length, computeMs, encodeMs, body };
}

async function main() {
  const store = new MemoryStore();
  let t = Date.parse('2026-01-01T00:00:00Z');
  const now = () => new Date((t += 1000));
  const vault = await writeVaultIfAbsent(store, counterIdFactory('01BV'), now);
  const writers = [];
  for (let i = 0; i < CLIENTS; i++)
    writers.push(await createClient(store, `writer${i}`, `01BW${'ABCDEFGH'[i % 8]}${Math.floor(i / 8)}`, vault, now));

  // ---- synthesize the history
  const t0 = performance.now();
  const ids = counterIdFactory('01BE');
  const paths = Array.from({ length: FILES }, (_, i) => `notes/${String(i % 100).padStart(2, '0')}/note-${i}.md`);
  const head = new Array(FILES).fill(null); // current head id per path
  const live = new Array(FILES).fill(false);
  const seqs = new Map(writers.map((w) => [w.client, 0]));
  const prevs = new Map();
  // The fold of every segment so far (each segment has seen all before it: a writer's state at its own).
  const state = createLogState();
  const own = new Map(writers.map((w) => [w.client, []]));
  const totalSegments = Math.ceil(EVENTS / PER_SEGMENT);
  const checkpoints = [];
  const coverage = new Map();
  const keyed = writers.map((x) => x.client);
  let made = 0;
  let content = 0;
  let segments = 0;
  let bytes = 0;
  while (made < EVENTS) {
    const w = writers[segments % writers.length];
    const events = [];
    for (let k = 0; k < PER_SEGMENT && made < EVENTS; k++, made++) {
      // First every file is created; then random edits, 5% deletes, re-creating deleted files.
      const i = made < FILES ? made : Math.floor(rand() * FILES);
      const id = ids();
      const replaces = head[i] === null ? [] : [head[i]];
      if (made >= FILES && live[i] && rand() < 0.05) {
        events.push({ type: 'tombstone', id, path: paths[i], replaces });
        live[i] = false;
      } else {
        content++;
        events.push({
          type: 'put',
          id,
          path: paths[i],
          replaces,
          content: { hash: content.toString(16).padStart(64, '0'), size: 100 + (content % 4000), mode: 0o644 },
        });
        live[i] = true;
      }
      head[i] = id;
    }
    // A path appears at most once per segment (a sync publishes one event per path): split if needed.
    const seq = seqs.get(w.client) + 1;
    const seen = {};
    for (const [c, s] of seqs) if (c !== w.client && s > 0) seen[c] = s;
    const body = {
      v: 1,
      vault,
      client: w.client,
      seq,
      prev: prevs.get(w.client) ?? null,
      time: now().toISOString(),
      seen,
      snapshot: null,
      events,
    };
    const seg = encodeSegment(body, w.keys.privateKey);
    await store.putIfAbsent(keyOfSegment(w.client, seq), seg.bytes);
    seqs.set(w.client, seq);
    prevs.set(w.client, seg.hash);
    segments++;
    bytes += seg.bytes.length;
    projectLogSegment(state, body);
    own.get(w.client).push(body);
    // A writer's last segment with events: it checkpoints its own log there.
    if (STALE && segments > totalSegments - writers.length)
      checkpoints.push(await writeCheckpoint(store, w, body, seg.hash, state, own.get(w.client), coverage, keyed, now));
  }
  // Then every writer syncs once more with nothing new: an empty segment acknowledging it all.
  const acknowledge = async (w) => {
    const seq = seqs.get(w.client) + 1;
    const seen = {};
    for (const [c, sq] of seqs) if (c !== w.client && sq > 0) seen[c] = sq;
    const seg = encodeSegment(
      {
        v: 1,
        vault,
        client: w.client,
        seq,
        prev: prevs.get(w.client) ?? null,
        time: now().toISOString(),
        seen,
        snapshot: null,
        events: [],
      },
      w.keys.privateKey,
    );
    await store.putIfAbsent(keyOfSegment(w.client, seq), seg.bytes);
    seqs.set(w.client, seq);
    prevs.set(w.client, seg.hash);
    projectLogSegment(state, seg.body);
    own.get(w.client).push(seg.body);
    return seg;
  };
  for (const w of writers) {
    const seg = await acknowledge(w);
    if (!STALE) checkpoints.push(await writeCheckpoint(store, w, seg.body, seg.hash, state, own.get(w.client), coverage, keyed, now));
  }
  // A writer whose checkpoint is full of claims about the others' versions rewrites it once
  // they have checkpointed since (a sync does: ADR-0014), on one more acknowledgement.
  for (const [i, w] of STALE ? [] : writers.entries()) {
    const first = checkpoints[i];
    if (first.claims < Math.max(1000, first.versions)) continue;
    const seg = await acknowledge(w);
    checkpoints.push(await writeCheckpoint(store, w, seg.body, seg.hash, state, own.get(w.client), coverage, keyed, now, first.body));
  }
  const liveFiles = live.filter(Boolean).length;
  console.log(
    `vault: ${FILES} paths (${liveFiles} live), ${made} events in ${segments} signed segments of up to ${PER_SEGMENT} (${mb(bytes)}), ${CLIENTS} writers; built in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  for (const c of checkpoints) {
    const took = `computed in ${(c.computeMs / 1000).toFixed(2)} s, encoded and signed in ${(c.encodeMs / 1000).toFixed(2)} s`;
    console.log(`checkpoint of ${c.name} at its seq ${c.seq}: ${c.versions} live versions, ${c.claims} claims, ${mb(c.bytes)}; ${took}`);
  }
  const latest = new Map(checkpoints.map((c) => [c.name, c]));
  console.log(`checkpoints: ${mb([...latest.values()].reduce((n, c) => n + c.bytes, 0))} in all (the latest of each writer)`);
  const reference = liveDigest(state);

  // ---- new clients join, both ways
  const results = { checkpoint: [], replay: [] };
  for (let run = 0; run < RUNS; run++) {
    for (const mode of ['checkpoint', 'replay']) {
      const counting = new CountingStore(store);
      const joiner = await createClient(store, `joiner-${mode}-${run}`, `01BJ${mode === 'checkpoint' ? 'C' : 'R'}${run}`, vault, now);
      const start = performance.now();
      const log = await executeFetchLog(ctxOf(joiner, counting, vault, now, { joinFromCheckpoint: mode === 'checkpoint' }), {
        dryRun: false,
      });
      const ms = performance.now() - start;
      const digest = liveDigest(log.state);
      if (mode === 'checkpoint' && log.faults.length > 0)
        throw new Error(`checkpoint join reported faults: ${log.faults.map((f) => f.error.message).join('; ')}`);
      if (digest.digest !== reference.digest)
        throw new Error(`${mode}: live state differs: ${JSON.stringify(digest)} vs ${JSON.stringify(reference)}`);
      if (mode === 'checkpoint' && !log.joinedNow) throw new Error('the joiner did not use the checkpoint');
      results[mode].push({ ms, counts: { ...counting.counts } });
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const mode of ['checkpoint', 'replay']) {
    const r = results[mode];
    const c = r[0].counts;
    console.log(
      `${mode.padEnd(10)} median ${(median(r.map((x) => x.ms)) / 1000).toFixed(2)} s over ${RUNS} run(s) [${r.map((x) => (x.ms / 1000).toFixed(2)).join(', ')}]; requests: ${c.get} GET, ${c.list} LIST, ${c.head} HEAD; read ${mb(c.bytesRead)}`,
    );
  }
  console.log(`both end with the same live state: ${reference.live} live files, ${reference.heads} heads (digest ${reference.digest})`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
