#!/usr/bin/env node
// Soak test: several clients edit and sync for N minutes against a real S3-compatible server
// (fauxqs, in-process on 127.0.0.1) behind the fault proxy, with syncs crashed at random
// points. Then faults stop, every client syncs to quiescence, and the invariants are checked.
// Not part of `npm test`. Run: npm run soak -- --minutes 2 [--clients 4] [--seed N]
// Exits 1 when anything was lost, the trees did not converge, or an invariant broke.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { buildApp } from 'fauxqs';
import { register } from 'tsx/esm/api';

// The harness and the fault proxy are test code (test/support, not in the package): loaded
// from source through tsx, with the engine they drive, so no build is needed.
register();
const { S3Store } = await import('../src/events/store/s3-store.ts');
const { FAULT_KINDS, seededRandom, startFaultProxy } = await import('../test/support/fault-proxy.ts');
const { SyncWorld } = await import('../test/support/sync-world.ts');

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '2' },
    clients: { type: 'string', default: '4' },
    seed: { type: 'string' },
  },
});
const minutes = Number(values.minutes);
const clients = Number(values.clients);
const seed = values.seed === undefined ? (Date.now() ^ (process.pid << 8)) >>> 0 : Number(values.seed) >>> 0;
if (!(minutes > 0) || !(clients >= 2)) {
  console.error('usage: npm run soak -- --minutes N [--clients N>=2] [--seed N]');
  process.exit(2);
}

const RATES = { error500: 0.04, slowDown503: 0.04, timeout: 0.015, dropResponse: 0.04, truncateList: 0.15, cutBody: 0.08, delay: 0.05 };
const credentials = { accessKeyId: 'bm-log-soak', secretAccessKey: 'bm-log-soak-secret' };
const bucket = 'bm-log-soak';

// Keep the machine's AWS settings out of the SDK's way (the server is local, credentials fixed).
for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
process.env.AWS_CONFIG_FILE = '/nonexistent/bm-log-soak/aws-config';
process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/bm-log-soak/aws-credentials';

const app = buildApp({ logger: false });
await app.listen({ port: 0, host: '127.0.0.1' });
const upstream = `http://127.0.0.1:${app.server.address().port}`;
const created = await fetch(`${upstream}/${bucket}`, { method: 'PUT' });
if (!created.ok) throw new Error(`creating the bucket failed: HTTP ${created.status}`);
const proxy = await startFaultProxy({ upstream, seed, rates: {}, enforceCreateOnly: true, maxHoldMs: 5_000 });
const base = await fs.mkdtemp(path.join(os.tmpdir(), 'bm-log-soak-'));
const storeOptions = (endpoint) => ({ bucket, prefix: 'vault/', endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
const auditStore = new S3Store({ ...storeOptions(upstream), createOnlyEnforced: false });
const trace = [];
const world = await SyncWorld.create({
  base,
  clients,
  random: seededRandom(seed ^ 0x2545f491),
  openStore: () => new S3Store({ ...storeOptions(proxy.endpoint), maxAttempts: 3, requestTimeoutMs: 300, createOnlyEnforced: true }),
  auditStore,
  crashRate: 0.1,
  log: (line) => {
    trace.push(line);
    if (trace.length > 400) trace.splice(0, trace.length - 400);
  },
});

console.log(`soak: ${clients} clients, ${minutes} min, seed ${seed} (replay the schedule with --seed ${seed})`);
const started = Date.now();
const deadline = started + minutes * 60_000;
let steps = 0;
let nextReport = started + 30_000;
let failure;
let rounds = 0;
let check;
let idle = [];
try {
  proxy.setRates(RATES);
  while (Date.now() < deadline) {
    await world.randomStep();
    steps++;
    if (Date.now() >= nextReport) {
      nextReport += 30_000;
      console.log(
        `  ${((Date.now() - started) / 1000).toFixed(0)} s: ${steps} steps, ${world.stats.syncs} syncs, ${world.stats.crashes} crashes; ${proxy.describe()}`,
      );
    }
  }
  proxy.setRates({});
  world.faultsOn = false;
  rounds = await world.quiesce();
  check = await world.check();
  idle = await world.checkIdle();
} catch (e) {
  failure = e;
}

const counters = proxy.snapshot();
const retried = Object.values(world.stats.retried).reduce((a, b) => a + b, 0);
const faultsTotal = FAULT_KINDS.reduce((n, k) => n + counters[k], 0);
console.log('');
console.log(`soak finished after ${((Date.now() - started) / 1000).toFixed(0)} s, seed ${seed}`);
console.log(`  clients                ${clients}`);
console.log(`  steps                  ${steps}`);
console.log(
  `  syncs done             ${world.stats.syncs} (${world.stats.completed} completed, ${retried} failed retryably and were retried later ${JSON.stringify(world.stats.retried)})`,
);
console.log(`  crashes                ${world.stats.crashes}`);
console.log(`  user edits             ${world.stats.edits}`);
console.log(`  events published       ${world.stats.eventsPublished}`);
console.log(`  conflicts              ${world.stats.conflicts}`);
console.log(`  requests through proxy ${counters.requests} (412 precondition answers: ${counters.preconditionFailed})`);
console.log(`  faults injected        ${faultsTotal}: ${FAULT_KINDS.map((k) => `${k} ${counters[k]}`).join(', ')}`);
console.log(`  integrity faults       ${world.stats.integrityFaults} (must be 0: network faults are never integrity faults)`);
if (check) {
  console.log(`  quiescence             ${rounds} round(s)`);
  console.log(`  remote                 ${check.segments} segments, ${check.blobs} blobs`);
  console.log(`  converged              ${check.converged ? 'yes' : 'NO'}`);
  console.log(`  versions lost          ${check.lost}`);
}

const problems = [...(check?.problems ?? []), ...idle];
if (world.stats.integrityFaults > 0) problems.push(`${world.stats.integrityFaults} integrity fault(s) under network faults`);
if (failure) problems.push(`the soak stopped: ${failure.stack ?? failure}`);
await world.close();
await auditStore.close();
await proxy.stop();
await app.close();
if (problems.length > 0) {
  console.log(`\nFAILED (seed ${seed}):\n${problems.join('\n')}\n\nlast steps:\n${trace.slice(-60).join('\n')}`);
  console.log(`client folders kept in ${base}`);
  process.exit(1);
}
await fs.rm(base, { recursive: true, force: true });
console.log('\nOK: nothing lost, all trees identical');
