import { BmError, ErrorCode, isBmError } from '../errors.js';
import type { WriterCheckpointBody } from './checkpoint-schema.js';
import { decodeSegment, decodeWriterCheckpoint, encodeWriterCheckpoint, type VerifiedWriterCheckpoint } from './codec.js';
import { ULID_RE } from './ids.js';
import { CHECKPOINTS_PREFIX, keyOfSegment, keyOfWriterCheckpoint, WRITER_CHECKPOINTS_PREFIX } from './layout.js';
import type { ClientKey, LogFault } from './log.js';
import { readIdentity } from './log.js';
import { importPublicKeyHex, type KeyPair } from './signing.js';
import { listAll, type ObjectStore } from './store/object-store.js';

/**
 * Writer checkpoints at `writer-checkpoints/<client>/<seq>` (ADR-0004, ADR-0014): written
 * only by `<client>`, create-only, each a checkpoint of that writer's own log up to its
 * segment `seq`. Format-1 checkpoints (`checkpoints/`, ADR-0007) are only listed, for
 * `verify`.
 */

/** Writes a writer checkpoint, create-only. */
export async function writeWriterCheckpoint(
  store: ObjectStore,
  body: WriterCheckpointBody,
  keys: KeyPair,
): Promise<VerifiedWriterCheckpoint> {
  const cp = encodeWriterCheckpoint(body, keys.privateKey);
  await writeWriterCheckpointBytes(store, body.client, body.seq, cp.bytes);
  return cp;
}

/** Writes the bytes of `client`'s writer checkpoint at `seq` (signed and encoded), create-only. */
export async function writeWriterCheckpointBytes(store: ObjectStore, client: string, seq: number, bytes: Uint8Array): Promise<void> {
  try {
    await store.putIfAbsent(keyOfWriterCheckpoint(client, seq), bytes);
  } catch (e) {
    if (isBmError(e, ErrorCode.objectExists)) {
      const hint = 'nothing was written; publish a segment first (sync) and write the checkpoint again';
      throw new BmError(ErrorCode.equivocation, `the remote already holds a checkpoint at ${client}/${seq}`, hint, {}, { cause: e });
    }
    throw e;
  }
}

/** The seqs of every checkpoint under `prefix`, per client, ascending (one listing, paged). */
export async function listCheckpointSeqs(
  store: ObjectStore,
  prefix = WRITER_CHECKPOINTS_PREFIX,
): Promise<{ seqs: Map<string, number[]>; requests: number }> {
  const listed = await listAll(store, prefix);
  const seqs = new Map<string, number[]>();
  const re = new RegExp(`^${prefix}([0-9A-HJKMNP-TV-Z]{26})/([0-9]{12})$`);
  for (const o of listed) {
    const m = re.exec(o.key);
    if (m === null || !ULID_RE.test(m[1]!)) continue;
    const seq = Number(m[2]);
    if (seq >= 1) seqs.set(m[1]!, [...(seqs.get(m[1]!) ?? []), seq]);
  }
  for (const list of seqs.values()) list.sort((a, b) => a - b);
  return { seqs, requests: Math.max(1, Math.ceil(listed.length / 1000)) };
}

/** The highest checkpoint seq of each client under `prefix` (writer checkpoints by default). */
export async function listCheckpoints(
  store: ObjectStore,
  prefix = WRITER_CHECKPOINTS_PREFIX,
): Promise<{ latest: Map<string, number>; requests: number }> {
  const { seqs, requests } = await listCheckpointSeqs(store, prefix);
  return { latest: new Map([...seqs].map(([c, list]) => [c, list.at(-1)!])), requests };
}

/** The format-1 checkpoints (ADR-0007) on the remote: only `verify` reads them. */
export const listFormat1Checkpoints = (store: ObjectStore) => listCheckpointSeqs(store, CHECKPOINTS_PREFIX);

/** Looks up clients' keys: pinned ones, else read and verified once from the remote (and remembered as new). */
export class KeyLookup {
  readonly keys: Map<string, ClientKey>;
  readonly newKeys = new Map<string, ClientKey>();
  requests = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly vault: string,
    pinned: ReadonlyMap<string, ClientKey>,
  ) {
    this.keys = new Map(pinned);
  }

  async of(client: string): Promise<ClientKey> {
    const known = this.keys.get(client);
    if (known) return known;
    this.requests++;
    const id = await readIdentity(this.store, this.vault, client);
    const k = { client: id.client, name: id.name, publicKeyHex: id.publicKeyHex };
    this.keys.set(client, k);
    this.newKeys.set(client, k);
    return k;
  }
}

/** Reads one of `writer`'s segments and verifies it (signature, vault, seq; not its chain link); undefined when missing. */
export async function readSegment(store: ObjectStore, keys: KeyLookup, writer: string, seq: number, vault: string) {
  const bytes = await store.get(keyOfSegment(writer, seq));
  if (bytes === undefined) return undefined;
  return decodeSegment(bytes, { vault, client: writer, seq, publicKey: importPublicKeyHex((await keys.of(writer)).publicKeyHex) });
}

/** Reads and checks one writer's checkpoint: its signature, and the writer's segment it stands on. */
async function readWriterCheckpoint(
  store: ObjectStore,
  keys: KeyLookup,
  vault: string,
  writer: string,
  seq: number,
): Promise<VerifiedWriterCheckpoint> {
  const what = `checkpoint ${writer}/${seq}`;
  const fault = (message: string) =>
    new BmError(ErrorCode.brokenChain, `${what} ${message}`, 'no checkpoint is used: this client replays every log');
  const bytes = await store.get(keyOfWriterCheckpoint(writer, seq));
  if (bytes === undefined) throw fault('was listed but is missing');
  const cp = decodeWriterCheckpoint(bytes, {
    vault,
    client: writer,
    seq,
    publicKey: importPublicKeyHex((await keys.of(writer)).publicKeyHex),
  });
  const seg = await readSegment(store, keys, writer, seq, vault);
  if (seg === undefined) throw fault(`stands on segment ${writer}/${seq}, which is missing`);
  const s = cp.body.segment;
  const seen = (x: Readonly<Record<string, number>>) => JSON.stringify(Object.entries(x).sort());
  const same =
    seg.hash === cp.body.hash && seg.body.time === s.time && seg.body.events.length === s.events && seen(seg.body.seen) === seen(s.seen);
  if (!same) throw fault(`does not describe its writer's segment ${seq} as the remote holds it`);
  return cp;
}

/** A new client's starting point: the latest checkpoint of every writer that wrote one (all, or none). */
export interface JoinCheckpoints {
  readonly checkpoints: readonly VerifiedWriterCheckpoint[];
  /** Verified keys read from the remote for these checkpoints (to pin). */
  readonly keys: readonly ClientKey[];
  readonly faults: readonly LogFault[];
  readonly requests: number;
}

/**
 * Finds a new client's checkpoints (ADR-0014): the latest writer checkpoint of every writer
 * that wrote one, each verified with its writer's published key and standing on that
 * writer's real segment (read, signature-checked, its hash and summary compared). A
 * checkpoint relies on others (`relies`: those by which it dropped claims): when one relies
 * on a later checkpoint of a writer than the listing showed, that one is read instead (a
 * listing that missed it cannot make the join use an older one). All or none: when any of
 * them fails a check (reported as a fault), none is used and the client replays every log,
 * since the others may have dropped claims that only that writer's checkpoint made unneeded.
 */
export async function readJoinCheckpoints(
  store: ObjectStore,
  vault: string,
  pinned: ReadonlyMap<string, ClientKey>,
): Promise<JoinCheckpoints> {
  const listed = await listCheckpoints(store);
  const keys = new KeyLookup(store, vault, pinned);
  const chosen = new Map(listed.latest);
  const read = new Map<string, VerifiedWriterCheckpoint>();
  const faults: LogFault[] = [];
  let reads = 0;
  for (let more = true; more && faults.length === 0; ) {
    more = false;
    for (const [writer, seq] of [...chosen].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (read.get(writer)?.body.seq === seq) continue;
      reads += 2;
      try {
        const cp = await readWriterCheckpoint(store, keys, vault, writer, seq);
        read.set(writer, cp);
        for (const r of cp.body.relies) {
          if (r.seq <= (chosen.get(r.client) ?? 0)) continue;
          chosen.set(r.client, r.seq);
          more = true;
        }
      } catch (e) {
        if (!(e instanceof BmError) || e.code === ErrorCode.remoteUnavailable) throw e;
        faults.push({ client: writer, seq, key: keyOfWriterCheckpoint(writer, seq), error: e });
      }
    }
  }
  const checkpoints = faults.length > 0 ? [] : [...read.values()];
  return { checkpoints, keys: [...keys.newKeys.values()], faults, requests: listed.requests + keys.requests + reads };
}
