import type { Chunks } from '../../src/events/store/lent-chunks.js';
import { isBmError, ErrorCode } from '../../src/errors.js';
import type { ClientId } from '../../src/events/ids.js';
import type { Cursor } from '../../src/events/log.js';
import type { Body, ListPage, ObjectStore } from '../../src/events/store/object-store.js';
import { compareKeys, MemoryStore } from '../../src/events/store/memory-store.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import type { LocalTree, ScanBase, ScanResult } from '../../src/reconcile/ports.js';
import type { BaseEntry } from '../../src/reconcile/ports.js';
import type { LocalFile } from '../../src/reconcile/ports.js';
import type { SyncIndex } from '../../src/reconcile/ports.js';

/** The simulated kill -9: thrown by every port call of a sync from the chosen call on. */
export class CrashError extends Error {
  constructor(what: string) {
    super(`simulated crash at ${what}`);
    this.name = 'CrashError';
  }
}

/** What the gate saw of the store during one sync. */
export interface GateCounts {
  calls: number;
  /** Store calls that failed by injection (remote-unavailable). */
  injectedErrors: number;
  /** Listings the store cut short while claiming they were complete. */
  truncatedLists: number;
}

/**
 * The one door every port call of one sync passes through. It counts calls; at call
 * `meddleAt` it first lets the user edit the tree (a change racing the sync); at call
 * `crashAt` the process dies: that call and every later one, including work still in
 * flight in parallel workers, throws CrashError and does nothing. What the store, the
 * tree and the index hold at that instant is all that survives.
 */
export class SyncGate {
  dead = false;
  /** Also dies at the first call this names (a crash at a step, not at a count): e.g. `(what) => what === 'commitBatch'`. */
  crashBefore: ((what: string) => boolean) | undefined;
  readonly counts: GateCounts = { calls: 0, injectedErrors: 0, truncatedLists: 0 };

  constructor(
    private readonly crashAt: number | null,
    private readonly meddleAt: number | null,
    private readonly meddle: () => void,
  ) {}

  enter(what: string): void {
    this.check(what);
    this.counts.calls++;
    if (this.counts.calls === this.meddleAt) this.meddle();
    if (this.counts.calls === this.crashAt || this.crashBefore?.(what) === true) {
      this.dead = true;
      throw new CrashError(what);
    }
  }

  /** Throws when the process has died (for work in flight: stream chunks, iterators). */
  check(what: string): void {
    if (this.dead) throw new CrashError(`${what} (after the crash)`);
  }

  /** Passes a stream's (lent) chunks on while the process lives, one at a time. */
  stream(source: Chunks, what: string): Chunks {
    const check = () => this.check(what);
    return (async function* () {
      for await (const chunk of source) {
        check();
        yield chunk;
      }
    })();
  }
}

/**
 * A store as one client's sync sees it: gated, with injected faults counted (and, on a
 * MemoryStore, listings cut short). `close` leaves the inner store open: its owner closes it.
 */
export class GatedStore implements ObjectStore {
  readonly description: string;

  constructor(
    private readonly inner: ObjectStore,
    private readonly gate: SyncGate,
    /** Called right before each write goes to the store (the simulation checks segments here). */
    private readonly beforePut: (key: string, body: Body) => void = () => undefined,
  ) {
    this.description = `${inner.description} (gated)`;
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    this.gate.enter(what);
    try {
      return await fn();
    } catch (e) {
      if (isBmError(e, ErrorCode.remoteUnavailable)) this.gate.counts.injectedErrors++;
      throw e;
    }
  }

  get(key: string): Promise<Uint8Array | undefined> {
    return this.call(`get ${key}`, () => this.inner.get(key));
  }

  getChunks(key: string, size?: number): Promise<Chunks | undefined> {
    return this.call(`getChunks ${key}`, async () => {
      const s = await this.inner.getChunks(key, size);
      return s === undefined ? undefined : this.gate.stream(s, `reading ${key}`);
    });
  }

  head(key: string): Promise<{ size: number } | undefined> {
    return this.call(`head ${key}`, () => this.inner.head(key));
  }

  putIfAbsent(key: string, body: Body): Promise<'created' | 'identical'> {
    return this.call(`put ${key}`, () => {
      this.beforePut(key, body);
      return this.inner.putIfAbsent(key, body);
    });
  }

  list(prefix: string, options: { startAfter?: string; limit?: number } = {}): Promise<ListPage> {
    return this.call(`list ${prefix}`, async () => {
      const page = await this.inner.list(prefix, options);
      if (!(this.inner instanceof MemoryStore)) return page;
      const after = options.startAfter ?? '';
      let all = 0;
      for (const k of this.inner.objects.keys()) if (k.startsWith(prefix) && compareKeys(k, after) > 0) all++;
      if (!page.truncated && page.objects.length < all) this.gate.counts.truncatedLists++;
      return page;
    });
  }

  delete(key: string): Promise<void> {
    return this.call(`delete ${key}`, () => this.inner.delete(key));
  }

  async close(): Promise<void> {}
}

/** A client's tree as its sync sees it. */
export class GatedTree implements LocalTree {
  constructor(
    private readonly inner: LocalTree,
    private readonly gate: SyncGate,
  ) {}

  get root(): string {
    return this.inner.root;
  }

  async scan(manifest: ReadonlyMap<string, BaseEntry>, isIgnored: (path: string) => boolean): Promise<ScanResult> {
    this.gate.enter('scan');
    return this.inner.scan(manifest, isIgnored);
  }

  async unchanged(witness: Uint8Array): Promise<boolean> {
    this.gate.enter('unchanged');
    return this.inner.unchanged(witness);
  }

  diffWitness(witness: Uint8Array, scan: ScanResult): Set<string> | undefined {
    return this.inner.diffWitness(witness, scan);
  }

  witnessBase(witness: Uint8Array): ScanBase | undefined {
    return this.inner.witnessBase(witness);
  }

  async rescan(
    prev: ScanResult,
    touched: readonly SyncPath[],
    manifest: ReadonlyMap<string, BaseEntry>,
    isIgnored: (path: string) => boolean,
  ): Promise<ScanResult> {
    this.gate.enter('scan');
    return this.inner.rescan(prev, touched, manifest, isIgnored);
  }

  openRead(path: SyncPath): Chunks {
    this.gate.enter(`openRead ${path}`);
    return this.gate.stream(this.inner.openRead(path), `reading ${path}`);
  }

  async writeFile(
    path: SyncPath,
    content: AsyncIterable<Uint8Array>,
    hash: string,
    mode: number,
    expect: LocalFile | null,
  ): Promise<LocalFile | 'changed'> {
    this.gate.enter(`writeFile ${path}`);
    return this.inner.writeFile(path, this.gate.stream(content, `writing ${path}`), hash, mode, expect);
  }

  async removeFile(path: SyncPath, expect: LocalFile): Promise<'done' | 'changed'> {
    this.gate.enter(`removeFile ${path}`);
    return this.inner.removeFile(path, expect);
  }

  async statFile(path: SyncPath): Promise<LocalFile | undefined> {
    this.gate.enter(`statFile ${path}`);
    return this.inner.statFile(path);
  }
}

/** The SyncIndex's optional reads. */
type Optional = Required<SyncIndex>;

/**
 * A client's index as its sync sees it. The optional reads (lazy, staged and checkpoint
 * syncs, ADR-0009/0011) are offered exactly when the inner index offers them, so the engine
 * takes the same paths through a gated index as through the index itself.
 */
export class GatedIndex implements SyncIndex {
  readonly readPathStates?: Optional['readPathStates'];
  readonly canReadPathStates?: Optional['canReadPathStates'];
  readonly getManifestEntries?: Optional['getManifestEntries'];
  readonly releaseMappedTables?: Optional['releaseMappedTables'];
  readonly iterateStatePaths?: Optional['iterateStatePaths'];
  readonly readPathRange?: Optional['readPathRange'];
  readonly hasManifestRows?: Optional['hasManifestRows'];
  readonly indexCollections?: Optional['indexCollections'];
  readonly getMeta?: Optional['getMeta'];

  constructor(
    private readonly inner: SyncIndex,
    private readonly gate: SyncGate,
  ) {
    const i = inner;
    const g = gate;
    const via =
      <A extends unknown[], R>(what: string, fn: ((...args: A) => Promise<R>) | undefined) =>
      (...args: A): Promise<R> => {
        g.enter(what);
        return fn!.apply(i, args);
      };
    const streamed = <A extends unknown[], T>(what: string, fn: (...args: A) => AsyncIterable<T>) =>
      async function* (...args: A): AsyncIterable<T> {
        g.enter(what);
        for await (const x of fn.apply(i, args)) {
          g.check(what);
          yield x;
        }
      };
    if (i.readPathStates) this.readPathStates = via('readPathStates', i.readPathStates);
    if (i.canReadPathStates) this.canReadPathStates = via('canReadPathStates', i.canReadPathStates);
    if (i.getManifestEntries) this.getManifestEntries = via('getManifestEntries', i.getManifestEntries);
    if (i.releaseMappedTables) this.releaseMappedTables = via('releaseMappedTables', i.releaseMappedTables);
    if (i.iterateStatePaths) this.iterateStatePaths = streamed('iterateStatePaths', i.iterateStatePaths);
    if (i.readPathRange) this.readPathRange = via('readPathRange', i.readPathRange);
    if (i.hasManifestRows) this.hasManifestRows = via('hasManifestRows', i.hasManifestRows);
    if (i.indexCollections) this.indexCollections = via('indexCollections', i.indexCollections);
    if (i.getMeta) this.getMeta = <T>(key: string) => via(`getMeta ${key}`, i.getMeta<T>)(key);
  }

  async getManifest(): Promise<Map<SyncPath, BaseEntry>> {
    this.gate.enter('getManifest');
    return this.inner.getManifest();
  }

  async getCursors(): Promise<Map<ClientId, Cursor>> {
    this.gate.enter('getCursors');
    return this.inner.getCursors();
  }

  async getPinnedKeys(): Promise<Map<ClientId, { publicKey: string; name: string }>> {
    this.gate.enter('getPinnedKeys');
    return this.inner.getPinnedKeys();
  }

  async pinKeys(pins: readonly { client: ClientId; publicKey: string; name: string }[]): Promise<void> {
    this.gate.enter('pinKeys');
    return this.inner.pinKeys(pins);
  }

  async *iterateSegments(client?: ClientId, fromSeq?: number): AsyncIterable<{ client: ClientId; seq: number; bytes: Uint8Array }> {
    this.gate.enter('iterateSegments');
    for await (const s of this.inner.iterateSegments(client, fromSeq)) {
      this.gate.check('iterateSegments');
      yield s;
    }
  }

  async getSegment(client: ClientId, seq: number): Promise<Uint8Array | undefined> {
    this.gate.enter('getSegment');
    return this.inner.getSegment(client, seq);
  }

  async commitBatch(ops: Parameters<SyncIndex['commitBatch']>[0]): Promise<void> {
    this.gate.enter('commitBatch');
    return this.inner.commitBatch(ops);
  }
}
