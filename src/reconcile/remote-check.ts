import { BmError, ErrorCode, isBmError } from '../errors.js';
import { decodeIdentity, decodeSegment, decodeVault } from '../events/codec.js';
import type { ClientId } from '../events/ids.js';
import { keyOfIdentity, keyOfSegment, parseSegmentKey, VAULT_KEY, KEYS_PREFIX } from '../events/layout.js';
import { writeIdentity, type AuditedWindow, type Cursor, type FetchResult, type LogFault } from '../events/log.js';
import { importPublicKeyHex } from '../events/signing.js';
import { bytesEqual, type ListedObject, type ObjectStore } from '../events/store/object-store.js';
import type { SyncIdentity, SyncIndex } from './ports.js';
import { mustRemotePresent, planRemotePresence } from './remote-presence.js';
import type { SnapshotPort } from '../events/store/snapshot-port.js';

/**
 * ADR-0015: at each fetch, a client compares what the listings it makes anyway showed with what
 * it holds, puts back its own objects that vanished (its segments byte for byte from its index,
 * its key, the vault marker) and reports every other vanished or replaced key, log tail or vault
 * marker as an integrity fault. Pure planning (`planRemoteCheck`) is separate from the reads,
 * HEADs and create-only writes that confirm and repair (`executeRemoteCheck`).
 */

/** Meta key of the pins below. */
export const REMOTE_PINS_KEY = 'remote-pins';

/** What this client found on the remote when it last checked (kept in its index). */
export interface RemotePins {
  readonly v: 1;
  /**
   * Listing tags (`ListedObject.tag`) of the objects it checked and found as they should be:
   * `keys/<c>` of every client it pinned, and each client's tail segment `log/<c>/<seq>`.
   */
  readonly tags: Readonly<Record<string, string>>;
  /** The vault marker's bytes as this client first read them. */
  readonly vault?: Uint8Array;
  /** Its own log's next audit window starts after this seq (0: from the start). */
  readonly auditAfter: number;
}

export const EMPTY_PINS: RemotePins = { v: 1, tags: {}, auditAfter: 0 };

/** A pins record read from the index, or the empty one when absent or unreadable. */
export function parseRemotePins(value: unknown): RemotePins {
  if (typeof value !== 'object' || value === null) return EMPTY_PINS;
  const r = value as Record<string, unknown>;
  const tags = typeof r.tags === 'object' && r.tags !== null ? (r.tags as Record<string, unknown>) : {};
  const okTags = Object.fromEntries(Object.entries(tags).filter((e): e is [string, string] => typeof e[1] === 'string'));
  const audit = typeof r.auditAfter === 'number' && Number.isInteger(r.auditAfter) && r.auditAfter >= 0 ? r.auditAfter : 0;
  return { v: 1, tags: okTags, ...(r.vault instanceof Uint8Array ? { vault: r.vault } : {}), auditAfter: audit };
}

/** One object the check looks at again: a client's key, or one segment of a client's log. */
export type CheckedObject =
  | { readonly kind: 'key'; readonly client: string }
  | { readonly kind: 'segment'; readonly client: string; readonly seq: number };

export function keyOfChecked(o: CheckedObject): string {
  return o.kind === 'key' ? keyOfIdentity(o.client) : keyOfSegment(o.client, o.seq);
}

export interface RemoteCheckInput {
  readonly self: string;
  /** Clients whose key this client holds (pinned before this fetch, itself included). */
  readonly pinned: ReadonlySet<string>;
  /** Clients whose key this fetch read and verified for the first time. */
  readonly newKeys: ReadonlySet<string>;
  readonly listedKeys: readonly ListedObject[];
  readonly listedLogs: ReadonlyMap<string, readonly ListedObject[]>;
  readonly before: ReadonlyMap<string, Cursor>;
  readonly after: ReadonlyMap<string, Cursor>;
  readonly audited: AuditedWindow | undefined;
  readonly pins: RemotePins;
}

export interface RemoteCheckPlan {
  /** Objects that should be there but the listings did not show: a HEAD decides (a listing may be cut short). */
  readonly absent: readonly CheckedObject[];
  /** Objects whose listing tag differs from the pinned one: read and compared with what this client holds. */
  readonly changed: readonly (CheckedObject & { readonly tag: string })[];
  /** Tails with no pinned tag yet (a new version of bm-log, or this client's own last write): sizes compared locally. */
  readonly unpinned: readonly (CheckedObject & { readonly kind: 'segment'; readonly size: number; readonly tag: string })[];
  /** Tags that stand as they are (checked now, or by this fetch's verified reads). */
  readonly tags: Record<string, string>;
  /**
   * Set when more of the own audit window was missing from the listing than one fetch confirms
   * (`MAX_OWN_ABSENT`): the first own seq left unconfirmed; the next audit starts there.
   */
  readonly deferredFrom?: number;
}

/**
 * At most this many of the own window's seqs are confirmed (HEAD, or put back) per fetch: a
 * listing that lies (cut short yet "complete") must not cost a thousand HEADs at once. The rest
 * wait for the next fetch, whose audit starts at the first of them.
 */
export const MAX_OWN_ABSENT = 100;

/**
 * Compares the listings of a fetch with what this client holds (pure). Nothing here is read
 * beyond those listings: a no-op sync costs no request for it (ADR-0015).
 */
export function planRemoteCheck(input: RemoteCheckInput): RemoteCheckPlan {
  const absent: CheckedObject[] = [];
  const changed: (CheckedObject & { tag: string })[] = [];
  const unpinned: (CheckedObject & { kind: 'segment'; size: number; tag: string })[] = [];
  const tags: Record<string, string> = carriedTags(input);
  const keys = new Map(input.listedKeys.map((o) => [o.key.slice(KEYS_PREFIX.length), o]));
  let ownAbsent = 0;
  let deferredFrom: number | undefined;
  for (const client of input.pinned) {
    const listed = keys.get(client);
    if (listed === undefined) absent.push({ kind: 'key', client });
    else if (listed.tag !== undefined) classify({ kind: 'key', client }, listed.tag, input.pins, tags, changed);
  }
  for (const client of input.newKeys) {
    const tag = keys.get(client)?.tag;
    if (tag !== undefined) tags[keyOfIdentity(client)] = tag;
  }
  for (const [client, objects] of input.listedLogs) {
    const bySeq = new Map(objects.map((o) => [parseSegmentKey(client, o.key), o]));
    const before = input.before.get(client)?.seq;
    const after = input.after.get(client)?.seq;
    const expected = new Set<number>(before === undefined ? [] : [before]);
    if (client === input.self && input.audited !== undefined) {
      for (let s = input.audited.after + 1; s <= Math.min(input.audited.through, before ?? 0); s++) expected.add(s);
    }
    for (const s of [...expected].sort((a, b) => a - b)) {
      if (bySeq.has(s)) continue;
      if (client === input.self && s !== before && ownAbsent++ >= MAX_OWN_ABSENT) {
        deferredFrom ??= s;
        continue;
      }
      absent.push({ kind: 'segment', client, seq: s });
    }
    const tail = after === undefined ? undefined : bySeq.get(after);
    if (after === undefined || tail?.tag === undefined) continue;
    const object = { kind: 'segment' as const, client, seq: after };
    if (after !== before)
      tags[tail.key] = tail.tag; // read and verified by this fetch
    else if (input.pins.tags[tail.key] === undefined) unpinned.push({ ...object, size: tail.size, tag: tail.tag });
    else classify(object, tail.tag, input.pins, tags, changed);
  }
  return { absent, changed, unpinned, tags, ...(deferredFrom === undefined ? {} : { deferredFrom }) };
}

/** A listed object with a pinned tag: kept when equal, looked at again when not. Keys with no pin are read once. */
function classify(
  o: CheckedObject,
  tag: string,
  pins: RemotePins,
  tags: Record<string, string>,
  changed: (CheckedObject & { tag: string })[],
): void {
  const key = keyOfChecked(o);
  if (pins.tags[key] === tag) tags[key] = tag;
  else changed.push({ ...o, tag });
}

/** The pins this check does not look at again (clients not read this time), carried over as they are. */
function carriedTags(input: RemoteCheckInput): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, tag] of Object.entries(input.pins.tags)) {
    const client = key.startsWith(KEYS_PREFIX) ? key.slice(KEYS_PREFIX.length) : key.split('/')[1];
    if (client === undefined) continue;
    if (key.startsWith(KEYS_PREFIX) ? !input.pinned.has(client) : !input.listedLogs.has(client)) out[key] = tag;
  }
  return out;
}

/** What a check found and did. */
export interface RemoteCheckResult {
  readonly faults: readonly LogFault[];
  /** Objects put back (object keys), in the order they were written. */
  readonly restored: readonly string[];
  readonly pins: RemotePins;
  readonly requests: number;
}

export interface RemoteCheckContext {
  readonly store: ObjectStore;
  readonly index: Pick<SyncIndex, 'getSegment'>;
  readonly identity: SyncIdentity;
  readonly now: () => Date;
  /** Pinned public key and name of every client this client holds. */
  readonly keys: ReadonlyMap<string, { readonly publicKey: string; readonly name: string }>;
  /** Look, report, but write nothing (a dry run, `bm-log status`). */
  readonly dryRun: boolean;
  /**
   * The bucket snapshot this client last synced against (ADR-0034), where the remote has them:
   * another client's key or segment that vanished since is read back from it and put back.
   */
  readonly baseline?: { readonly snapshots: SnapshotPort; readonly version: string };
}

/**
 * Confirms with HEADs what the listings did not show, reads what changed, puts back this
 * client's own vanished segments (byte for byte from its index, create-only) and key, and
 * reports everything else as a fault. Transient failures skip a check quietly: it is made
 * again at the next fetch.
 */
export async function executeRemoteCheck(
  ctx: RemoteCheckContext,
  plan: RemoteCheckPlan,
  pins: RemotePins,
  audited: AuditedWindow | undefined,
): Promise<RemoteCheckResult> {
  const run = new CheckRun(ctx, pins, plan.tags);
  await mapQuietly(plan.absent, (o) => run.confirmAbsent(o));
  await mapQuietly(plan.changed, (o) => run.compare(o, o.tag));
  await mapQuietly(plan.unpinned, (o) => run.compareSize(o));
  const auditAfter =
    plan.deferredFrom !== undefined
      ? plan.deferredFrom - 1
      : audited === undefined
        ? pins.auditAfter
        : audited.complete
          ? 0
          : audited.through;
  return { faults: run.faults, restored: run.restored, pins: { ...pins, tags: run.tags, auditAfter }, requests: run.requests };
}

/** Runs `fn` over `items`, 8 at a time; a transient failure of one skips it. */
async function mapQuietly<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        if (!isBmError(e, ErrorCode.remoteUnavailable)) throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, items.length) }, worker));
}

class CheckRun {
  readonly faults: LogFault[] = [];
  readonly restored: string[] = [];
  requests = 0;

  constructor(
    private readonly ctx: RemoteCheckContext,
    private readonly pins: RemotePins,
    readonly tags: Record<string, string>,
  ) {}

  private get self(): string {
    return this.ctx.identity.client;
  }

  private nameOf(client: string): string {
    return client === this.self ? this.ctx.identity.name : (this.ctx.keys.get(client)?.name ?? client);
  }

  /** Not in the listing: gone, or a listing cut short. */
  async confirmAbsent(o: CheckedObject): Promise<void> {
    this.requests++;
    if ((await this.ctx.store.head(keyOfChecked(o))) === undefined) await this.vanished(o);
  }

  /** Listed with another tag than pinned: read and compared with what this client holds. */
  async compare(o: CheckedObject, tag: string): Promise<void> {
    this.requests++;
    const bytes = await this.ctx.store.get(keyOfChecked(o));
    if (bytes === undefined) return this.vanished(o);
    const problem = o.kind === 'key' ? this.keyProblem(o.client, bytes) : await this.segmentProblem(o.client, o.seq, bytes);
    const key = keyOfChecked(o);
    if (problem === undefined) {
      this.tags[key] = tag;
      return;
    }
    // The pin of the good object stays: the wrong one is read (and reported) again next time.
    const good = this.pins.tags[key];
    if (good !== undefined) this.tags[key] = good;
    this.replaced(o, problem);
  }

  /** A tail with no pinned tag yet: its listed size against the bytes this client holds, then pinned. */
  async compareSize(o: CheckedObject & { kind: 'segment'; size: number; tag: string }): Promise<void> {
    const held = await this.ctx.index.getSegment(o.client as ClientId, o.seq);
    if (held !== undefined && held.length === o.size) this.tags[keyOfChecked(o)] = o.tag;
    else await this.compare(o, o.tag);
  }

  private keyProblem(client: string, bytes: Uint8Array): BmError | undefined {
    const want = client === this.self ? this.ctx.identity.keys.publicKeyHex : this.ctx.keys.get(client)?.publicKey;
    try {
      const id = decodeIdentity(bytes, { vault: this.ctx.identity.vault, client }, importPublicKeyHex);
      if (want === undefined || id.publicKey === want) return undefined;
      return new BmError(ErrorCode.keyMismatch, `it publishes another key than the one pinned for ${this.nameOf(client)}`);
    } catch (e) {
      if (!(e instanceof BmError) || e.code === ErrorCode.remoteUnavailable) throw e;
      return e;
    }
  }

  private async segmentProblem(client: string, seq: number, bytes: Uint8Array): Promise<BmError | undefined> {
    const held = await this.ctx.index.getSegment(client as ClientId, seq);
    if (held === undefined || bytesEqual(held, bytes)) return undefined;
    const key = client === this.self ? this.ctx.identity.keys.publicKeyHex : this.ctx.keys.get(client)?.publicKey;
    if (key === undefined) return undefined;
    try {
      decodeSegment(bytes, { vault: this.ctx.identity.vault, client, seq, publicKey: importPublicKeyHex(key) });
      return new BmError(
        ErrorCode.equivocation,
        `another validly signed segment ${seq} of ${this.nameOf(client)} than the one fetched before`,
      );
    } catch (e) {
      if (!(e instanceof BmError)) throw e;
      return e;
    }
  }

  private async vanished(o: CheckedObject): Promise<void> {
    if (o.client === this.self && !this.ctx.dryRun) return this.restore(o);
    if (!this.ctx.dryRun && (await this.restoreFromBaseline(o))) return;
    const who = this.nameOf(o.client);
    const what = o.kind === 'key' ? `the published key of ${who}` : `segment ${o.seq} of ${who}'s log`;
    const hint =
      o.client === this.self
        ? 'nothing was changed (a dry run); the next `bm-log sync` here puts it back'
        : `${who} puts back its own objects at its next sync: run \`bm-log sync\` on ${who}'s machine; ` +
          `if that client is gone for good, restore ${keyOfChecked(o)} from a backup of the remote`;
    this.fault(o, new BmError(o.kind === 'key' ? ErrorCode.unknownKey : ErrorCode.brokenChain, `${what} vanished from the remote`, hint));
  }

  private replaced(o: CheckedObject, problem: BmError): void {
    const who = this.nameOf(o.client);
    const what = o.kind === 'key' ? `the published key of ${who}` : `segment ${o.seq} of ${who}'s log`;
    const owner = o.client === this.self ? 'this client' : who;
    const hint =
      `nothing is ever overwritten, so it stays wrong until someone with write access deletes ${keyOfChecked(o)}; ` +
      `${owner} then puts it back at its next sync. Run \`bm-log verify\` for a full report`;
    this.fault(o, new BmError(problem.code, `${what} was replaced on the remote: ${problem.message}`, hint));
  }

  private fault(o: CheckedObject, error: BmError): void {
    this.faults.push({ client: o.client, seq: o.kind === 'segment' ? o.seq : null, key: keyOfChecked(o), error });
  }

  /**
   * Another client's vanished key or segment, read back from the baseline snapshot and put back
   * (create-only) when it is what this client pinned or holds: the owner's signed bytes, so
   * nobody speaks for anyone. False when there is no snapshot, or it does not hold them.
   */
  private async restoreFromBaseline(o: CheckedObject): Promise<boolean> {
    const from = this.ctx.baseline;
    if (from === undefined) return false;
    const key = keyOfChecked(o);
    this.requests++;
    const bytes = await from.snapshots.get(from.version, key);
    if (bytes === undefined) return false;
    const problem = o.kind === 'key' ? this.keyProblem(o.client, bytes) : await this.segmentFromSnapshotProblem(o.client, o.seq, bytes);
    if (problem !== undefined) return false;
    this.requests++;
    if ((await this.ctx.store.putIfAbsent(key, bytes)) === 'created') this.restored.push(key);
    return true;
  }

  /** A segment read from a snapshot: the bytes this client holds, or (none held) validly signed by its writer. */
  private async segmentFromSnapshotProblem(client: string, seq: number, bytes: Uint8Array): Promise<BmError | undefined> {
    const held = await this.ctx.index.getSegment(client as ClientId, seq);
    if (held !== undefined)
      return bytesEqual(held, bytes) ? undefined : new BmError(ErrorCode.equivocation, 'differs from the segment held');
    const key = this.ctx.keys.get(client)?.publicKey;
    if (key === undefined) return new BmError(ErrorCode.unknownKey, 'no key pinned');
    try {
      decodeSegment(bytes, { vault: this.ctx.identity.vault, client, seq, publicKey: importPublicKeyHex(key) });
      return undefined;
    } catch (e) {
      if (!(e instanceof BmError)) throw e;
      return e;
    }
  }

  /** Puts back one of this client's own objects, create-only. */
  private async restore(o: CheckedObject): Promise<void> {
    const key = keyOfChecked(o);
    this.requests++;
    if (o.kind === 'key') {
      const { identity } = this.ctx;
      const body = {
        v: 1 as const,
        vault: identity.vault,
        client: identity.client,
        name: identity.name,
        publicKey: identity.keys.publicKeyHex,
      };
      await writeIdentity(this.ctx.store, { ...body, time: this.ctx.now().toISOString() }, identity.keys);
      this.restored.push(key);
      return;
    }
    const bytes = await this.ctx.index.getSegment(o.client as ClientId, o.seq);
    if (bytes === undefined) {
      const what = `segment ${o.seq} of this client's log vanished from the remote, and this folder does not hold it`;
      const hint =
        'it cannot be put back from here; run `bm-log verify`, and restore the object from a backup of the remote if there is one';
      this.fault(o, new BmError(ErrorCode.brokenChain, what, hint));
      return;
    }
    try {
      if ((await this.ctx.store.putIfAbsent(key, bytes)) === 'created') this.restored.push(key);
    } catch (e) {
      if (!isBmError(e, ErrorCode.objectExists)) throw e;
      const what = `segment ${o.seq} of this client's log was replaced on the remote while it was being put back`;
      this.fault(o, new BmError(ErrorCode.equivocation, what, 'nothing was overwritten; run `bm-log verify`'));
    }
  }
}

/** What `executeVaultCheck` found and did. */
export interface VaultCheck {
  readonly faults: LogFault[];
  readonly restored: string[];
  readonly pins: RemotePins;
}

/** The hint of a vault marker that is wrong on the remote. */
const VAULT_HINT =
  'nothing is ever overwritten: someone with write access must delete the `vault` object; the next client to sync then puts back ' +
  'the marker it holds. New clients cannot join safely until then';

/**
 * The vault marker against its pin (ADR-0015): absent, it is put back from the pin (every
 * client that synced holds its exact bytes; create-only); different, it is a fault; with no pin
 * yet, it must name this client's vault, and is pinned. `bytes`: undefined when missing,
 * 'unknown' when the read failed (checked again next time).
 */
export async function executeVaultCheck(
  ctx: RemoteCheckContext,
  pins: RemotePins,
  bytes: Uint8Array | undefined | 'unknown',
): Promise<VaultCheck> {
  const ok = (restored: string[], p = pins) => ({ faults: [], restored, pins: p });
  const fault = (error: BmError) => ({ faults: [{ client: ctx.identity.client, seq: null, key: VAULT_KEY, error }], restored: [], pins });
  if (bytes === 'unknown') return ok([]);
  const problem = computeVaultFinding(bytes, pins.vault, ctx.identity.vault);
  if (problem === undefined)
    return bytes !== undefined && pins.vault === undefined ? ok([], { ...pins, vault: Uint8Array.from(bytes) }) : ok([]);
  if (bytes !== undefined || pins.vault === undefined) return fault(problem);
  if (ctx.dryRun)
    return fault(new BmError(problem.code, problem.message, 'nothing was changed (a dry run); the next `bm-log sync` here puts it back'));
  try {
    return ok((await ctx.store.putIfAbsent(VAULT_KEY, pins.vault)) === 'created' ? [VAULT_KEY] : []);
  } catch (e) {
    if (!isBmError(e, ErrorCode.objectExists)) throw e;
    return fault(new BmError(ErrorCode.malformed, 'the vault marker was replaced on the remote while it was being put back', VAULT_HINT));
  }
}

/**
 * What is wrong with the vault marker on the remote (pure): missing (`bytes` undefined), not a
 * marker, one of another vault, or (this client holds `pinned` bytes) different bytes.
 * Undefined when it is the pinned marker, or (none pinned) a marker of `vault`.
 */
export function computeVaultFinding(bytes: Uint8Array | undefined, pinned: Uint8Array | undefined, vault: string): BmError | undefined {
  if (bytes === undefined) {
    return pinned === undefined
      ? new BmError(
          ErrorCode.malformed,
          'the vault marker vanished from the remote, and this client never read it',
          'a client that synced before puts it back at its next `bm-log sync`; or restore the `vault` object from a backup of the remote',
        )
      : new BmError(ErrorCode.malformed, 'the vault marker vanished from the remote', 'the next `bm-log sync` here puts it back');
  }
  if (pinned !== undefined && bytesEqual(pinned, bytes)) return undefined;
  try {
    const v = decodeVault(bytes).vault;
    if (v !== vault)
      return new BmError(
        ErrorCode.wrongVault,
        `the vault marker was replaced on the remote: it names vault ${v}, not ${vault}`,
        VAULT_HINT,
      );
    if (pinned === undefined) return undefined;
    return new BmError(
      ErrorCode.equivocation,
      'the vault marker was replaced on the remote: its bytes differ from those this client read first',
      VAULT_HINT,
    );
  } catch (e) {
    if (!(e instanceof BmError)) throw e;
    return new BmError(e.code, `the vault marker was replaced on the remote: ${e.message}`, VAULT_HINT);
  }
}

/** The vault marker's bytes, undefined when missing, 'unknown' when the read failed transiently (ADR-0015). */
export async function readVaultMarker(store: ObjectStore): Promise<Uint8Array | undefined | 'unknown'> {
  try {
    return await store.get(VAULT_KEY);
  } catch (e) {
    if (isBmError(e, ErrorCode.remoteUnavailable)) return 'unknown';
    throw e;
  }
}

/** What a fetch gives the check. */
export interface FetchForCheck {
  readonly fetched: Pick<FetchResult, 'listedKeys' | 'listedLogs' | 'audited' | 'cursors' | 'newKeys'>;
  /** Cursors before the fetch. */
  readonly before: ReadonlyMap<string, Cursor>;
  readonly pins: RemotePins;
  readonly vault: Uint8Array | undefined | 'unknown';
}

/** The whole check of one fetch (ADR-0015): its listings against the pins, then the vault marker. */
export async function executeFetchCheck(ctx: RemoteCheckContext, f: FetchForCheck): Promise<RemoteCheckResult> {
  const newKeys = new Set<string>(f.fetched.newKeys.map((k) => k.client));
  const pinned = new Set<string>([...ctx.keys.keys(), ctx.identity.client].filter((c) => !newKeys.has(c)));
  const { listedKeys, listedLogs, audited } = f.fetched;
  const input = { self: ctx.identity.client, pinned, newKeys, listedKeys, listedLogs, before: f.before, after: f.fetched.cursors, audited };
  // A remote that looks empty or foreign is refused before anything is put back (§5 of ADR-0015).
  const presence = { ...input, vault: ctx.identity.vault, vaultPinned: f.pins.vault !== undefined, marker: f.vault };
  await mustRemotePresent(ctx.store, planRemotePresence(presence));
  const plan = planRemoteCheck({ ...input, pins: f.pins });
  const logs = await executeRemoteCheck(ctx, plan, f.pins, f.fetched.audited);
  const vault = await executeVaultCheck(ctx, logs.pins, f.vault);
  return {
    faults: [...logs.faults, ...vault.faults],
    restored: [...logs.restored, ...vault.restored],
    pins: vault.pins,
    requests: logs.requests + 1,
  };
}

/** True when `a` and `b` say the same (so the index need not be written). */
export function isSamePins(a: RemotePins, b: RemotePins): boolean {
  const sameVault = a.vault === undefined || b.vault === undefined ? a.vault === b.vault : bytesEqual(a.vault, b.vault);
  if (a.auditAfter !== b.auditAfter || !sameVault) return false;
  const ka = Object.keys(a.tags);
  return ka.length === Object.keys(b.tags).length && ka.every((k) => a.tags[k] === b.tags[k]);
}
