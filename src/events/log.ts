import type { KeyObject } from 'node:crypto';
import { BmError, ErrorCode, isBmError } from '../errors.js';
import { decodeIdentity, decodeSegment, decodeVault, encodeIdentity, encodeSegment, encodeVault, type VerifiedSegment } from './codec.js';
import type { ClientId, IdFactory, VaultId } from './ids.js';
import { KEYS_PREFIX, VAULT_KEY, keyOfIdentity, keyOfSegment, parseSegmentKey, prefixOfLog } from './layout.js';
import type { IdentityBody, SegmentBody } from './schema.js';
import { importPublicKeyHex, type KeyPair } from './signing.js';
import { listAll, type ListedObject, type ObjectStore } from './store/object-store.js';
import { ULID_RE } from './ids.js';

/** A client's verified public key and display name. */
export interface ClientKey {
  readonly client: ClientId;
  readonly name: string;
  readonly publicKeyHex: string;
}

/** The last verified segment of one client's log, as this client holds it. */
export interface Cursor {
  readonly seq: number;
  readonly hash: string;
}

/** A fault found while reading a log: the client's log is read up to just before it. */
export interface LogFault {
  readonly client: string;
  readonly seq: number | null;
  readonly key: string;
  readonly error: BmError;
}

export interface FetchedSegment {
  readonly client: ClientId;
  readonly seq: number;
  readonly segment: VerifiedSegment;
}

export interface FetchResult {
  /** New verified segments, each client's in seq order (none when `onSegments` took them). */
  readonly segments: readonly FetchedSegment[];
  /** New verified segments, and the events in them (`segments` kept or not). */
  readonly fetchedSegments: number;
  readonly fetchedEvents: number;
  /** Cursors after the fetch (unchanged for clients with nothing new). */
  readonly cursors: ReadonlyMap<string, Cursor>;
  /** Keys seen for the first time (to pin, trust on first use). */
  readonly newKeys: readonly ClientKey[];
  readonly faults: readonly LogFault[];
  /** Number of requests made, for the request-count benchmark. */
  readonly requests: number;
  /** What the discovery listing of `keys/` returned (ADR-0015 compares it with the pins). */
  readonly listedKeys: readonly ListedObject[];
  /**
   * Per client read, what its log listing showed of the segments ADR-0015 checks: the one at
   * its cursor before the fetch, the one at its cursor after, and (this client's own log) those
   * in the audit window.
   */
  readonly listedLogs: ReadonlyMap<string, readonly ListedObject[]>;
  /** The window of this client's own log that its listing covered (with `auditAfter`). */
  readonly audited?: AuditedWindow;
}

/** Seqs `after`+1..`through` of a log, listed in one go; `complete` when the listing reached the log's end. */
export interface AuditedWindow {
  readonly after: number;
  readonly through: number;
  readonly complete: boolean;
}

/** Reads the vault marker, creating it when the remote is new. Returns the vault id. */
export async function writeVaultIfAbsent(store: ObjectStore, newId: IdFactory, now: () => Date): Promise<VaultId> {
  const existing = await store.get(VAULT_KEY);
  if (existing !== undefined) return decodeVault(existing).vault;
  const record = { v: 1 as const, vault: newId() as VaultId, time: now().toISOString() };
  try {
    await store.putIfAbsent(VAULT_KEY, encodeVault(record));
    return record.vault;
  } catch (e) {
    // Another client created the vault between our read and write: theirs stands.
    if (!isBmError(e, ErrorCode.objectExists)) throw e;
    const again = await store.get(VAULT_KEY);
    if (again === undefined) throw e;
    return decodeVault(again).vault;
  }
}

export async function readVault(store: ObjectStore): Promise<VaultId | undefined> {
  const bytes = await store.get(VAULT_KEY);
  return bytes === undefined ? undefined : decodeVault(bytes).vault;
}

/**
 * Publishes this client's identity (create-only). A retry is fine when the remote already
 * holds a valid identity with this same key, even with another `time` or name (a retry
 * after a crash re-creates the body); any other existing identity is key-mismatch.
 */
export async function writeIdentity(store: ObjectStore, body: IdentityBody, keys: KeyPair): Promise<void> {
  if (body.publicKey !== keys.publicKeyHex) throw new BmError(ErrorCode.internal, 'identity body does not carry the signing key');
  try {
    await store.putIfAbsent(keyOfIdentity(body.client), encodeIdentity(body, keys.privateKey));
  } catch (e) {
    if (isBmError(e, ErrorCode.objectExists)) {
      // An unreadable or invalid published identity is a clash too; a transient failure is not.
      const published = await readIdentity(store, body.vault, body.client).catch((re: unknown) => {
        if (!isBmError(re) || re.code === ErrorCode.remoteUnavailable) throw re;
        return undefined;
      });
      if (published?.publicKeyHex === keys.publicKeyHex) return;
      throw new BmError(
        ErrorCode.keyMismatch,
        `the remote already holds a different key for client ${body.client}`,
        "this folder's identity clashes with another; run `bm-log init --remote URL` in a fresh folder",
        {},
        { cause: e },
      );
    }
    throw e;
  }
}

/** Reads and verifies one client's published identity. */
export async function readIdentity(store: ObjectStore, vault: string, client: string): Promise<ClientKey & { key: KeyObject }> {
  const key = keyOfIdentity(client);
  const bytes = await store.get(key);
  if (bytes === undefined) {
    throw new BmError(ErrorCode.unknownKey, `client ${client} has no published key`, 'its log is ignored until its key is published', {
      key,
    });
  }
  const id = decodeIdentity(bytes, { vault, client }, importPublicKeyHex);
  return { client: id.client, name: id.name, publicKeyHex: id.publicKey, key: id.key };
}

/**
 * Signs and publishes one segment, create-only. Throws equivocation when the remote holds
 * a different segment at that seq (this identity is being used by another process, or the
 * folder was restored from a backup): nothing is overwritten.
 */
export async function writeSegment(store: ObjectStore, body: SegmentBody, keys: KeyPair): Promise<VerifiedSegment> {
  const seg = encodeSegment(body, keys.privateKey);
  const key = keyOfSegment(body.client, body.seq);
  try {
    await store.putIfAbsent(key, seg.bytes);
  } catch (e) {
    if (isBmError(e, ErrorCode.objectExists)) {
      // Our own earlier segment (an interrupted sync whose write landed, or a lagging listing)
      // is not a fork: it is signed by this key and chains onto the same predecessor.
      const existing = await store.get(key);
      if (existing !== undefined && isOwnSegment(existing, body, keys)) {
        throw new BmError(
          ErrorCode.remoteUnavailable,
          `segment ${body.seq} of this client's log was already published by an earlier, interrupted sync`,
          'nothing new was published; sync again: the next sync fetches that segment and plans with it',
          {},
          { cause: e },
        );
      }
      throw new BmError(
        ErrorCode.equivocation,
        `the remote already holds a different segment ${body.seq} of this client's log`,
        'nothing was published; another process or a restored copy of this folder uses the same identity. Run `bm-log sync` again to fetch it; if it repeats, re-init this folder',
        {},
        { cause: e },
      );
    }
    throw e;
  }
  return seg;
}

function isOwnSegment(bytes: Uint8Array, body: SegmentBody, keys: KeyPair): boolean {
  try {
    decodeSegment(bytes, {
      vault: body.vault,
      client: body.client,
      seq: body.seq,
      prev: body.prev,
      publicKey: importPublicKeyHex(keys.publicKeyHex),
    });
    return true;
  } catch {
    return false;
  }
}

/**
 * A window of segment reads holds at most this many bytes (as listed), besides its first
 * segment: a first sync's segments hold up to 4,000 events (~750 KB) each, and eight of them
 * decoded at once were ~40 MB of a new client's heap. Acknowledgements and everyday segments
 * are a few KB: their windows stay at `concurrency` segments.
 */
const WINDOW_BYTES = 2 << 20;

export interface FetchOptions {
  readonly vault: string;
  readonly cursors: ReadonlyMap<string, Cursor>;
  /** Keys pinned on first sight; a client not in here has its key fetched and verified. */
  readonly pinnedKeys: ReadonlyMap<string, ClientKey>;
  /** Parallel segment reads per client. */
  readonly concurrency?: number;
  /**
   * This client's own id: its log is also probed one seq past the listing with a direct read,
   * so a segment it published whose acknowledgement was lost is found even when a listing
   * misses it (costs one request a sync).
   */
  readonly self?: string;
  /**
   * This client's own log is listed from just after this seq (ADR-0015: the audit window, one
   * page of up to 1,000 segments), so that segments of its own that vanished are noticed;
   * other logs are listed from their cursor's own segment. Default: from the cursor's.
   */
  readonly auditAfter?: number;
  /**
   * Takes each client's verified segments as they come (in seq order, a window at a time,
   * `key` being that client's key when it is new) instead of the result keeping them all: a
   * new client's fetch of a 100,000-file log otherwise holds every event decoded at once.
   * Awaited before the client's next window is read; it is never called concurrently.
   */
  readonly onSegments?: (segments: readonly FetchedSegment[], key: ClientKey | undefined) => Promise<void>;
}

interface LogListing {
  readonly objects: readonly ListedObject[];
  readonly requests: number;
  readonly audited?: AuditedWindow;
}

/**
 * Lists one client's log from its cursor's own segment on (so a reader sees whether that
 * segment is still there, ADR-0015), or all of it for a client with no cursor. With
 * `auditAfter` below the cursor, the first page starts there instead (one page: a window of up
 * to 1,000 segments), and the listing goes on from the later of that page's end and the cursor.
 */
async function listLog(
  store: ObjectStore,
  client: string,
  cursorSeq: number | undefined,
  auditAfter: number | undefined,
): Promise<LogListing> {
  const prefix = prefixOfLog(client);
  const tailAfter = cursorSeq === undefined ? undefined : keyOfSegment(client, cursorSeq - 1);
  if (cursorSeq === undefined || auditAfter === undefined || auditAfter >= cursorSeq - 1) {
    const objects = await listAll(store, prefix, tailAfter);
    const audited =
      auditAfter === undefined ? undefined : { after: Math.min(auditAfter, cursorSeq ?? 0), through: cursorSeq ?? 0, complete: true };
    return { objects, requests: Math.max(1, Math.ceil(objects.length / 1000)), ...(audited === undefined ? {} : { audited }) };
  }
  const page = await store.list(prefix, { startAfter: keyOfSegment(client, auditAfter) });
  const lastKey = page.objects.at(-1)?.key;
  if (!page.truncated || lastKey === undefined) {
    return { objects: page.objects, requests: 1, audited: { after: auditAfter, through: cursorSeq, complete: true } };
  }
  const resume = tailAfter !== undefined && tailAfter > lastKey ? tailAfter : lastKey;
  const rest = await listAll(store, prefix, resume);
  const through = Math.min(cursorSeq, parseSegmentKey(client, lastKey) ?? auditAfter);
  const requests = 1 + Math.max(1, Math.ceil(rest.length / 1000));
  return { objects: [...page.objects, ...rest], requests, audited: { after: auditAfter, through, complete: false } };
}

/** The entries of a log listing ADR-0015 checks: at the cursor before and after the fetch, and in the audit window. */
function computeKeptListing(
  client: string,
  objects: readonly ListedObject[],
  before: number,
  after: number | undefined,
  audited: AuditedWindow | undefined,
): ListedObject[] {
  return objects.filter((o) => {
    const seq = parseSegmentKey(client, o.key);
    if (seq === undefined) return false;
    return seq === before || seq === after || (audited !== undefined && seq > audited.after && seq <= audited.through);
  });
}

/** Segments `from`..`last` to read in one window: up to `concurrency`, and WINDOW_BYTES as listed (at least one). Pure. */
function planWindow(from: number, last: number, concurrency: number, listedSize: ReadonlyMap<number | undefined, number>): number[] {
  const batch: number[] = [];
  let bytes = 0;
  for (let s = from; s <= last && batch.length < concurrency; s++) {
    const size = listedSize.get(s) ?? 0;
    if (batch.length > 0 && bytes + size > WINDOW_BYTES) break;
    batch.push(s);
    bytes += size;
  }
  return batch;
}

/** One client's log as fetchLogs reads it: its key, and how far it is verified. */
interface ClientRead {
  readonly client: string;
  readonly key: KeyObject;
  /** This client's key when it is new: passed with its first window of segments. */
  readonly newKey: ClientKey | undefined;
  /** The last verified seq and its hash (the cursor's before the first window). */
  seq: number;
  prev: string | null;
}

/** The state one `fetchLogs` call shares across the clients it reads in parallel. */
class LogFetch {
  requests = 0;
  readonly faults: LogFault[] = [];
  readonly newKeys: ClientKey[] = [];
  readonly segments: FetchedSegment[] = [];
  fetchedSegments = 0;
  fetchedEvents = 0;
  readonly cursors: Map<string, Cursor>;
  readonly listedLogs = new Map<string, ListedObject[]>();
  audited: AuditedWindow | undefined;
  /** One `onSegments` call at a time, in the order the windows were verified. */
  private delivering: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: ObjectStore,
    private readonly options: FetchOptions,
  ) {
    this.cursors = new Map(options.cursors);
  }

  /** Hands a verified window to `onSegments`, or keeps it in `segments`. */
  deliver(win: FetchedSegment[], key: ClientKey | undefined): Promise<void> {
    this.fetchedSegments += win.length;
    for (const s of win) this.fetchedEvents += s.segment.body.events.length;
    const sink = this.options.onSegments;
    if (sink === undefined) {
      this.segments.push(...win);
      return Promise.resolve();
    }
    if (win.length === 0) return this.delivering;
    this.delivering = this.delivering.then(() => sink(win, key));
    return this.delivering;
  }

  async drain(): Promise<void> {
    await this.delivering;
  }

  /** The client's pinned key, or its published one verified (a new key); undefined when it cannot be had. */
  async readKey(client: string): Promise<{ key: KeyObject; newKey: ClientKey | undefined } | undefined> {
    const pinned = this.options.pinnedKeys.get(client);
    try {
      if (pinned) return { key: importPublicKeyHex(pinned.publicKeyHex), newKey: undefined };
      this.requests++;
      const id = await readIdentity(this.store, this.options.vault, client);
      const newKey = { client: id.client, name: id.name, publicKeyHex: id.publicKeyHex };
      this.newKeys.push(newKey);
      return { key: id.key, newKey };
    } catch (e) {
      if (!(e instanceof BmError)) throw e;
      // A transient read failure is not an integrity fault: skip the client quietly, as for
      // segment reads below; the next sync reads its key again.
      if (e.code !== ErrorCode.remoteUnavailable) this.faults.push({ client, seq: null, key: keyOfIdentity(client), error: e });
      return undefined;
    }
  }

  /** The client's log listing; undefined (and a fault) for a symbolic link in a directory remote (ADR-0015). */
  async listClientLog(client: string): Promise<LogListing | undefined> {
    try {
      const self = client === this.options.self;
      const listing = await listLog(this.store, client, this.cursors.get(client)?.seq, self ? this.options.auditAfter : undefined);
      this.requests += listing.requests;
      if (listing.audited !== undefined) this.audited = listing.audited;
      return listing;
    } catch (e) {
      if (!isBmError(e, ErrorCode.badPath)) throw e;
      this.faults.push({ client, seq: null, key: prefixOfLog(client), error: e });
      return undefined;
    }
  }

  /** The last seq to read: the listing's, or (this client's own log) one past it when a direct read finds it. */
  async findLastSeq(client: string, listed: number | undefined, seq: number): Promise<number | undefined> {
    if (client !== this.options.self) return listed;
    this.requests++;
    const probe = Math.max(listed ?? 0, seq) + 1;
    try {
      if ((await this.store.head(keyOfSegment(client, probe))) !== undefined) return probe;
    } catch (e) {
      if (!isBmError(e, ErrorCode.remoteUnavailable)) throw e;
    }
    return listed;
  }

  /** Reads and verifies one client's log after its cursor, a window at a time. */
  async fetchClient(client: string): Promise<void> {
    const got = await this.readKey(client);
    if (got === undefined) return;
    const cursor = this.cursors.get(client);
    const listing = await this.listClientLog(client);
    if (listing === undefined) return;
    const objs = listing.objects;
    const seq0 = cursor?.seq ?? 0;
    const read: ClientRead = { client, key: got.key, newKey: got.newKey, seq: seq0, prev: cursor?.hash ?? null };
    const want = objs.map((o) => parseSegmentKey(client, o.key)).filter((s): s is number => s !== undefined);
    try {
      const last = await this.findLastSeq(client, want.at(-1), read.seq);
      if (last === undefined) return;
      const concurrency = this.options.concurrency ?? 8;
      const listedSize = new Map(objs.map((o) => [parseSegmentKey(client, o.key), o.size]));
      // Bytes are verified strictly in order.
      for (let from = read.seq + 1; from <= last; ) {
        const batch = planWindow(from, last, concurrency, listedSize);
        const firstWindow = from === seq0 + 1;
        from += batch.length;
        this.requests += batch.length;
        const reads = await Promise.allSettled(batch.map((s) => this.store.get(keyOfSegment(client, s))));
        const { win, stop } = this.verifyWindow(read, batch, reads);
        await this.deliver(win, win.length > 0 && firstWindow ? read.newKey : undefined);
        if (stop) return;
      }
    } finally {
      this.listedLogs.set(client, computeKeptListing(client, objs, seq0, this.cursors.get(client)?.seq, listing.audited));
    }
  }

  /** The window's segments verified up to the first that fails; `stop` once one did. */
  private verifyWindow(read: ClientRead, batch: readonly number[], reads: PromiseSettledResult<Uint8Array | undefined>[]) {
    const { client } = read;
    const win: FetchedSegment[] = [];
    for (const [i, r] of reads.entries()) {
      const s = batch[i]!;
      const objectKey = keyOfSegment(client, s);
      if (r.status === 'rejected') {
        // A transient read failure: stop here quietly; the next sync continues from here.
        if (isBmError(r.reason, ErrorCode.remoteUnavailable)) return { win, stop: true };
        throw r.reason;
      }
      if (r.value === undefined) {
        const hint = "that client's log is read up to the gap; run `bm-log verify`";
        const error = new BmError(ErrorCode.brokenChain, `segment ${s} of client ${client} is missing while later ones exist`, hint);
        this.faults.push({ client, seq: s, key: objectKey, error });
        return { win, stop: true };
      }
      try {
        const seg = decodeSegment(r.value, { vault: this.options.vault, client, seq: s, prev: read.prev, publicKey: read.key });
        win.push({ client: client as ClientId, seq: s, segment: seg });
        read.seq = s;
        read.prev = seg.hash;
        this.cursors.set(client, { seq: s, hash: seg.hash });
      } catch (e) {
        if (!(e instanceof BmError)) throw e;
        this.faults.push({ client, seq: s, key: objectKey, error: e });
        return { win, stop: true };
      }
    }
    return { win, stop: false };
  }
}

/**
 * Fetches every client's segments after its cursor, verifying each (signature, schema,
 * vault, seq, chain link) before it is returned. A fault stops that client's log at the
 * fault: segments before it are kept, the fault is reported, other clients go on.
 * A gap in a listing is checked with a direct read, so a listing that skipped a key is
 * not mistaken for a deleted segment.
 */
export async function fetchLogs(store: ObjectStore, options: FetchOptions): Promise<FetchResult> {
  const run = new LogFetch(store, options);
  const listedKeys = await listAll(store, KEYS_PREFIX);
  run.requests += Math.max(1, Math.ceil(listedKeys.length / 1000));
  // Every listed client, and every pinned one even when the listing misses its key (a listing
  // cut short, or a key that vanished: its log is still read with the pinned key, ADR-0015).
  const listed = listedKeys.map((o) => o.key.slice(KEYS_PREFIX.length));
  const clients = [...new Set([...listed, ...options.pinnedKeys.keys()])].filter((c) => ULID_RE.test(c));
  await Promise.all(clients.map((client) => run.fetchClient(client)));
  await run.drain();
  const { segments, fetchedSegments, fetchedEvents, cursors, newKeys, faults, requests, listedLogs, audited } = run;
  const listings = { listedKeys, listedLogs, ...(audited === undefined ? {} : { audited }) };
  return { segments, fetchedSegments, fetchedEvents, cursors, newKeys, faults, requests, ...listings };
}
