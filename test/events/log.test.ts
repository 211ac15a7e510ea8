import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { BmError, ErrorCode, isBmError } from '../../src/errors.js';
import { counterIdFactory, type ClientId, type ContentHash, type VaultId, type VersionId } from '../../src/events/ids.js';
import { keyOfIdentity, keyOfSegment } from '../../src/events/layout.js';
import {
  fetchLogs,
  readVault,
  writeIdentity,
  writeSegment,
  writeVaultIfAbsent,
  type ClientKey,
  type Cursor,
  type FetchedSegment,
  type FetchResult,
} from '../../src/events/log.js';
import type { SegmentBody } from '../../src/events/schema.js';
import { DirectoryStore } from '../../src/events/store/directory-store.js';
import { MemoryStore } from '../../src/events/store/memory-store.js';
import type { ObjectStore } from '../../src/events/store/object-store.js';
import { generateKeyPair, sha256Hex, type KeyPair } from '../../src/events/signing.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { mulberry32 } from '../sim/prng.js';

const now = () => new Date('2026-11-21T10:00:00.000Z');
const mallory = generateKeyPair();

interface Client {
  readonly id: ClientId;
  readonly name: string;
  readonly keys: KeyPair;
}

/** A vault with clients that each published an identity, on one store. */
interface World {
  readonly store: ObjectStore;
  readonly vault: VaultId;
  readonly clients: readonly Client[];
  /** Each client's published segments' hashes, index 0 = seq 1. */
  readonly hashes: Map<ClientId, string[]>;
}

function body(vault: VaultId, client: Client, seq: number, prev: string | null, seen: Record<string, number>, tag = ''): SegmentBody {
  return {
    v: 1,
    vault,
    client: client.id,
    seq,
    prev: prev as ContentHash | null,
    time: now().toISOString(),
    seen,
    snapshot: null,
    events: [
      {
        type: 'put',
        // Deterministic ids so an identical retry re-encodes to identical bytes.
        id: `${client.id.slice(0, 20)}${String(seq).padStart(6, '0')}` as VersionId,
        path: `${client.name}/file-${seq}${tag}.md` as SyncPath,
        replaces: [],
        content: { hash: sha256Hex(`${client.name} ${seq}${tag}`) as ContentHash, size: 10, mode: 0o644 },
      },
    ],
  };
}

async function createWorld(store: ObjectStore, names: readonly string[], segmentsEach: number): Promise<World> {
  const ids = counterIdFactory('01F0G');
  const vault = await writeVaultIfAbsent(store, ids, now);
  const clients = names.map((name) => ({ id: ids() as ClientId, name, keys: generateKeyPair() }));
  for (const c of clients) {
    await writeIdentity(
      store,
      { v: 1, vault, client: c.id, name: c.name, publicKey: c.keys.publicKeyHex, time: now().toISOString() },
      c.keys,
    );
  }
  const hashes = new Map<ClientId, string[]>(clients.map((c) => [c.id, []]));
  for (let seq = 1; seq <= segmentsEach; seq++) {
    for (const c of clients) {
      const own = hashes.get(c.id)!;
      // Each writer names what it had seen of the others: their previous round.
      const seen = Object.fromEntries(clients.filter((o) => o !== c).map((o) => [o.id, seq - 1]));
      own.push((await writeSegment(store, body(vault, c, seq, own.at(-1) ?? null, seen), c.keys)).hash);
    }
  }
  return { store, vault, clients, hashes };
}

function fetchAll(
  w: World,
  cursors: ReadonlyMap<string, Cursor> = new Map(),
  pinnedKeys: ReadonlyMap<string, ClientKey> = new Map(),
  concurrency?: number,
): Promise<FetchResult> {
  return fetchLogs(w.store, { vault: w.vault, cursors, pinnedKeys, ...(concurrency === undefined ? {} : { concurrency }) });
}

function seqsOf(r: FetchResult, client: ClientId): number[] {
  return r.segments.filter((s) => s.client === client).map((s) => s.seq);
}

function pinsOf(r: FetchResult): Map<string, ClientKey> {
  return new Map(r.newKeys.map((k) => [k.client, k]));
}

/** Replaces an object's bytes behind the store's create-only contract, as a hostile bucket writer can. */
async function overwrite(store: ObjectStore, key: string, bytes: Uint8Array): Promise<void> {
  await store.delete(key);
  await store.putIfAbsent(key, bytes);
}

const tempRoots: string[] = [];
afterAll(async () => {
  await Promise.all(tempRoots.map((r) => fs.rm(r, { recursive: true, force: true })));
});

const storeKinds: { name: string; create: () => Promise<ObjectStore> }[] = [
  { name: 'memory', create: async () => new MemoryStore() },
  {
    name: 'directory',
    create: async () => {
      const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bm-log-test-'));
      tempRoots.push(root);
      return new DirectoryStore(root);
    },
  },
];

describe.each(storeKinds)('event log on a $name store', ({ create }) => {
  let store: ObjectStore;
  beforeEach(async () => {
    store = await create();
  });

  describe('vault marker', () => {
    it('is created once; a second call returns the same id', async () => {
      const first = await writeVaultIfAbsent(store, counterIdFactory('01A'), now);
      const second = await writeVaultIfAbsent(store, counterIdFactory('01B'), now);
      expect(second).toBe(first);
      expect(await readVault(store)).toBe(first);
    });

    it('concurrent creation by two clients yields one id', async () => {
      const [a, b] = await Promise.all([
        writeVaultIfAbsent(store, counterIdFactory('01A'), now),
        writeVaultIfAbsent(store, counterIdFactory('01B'), now),
      ]);
      expect(a).toBe(b);
      expect(await readVault(store)).toBe(a);
    });
  });

  describe('identity', () => {
    it('an identical retry succeeds; another key for the same client is refused', async () => {
      const w = await createWorld(store, ['alice'], 0);
      const alice = w.clients[0]!;
      const id = {
        v: 1 as const,
        vault: w.vault,
        client: alice.id,
        name: alice.name,
        publicKey: alice.keys.publicKeyHex,
        time: now().toISOString(),
      };
      await writeIdentity(store, id, alice.keys);
      const before = await store.get(keyOfIdentity(alice.id));
      await expect(writeIdentity(store, { ...id, publicKey: mallory.publicKeyHex }, mallory)).rejects.toSatisfy((e) =>
        isBmError(e, ErrorCode.keyMismatch),
      );
      expect(await store.get(keyOfIdentity(alice.id))).toEqual(before);
    });

    it('a retry after a crash, with the same key but a new time, succeeds and keeps the first object', async () => {
      const w = await createWorld(store, ['alice'], 0);
      const alice = w.clients[0]!;
      const before = await store.get(keyOfIdentity(alice.id));
      await writeIdentity(
        store,
        { v: 1, vault: w.vault, client: alice.id, name: alice.name, publicKey: alice.keys.publicKeyHex, time: '2026-11-22T00:00:00.000Z' },
        alice.keys,
      );
      expect(await store.get(keyOfIdentity(alice.id))).toEqual(before);
    });
  });

  describe('two writers, a third reader', () => {
    let w: World;
    let alice: Client;
    let bob: Client;
    beforeEach(async () => {
      w = await createWorld(store, ['alice', 'bob'], 3);
      [alice, bob] = w.clients as [Client, Client];
    });

    it('fetches every segment in per-client order and advances the cursors', async () => {
      const r = await fetchAll(w);
      expect(r.faults).toEqual([]);
      for (const c of [alice, bob]) {
        expect(seqsOf(r, c.id)).toEqual([1, 2, 3]);
        expect(r.cursors.get(c.id)).toEqual({ seq: 3, hash: w.hashes.get(c.id)![2] });
      }
      const bobsSecond = r.segments.find((s) => s.client === bob.id && s.seq === 2)!;
      expect(bobsSecond.segment.body.seen).toEqual({ [alice.id]: 1 });
      expect(bobsSecond.segment.body.prev).toBe(w.hashes.get(bob.id)![0]);
      expect(r.newKeys.map((k) => k.client).sort()).toEqual([alice.id, bob.id].sort());
      // keys/ listing, 2 identities, 2 log listings, 6 segment reads.
      expect(r.requests).toBe(1 + 2 + 2 + 6);
    });

    it('reads the same with a narrow read window', async () => {
      const r = await fetchAll(w, new Map(), new Map(), 2);
      expect(r.faults).toEqual([]);
      expect(seqsOf(r, alice.id)).toEqual([1, 2, 3]);
      expect(seqsOf(r, bob.id)).toEqual([1, 2, 3]);
    });

    /** A fetch through `onSegments`, recording each call and the segment reads between calls. */
    async function streamed(
      cursors: ReadonlyMap<string, Cursor> = new Map(),
      pinnedKeys: ReadonlyMap<string, ClientKey> = new Map(),
      concurrency = 2,
      listedAs?: number,
    ) {
      const trace: string[] = [];
      const got: FetchedSegment[] = [];
      const keys: (string | undefined)[] = [];
      let inSink = 0;
      const reading: ObjectStore = Object.create(w.store);
      reading.get = (key: string) => {
        trace.push(`get ${key.split('/').at(-1)}`);
        return w.store.get(key);
      };
      if (listedAs !== undefined) {
        reading.list = async (prefix, o) => {
          const page = await w.store.list(prefix, o);
          return { ...page, objects: page.objects.map((x) => ({ ...x, size: listedAs })) };
        };
      }
      const r = await fetchLogs(reading, {
        vault: w.vault,
        cursors,
        pinnedKeys,
        concurrency,
        onSegments: async (segs, key) => {
          expect(inSink++).toBe(0); // never two calls at once
          trace.push(`sink ${segs.map((x) => x.seq).join(',')}`);
          await new Promise((res) => setTimeout(res, 1));
          got.push(...segs);
          keys.push(key?.client);
          inSink--;
        },
      });
      return { r, trace, got, keys };
    }

    it('with onSegments: the same segments, a window at a time, none kept; each new key comes with its first window', async () => {
      const kept = await fetchAll(w);
      const { r, trace, got, keys } = await streamed();
      expect(r.segments).toEqual([]);
      expect(r.fetchedSegments).toBe(6);
      expect(r.fetchedEvents).toBe(6);
      expect(r.faults).toEqual([]);
      expect(r.cursors).toEqual(kept.cursors);
      expect(r.newKeys.map((k) => k.client).sort()).toEqual(kept.newKeys.map((k) => k.client).sort());
      for (const c of [alice, bob]) {
        const mine = got.filter((x) => x.client === c.id);
        expect(mine.map((x) => x.seq)).toEqual([1, 2, 3]);
        expect(mine.map((x) => x.segment.hash)).toEqual(w.hashes.get(c.id));
      }
      // Windows of two: [1,2] then [3] for each client, the key with the first.
      expect(trace.filter((t) => t.startsWith('sink')).sort()).toEqual(['sink 1,2', 'sink 1,2', 'sink 3', 'sink 3']);
      expect(keys.filter((k) => k !== undefined).sort()).toEqual([alice.id, bob.id].sort());
      // A client's third segment is read only after its first window was taken.
      const firstSink = trace.indexOf('sink 1,2');
      expect(firstSink).toBeGreaterThan(-1);
      expect(trace.slice(0, firstSink)).not.toContain(`get ${keyOfSegment(alice.id, 3).split('/').at(-1)}`);
      expect(trace.slice(firstSink)).toContain(`get ${keyOfSegment(alice.id, 3).split('/').at(-1)}`);
    });

    it('a window holds at most 2 MiB of segments as listed (at least one)', async () => {
      const big = await streamed(new Map(), new Map(), 8, 1.5 * 2 ** 20);
      expect(big.trace.filter((t) => t.startsWith('sink')).sort()).toEqual(['sink 1', 'sink 1', 'sink 2', 'sink 2', 'sink 3', 'sink 3']);
      const small = await streamed(new Map(), new Map(), 8, 0.6 * 2 ** 20);
      expect(small.trace.filter((t) => t.startsWith('sink')).sort()).toEqual(['sink 1,2,3', 'sink 1,2,3']);
      for (const r of [big, small]) expect(r.r.fetchedSegments).toBe(6);
    });

    it('with onSegments and a fault mid-window: the segments before it are taken, then that log stops', async () => {
      const forged = await writeSegment(new MemoryStore(), body(w.vault, alice, 2, w.hashes.get(alice.id)![0]!, { [bob.id]: 1 }), mallory);
      await overwrite(store, keyOfSegment(alice.id, 2), forged.bytes);
      const { r, got } = await streamed(new Map(), new Map(), 8);
      expectFault(r, alice.id, 2, ErrorCode.badSignature);
      expect(got.filter((x) => x.client === alice.id).map((x) => x.seq)).toEqual([1]);
      expect(got.filter((x) => x.client === bob.id).map((x) => x.seq)).toEqual([1, 2, 3]);
      expect(r.fetchedSegments).toBe(4);
    });

    it('with onSegments that throws (a full disk): the fetch fails with that error', async () => {
      await expect(
        fetchLogs(w.store, {
          vault: w.vault,
          cursors: new Map(),
          pinnedKeys: new Map(),
          onSegments: async () => {
            throw new Error('disk full (injected)');
          },
        }),
      ).rejects.toThrow('disk full');
    });

    it('a second fetch from the cursors finds nothing and costs 1 + (number of clients) requests', async () => {
      const first = await fetchAll(w);
      const stats = store instanceof MemoryStore ? { ...store.stats } : undefined;
      const second = await fetchAll(w, first.cursors, pinsOf(first));
      expect(second.segments).toEqual([]);
      expect(second.faults).toEqual([]);
      expect(second.newKeys).toEqual([]);
      expect(second.cursors).toEqual(first.cursors);
      expect(second.requests).toBe(1 + 2);
      if (store instanceof MemoryStore && stats) {
        expect(store.stats.lists - stats.lists).toBe(1 + 2);
        expect(store.stats.gets - stats.gets).toBe(0);
      }
    });

    it('fetches only what is new after the cursors', async () => {
      const first = await fetchAll(w);
      await writeSegment(store, body(w.vault, alice, 4, w.hashes.get(alice.id)![2]!, { [bob.id]: 3 }), alice.keys);
      const second = await fetchAll(w, first.cursors, pinsOf(first));
      expect(second.faults).toEqual([]);
      expect(seqsOf(second, alice.id)).toEqual([4]);
      expect(seqsOf(second, bob.id)).toEqual([]);
      expect(second.cursors.get(alice.id)?.seq).toBe(4);
    });

    function expectFault(r: FetchResult, client: ClientId, seq: number | null, code: ErrorCode): void {
      expect(r.faults).toHaveLength(1);
      expect(r.faults[0]).toMatchObject({ client, seq });
      expect(r.faults[0]!.error).toBeInstanceOf(BmError);
      expect(r.faults[0]!.error.code).toBe(code);
    }

    it('(a) a middle segment re-signed with another key: fault there, earlier kept, other log unaffected', async () => {
      const forged = await writeSegment(new MemoryStore(), body(w.vault, alice, 2, w.hashes.get(alice.id)![0]!, { [bob.id]: 1 }), mallory);
      await overwrite(store, keyOfSegment(alice.id, 2), forged.bytes);
      const r = await fetchAll(w);
      expectFault(r, alice.id, 2, ErrorCode.badSignature);
      expect(seqsOf(r, alice.id)).toEqual([1]);
      expect(r.cursors.get(alice.id)).toEqual({ seq: 1, hash: w.hashes.get(alice.id)![0] });
      expect(seqsOf(r, bob.id)).toEqual([1, 2, 3]);
    });

    it('(b) a deleted middle segment: broken-chain at the gap, earlier kept', async () => {
      await store.delete(keyOfSegment(alice.id, 2));
      const r = await fetchAll(w);
      expectFault(r, alice.id, 2, ErrorCode.brokenChain);
      expect(seqsOf(r, alice.id)).toEqual([1]);
      expect(seqsOf(r, bob.id)).toEqual([1, 2, 3]);
    });

    it('(c) a segment appended by someone without the key is rejected', async () => {
      const first = await fetchAll(w);
      await writeSegment(store, body(w.vault, alice, 4, w.hashes.get(alice.id)![2]!, {}, '-forged'), mallory);
      for (const r of [await fetchAll(w), await fetchAll(w, first.cursors, pinsOf(first))]) {
        expectFault(r, alice.id, 4, ErrorCode.badSignature);
        expect(r.cursors.get(alice.id)?.seq).toBe(3);
      }
    });

    it('(d) an identity replaced after pinning: the pinned key rejects segments signed by the new one', async () => {
      const first = await fetchAll(w);
      await store.delete(keyOfIdentity(alice.id));
      await writeIdentity(
        store,
        { v: 1, vault: w.vault, client: alice.id, name: 'alice', publicKey: mallory.publicKeyHex, time: now().toISOString() },
        mallory,
      );
      await writeSegment(store, body(w.vault, alice, 4, w.hashes.get(alice.id)![2]!, {}, '-forged'), mallory);

      const pinned = await fetchAll(w, first.cursors, pinsOf(first));
      expectFault(pinned, alice.id, 4, ErrorCode.badSignature);
      expect(pinned.newKeys).toEqual([]);
      expect(seqsOf(pinned, alice.id)).toEqual([]);

      // Without the pin the new key is believed, and then alice's real history fails to verify:
      // the reason keys are pinned on first sight.
      const fresh = await fetchAll(w);
      expectFault(fresh, alice.id, 1, ErrorCode.badSignature);
      expect(fresh.newKeys.find((k) => k.client === alice.id)?.publicKeyHex).toBe(mallory.publicKeyHex);
    });

    it('(e) writing a different segment where its own earlier one stands is retryable and changes nothing', async () => {
      // The stored segment is this client's own (an interrupted sync's write that landed): no
      // fork exists on the remote, the next sync fetches it.
      const key = keyOfSegment(alice.id, 2);
      const before = await store.get(key);
      const other = body(w.vault, alice, 2, w.hashes.get(alice.id)![0]!, { [bob.id]: 1 }, '-fork');
      await expect(writeSegment(store, other, alice.keys)).rejects.toSatisfy((e) => isBmError(e, ErrorCode.remoteUnavailable));
      expect(await store.get(key)).toEqual(before);
      expect((await fetchAll(w)).faults).toEqual([]);
    });

    it('(e2) writing where an object that is not its own segment stands is equivocation and changes nothing', async () => {
      const key = keyOfSegment(alice.id, 2);
      await overwrite(store, key, Uint8Array.of(1, 2, 3));
      const other = body(w.vault, alice, 2, w.hashes.get(alice.id)![0]!, { [bob.id]: 1 }, '-fork');
      await expect(writeSegment(store, other, alice.keys)).rejects.toSatisfy((e) => isBmError(e, ErrorCode.equivocation));
      expect([...(await store.get(key))!]).toEqual([1, 2, 3]);
    });

    it('(f) an identical retry of writeSegment succeeds', async () => {
      const key = keyOfSegment(alice.id, 3);
      const before = await store.get(key);
      const retried = await writeSegment(store, body(w.vault, alice, 3, w.hashes.get(alice.id)![1]!, { [bob.id]: 2 }), alice.keys);
      expect(retried.hash).toBe(w.hashes.get(alice.id)![2]);
      expect(await store.get(key)).toEqual(before);
    });

    it('a client whose identity is unreadable is reported; the others go on', async () => {
      await overwrite(store, keyOfIdentity(alice.id), Uint8Array.of(0xc1));
      const r = await fetchAll(w);
      expectFault(r, alice.id, null, ErrorCode.malformed);
      expect(seqsOf(r, alice.id)).toEqual([]);
      expect(seqsOf(r, bob.id)).toEqual([1, 2, 3]);
    });
  });
});

describe('fetch under truncated listings', () => {
  it('never returns a segment out of order and never skips one', async () => {
    const SEGMENTS = 6;
    let incompleteFetches = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const store = new MemoryStore({ random: mulberry32(seed) });
      const w = await createWorld(store, ['alice', 'bob', 'carol'], SEGMENTS);
      store.faults = { listTruncateRate: 0.5 };
      let cursors: ReadonlyMap<string, Cursor> = new Map();
      let pins: ReadonlyMap<string, ClientKey> = new Map();
      const held = new Map<string, number[]>();
      // Incremental fetches until every log is complete; each one may stop early, never skip.
      for (let round = 0; round < 200 && [...held.values()].reduce((n, s) => n + s.length, 0) < 3 * SEGMENTS; round++) {
        const r = await fetchAll(w, cursors, pins);
        expect(r.faults, `seed ${seed}`).toEqual([]);
        for (const c of w.clients) {
          const got = seqsOf(r, c.id);
          const from = cursors.get(c.id)?.seq ?? 0;
          expect(got, `seed ${seed}, client ${c.name}`).toEqual(Array.from({ length: got.length }, (_, i) => from + 1 + i));
          held.set(c.id, [...(held.get(c.id) ?? []), ...got]);
          const last = got.at(-1);
          if (last !== undefined) expect(r.cursors.get(c.id), `seed ${seed}`).toEqual({ seq: last, hash: w.hashes.get(c.id)![last - 1] });
        }
        if (w.clients.some((c) => r.cursors.get(c.id)?.seq !== SEGMENTS)) incompleteFetches++;
        cursors = r.cursors;
        pins = new Map([...pins, ...pinsOf(r)]);
      }
      for (const c of w.clients) expect(held.get(c.id), `seed ${seed}, client ${c.name}`).toEqual([1, 2, 3, 4, 5, 6]);
    }
    // The faults did bite: many fetches stopped early.
    expect(incompleteFetches).toBeGreaterThan(40);
  });
});
