import { describe, expect, it } from 'vitest';
import { BmError, ErrorCode } from '../../src/errors.js';
import { ulidFactory, type ClientId } from '../../src/events/ids.js';
import { fetchLogs, writeIdentity, writeSegment, writeVaultIfAbsent } from '../../src/events/log.js';
import { generateKeyPair } from '../../src/events/signing.js';
import { MemoryStore } from '../../src/events/store/memory-store.js';
import { S3Store } from '../../src/events/store/s3-store.js';
import { SyncWorld } from '../support/sync-world.js';
import { seededRandom, type FaultRates } from '../support/fault-proxy.js';
import { useS3BehindProxy } from '../support/s3-behind-proxy.js';

/**
 * Three clients syncing through a real S3-compatible server (fauxqs) behind the fault proxy:
 * 5xx and SlowDown answers, timeouts, writes whose response is dropped after the server
 * stored them, listings that lie about being complete, bodies cut mid-read, delays, and
 * syncs crashed at a random port call. The engine runs in-process (runSync with S3Store,
 * FsTree on temp folders, a real LevelDB index, real keys). At the end faults are switched
 * off, every client syncs to quiescence, and the invariants are checked through a
 * fault-free view of the bucket. Replay: RELIABILITY_SEED=<seed printed below>.
 */
const SEED = process.env['RELIABILITY_SEED'] ? Number(process.env['RELIABILITY_SEED']) : (Date.now() ^ (process.pid << 8)) >>> 0;
const MAX_STEPS = 80;
/** The faulty phase stops early past this, so the whole test stays well under 60 s. */
const FAULT_PHASE_MS = 25_000;
const RATES: FaultRates = {
  error500: 0.04,
  slowDown503: 0.04,
  timeout: 0.015,
  dropResponse: 0.04,
  truncateList: 0.15,
  cutBody: 0.08,
  delay: 0.05,
};
const bucket = 'bm-log-reliability';

const s3 = useS3BehindProxy(bucket, { seed: SEED, rates: {}, enforceCreateOnly: true, maxHoldMs: 5_000 }, 'bm-log-s3-faults-');
const storeOptions = s3.storeOptions;

describe('S3 faults (fauxqs behind the fault proxy)', () => {
  it('three clients converge with nothing lost under 5xx, timeouts, dropped responses, lying listings, cut bodies and crashes', {
    timeout: 60_000,
  }, async () => {
    console.log(`s3-faults seed ${SEED} (replay: RELIABILITY_SEED=${SEED} npx vitest run test/reliability/s3-faults.test.ts)`);
    const started = Date.now();
    const trace: string[] = [];
    const random = seededRandom(SEED ^ 0x2545f491);
    const auditStore = new S3Store({ ...storeOptions(s3.server.endpoint), createOnlyEnforced: false });
    const world = await SyncWorld.create({
      base: s3.base,
      clients: 3,
      random,
      // Short request timeout (held requests fail fast), few attempts (so some syncs do fail
      // and are retried later), and create-only enforced as on AWS (the proxy answers 412).
      openStore: () => new S3Store({ ...storeOptions(s3.proxy.endpoint), maxAttempts: 3, requestTimeoutMs: 300, createOnlyEnforced: true }),
      auditStore,
      crashRate: 0.15,
      packs: true, // as the CLI writes: small files in packs (ADR-0022), read back by ranges under the same faults
      log: (l) => trace.push(l),
    });
    const fail = (what: string) => new Error(`${what}\nseed ${SEED}; ${s3.proxy.describe()}\ntrace:\n${trace.join('\n')}`);
    try {
      s3.proxy.setRates(RATES);
      let steps = 0;
      let rounds = 0;
      try {
        for (; steps < MAX_STEPS && Date.now() - started < FAULT_PHASE_MS; steps++) await world.randomStep();
        s3.proxy.setRates({});
        world.faultsOn = false;
        rounds = await world.quiesce();
      } catch (e) {
        throw fail((e as Error).message);
      }
      const faults = s3.proxy.snapshot();
      const check = await world.check();
      const retried = Object.values(world.stats.retried).reduce((a, b) => a + b, 0);
      console.log(
        `s3-faults: ${steps} steps, ${world.stats.syncs} syncs (${world.stats.completed} completed, ${world.stats.crashes} crashed, ${retried} failed retryably ${JSON.stringify(world.stats.retried)}), ` +
          `${world.stats.conflicts} conflicts, ${check.segments} segments, ${check.blobs} blobs, quiescence in ${rounds} rounds, ${check.lost} versions lost, ${((Date.now() - started) / 1000).toFixed(1)} s\n${s3.proxy.describe()}`,
      );
      if (check.problems.length > 0) throw fail(`invariants broken:\n${check.problems.join('\n')}`);
      if (world.stats.integrityFaults > 0)
        throw fail(`${world.stats.integrityFaults} integrity fault(s) reported under network faults only`);
      expect(check.converged).toBe(true);
      expect(check.lost).toBe(0);
      // The faults really happened: the schedule is dense enough that each kind fires.
      expect(faults.requests).toBeGreaterThan(100);
      expect(faults.error500 + faults.slowDown503).toBeGreaterThan(0);
      expect(faults.dropResponse).toBeGreaterThan(0);
      expect(faults.truncateList).toBeGreaterThan(0);
      // Idempotence: after quiescence another sync of each client does nothing.
      const idle = await world.checkIdle();
      if (idle.length > 0) throw fail(idle.join('\n'));
    } finally {
      await world.close();
      await auditStore.close();
    }
  });
});

/** Fails reads of `keys/` objects while `failing` is set, as a dropped connection would. */
class FlakyKeysStore extends MemoryStore {
  failing = true;
  override async get(key: string): Promise<Uint8Array | undefined> {
    if (this.failing && key.startsWith('keys/'))
      throw new BmError(ErrorCode.remoteUnavailable, `reading ${key} failed (ECONNRESET)`, 'retry');
    return super.get(key);
  }
}

describe('transient failures are not integrity faults', () => {
  // Regression: fetchLogs reported a transient failure reading a new client's key as a
  // fault, so `bm-log sync` exited 5 (integrity) after a dropped connection.
  it("a transient failure reading a new client's key skips that client until the next fetch", async () => {
    const store = new FlakyKeysStore();
    const newId = ulidFactory();
    const vault = await writeVaultIfAbsent(store, newId, () => new Date());
    const keys = generateKeyPair();
    const client = newId() as ClientId;
    await writeIdentity(store, { v: 1, vault, client, name: 'bob', publicKey: keys.publicKeyHex, time: new Date().toISOString() }, keys);
    const content = { hash: 'a'.repeat(64), size: 1, mode: 0o644 };
    await writeSegment(
      store,
      {
        v: 1,
        vault,
        client,
        seq: 1,
        prev: null,
        time: new Date().toISOString(),
        seen: {},
        snapshot: null,
        events: [{ type: 'put', id: newId(), path: 'a.md', replaces: [], content }],
      } as never,
      keys,
    );

    const first = await fetchLogs(store, { vault, cursors: new Map(), pinnedKeys: new Map() });
    expect(first.faults).toEqual([]);
    expect(first.newKeys).toEqual([]);
    expect(first.segments).toEqual([]);

    store.failing = false;
    const second = await fetchLogs(store, { vault, cursors: new Map(), pinnedKeys: new Map() });
    expect(second.faults).toEqual([]);
    expect(second.newKeys.map((k) => k.client)).toEqual([client]);
    expect(second.segments.map((x) => x.seq)).toEqual([1]);
  });
});
