import { BmError, ErrorCode, isBmError } from '../errors.js';
import { decodeCheckpoint, decodeSegment, encodeCheckpoint, type VerifiedCheckpoint } from './codec.js';
import { ULID_RE } from './ids.js';
import { CHECKPOINTS_PREFIX, keyOfCheckpoint, keyOfSegment } from './layout.js';
import type { ClientKey, LogFault } from './log.js';
import { readIdentity } from './log.js';
import type { CheckpointBody } from './schema.js';
import { importPublicKeyHex, type KeyPair } from './signing.js';
import { listAll, type ObjectStore } from './store/object-store.js';

/**
 * Signed checkpoints at `checkpoints/<client>/<seq>` (ADR-0004, ADR-0007): written only by
 * `<client>`, create-only, `seq` being the writer's own log seq in the checkpoint's frontier.
 */

/** Writes a checkpoint, create-only. The same bytes already there is a success. */
export async function writeCheckpoint(store: ObjectStore, body: CheckpointBody, keys: KeyPair): Promise<VerifiedCheckpoint> {
  const cp = encodeCheckpoint(body, keys.privateKey);
  try {
    await store.putIfAbsent(keyOfCheckpoint(body.client, body.seq), cp.bytes);
  } catch (e) {
    if (isBmError(e, ErrorCode.objectExists)) {
      throw new BmError(ErrorCode.equivocation, `the remote already holds a different checkpoint at ${body.client}/${body.seq}`, 'nothing was written; publish a segment first (sync) and write the checkpoint again', {}, { cause: e });
    }
    throw e;
  }
  return cp;
}

/** The highest checkpoint seq of each client that wrote one (one listing of `checkpoints/`). */
export async function listCheckpoints(store: ObjectStore): Promise<{ latest: Map<string, number>; requests: number }> {
  const listed = await listAll(store, CHECKPOINTS_PREFIX);
  const latest = new Map<string, number>();
  for (const o of listed) {
    const m = /^checkpoints\/([0-9A-HJKMNP-TV-Z]{26})\/([0-9]{12})$/.exec(o.key);
    if (m === null || !ULID_RE.test(m[1]!)) continue;
    const seq = Number(m[2]);
    if (seq >= 1 && seq > (latest.get(m[1]!) ?? 0)) latest.set(m[1]!, seq);
  }
  return { latest, requests: Math.max(1, Math.ceil(listed.length / 1000)) };
}

export interface FoundCheckpoint {
  /** Undefined when no checkpoint passed its checks. */
  readonly checkpoint: VerifiedCheckpoint | undefined;
  /** Verified keys of the writer and of every client in the frontier (to pin). */
  readonly keys: readonly ClientKey[];
  readonly faults: readonly LogFault[];
  readonly requests: number;
}

/**
 * Finds the newest usable checkpoint: the latest of each writer, verified with the writer's
 * published key; then its frontier: every cursor must name a real segment of that client
 * (read, signature-checked with that client's key, hash compared). Among the valid ones,
 * the one whose frontier covers the most segments wins. A checkpoint failing a check is
 * reported as a fault and skipped.
 */
export async function readNewestCheckpoint(store: ObjectStore, vault: string, pinned: ReadonlyMap<string, ClientKey>): Promise<FoundCheckpoint> {
  const faults: LogFault[] = [];
  const listed = await listCheckpoints(store);
  let requests = listed.requests;
  const keys = new Map<string, ClientKey>(pinned);
  const newKeys = new Map<string, ClientKey>();
  const keyOf = async (client: string): Promise<ClientKey> => {
    const known = keys.get(client);
    if (known) return known;
    requests++;
    const id = await readIdentity(store, vault, client);
    const k = { client: id.client, name: id.name, publicKeyHex: id.publicKeyHex };
    keys.set(client, k);
    newKeys.set(client, k);
    return k;
  };
  let best: { cp: VerifiedCheckpoint; weight: number } | undefined;
  for (const [writer, seq] of [...listed.latest].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const key = keyOfCheckpoint(writer, seq);
    try {
      requests++;
      const bytes = await store.get(key);
      if (bytes === undefined) continue;
      const cp = decodeCheckpoint(bytes, { vault, client: writer, seq, publicKey: importPublicKeyHex((await keyOf(writer)).publicKeyHex) });
      if (cp.body.frontier[writer]?.seq !== seq) throw new BmError(ErrorCode.malformed, `checkpoint ${writer}/${seq} does not hold its writer's own seq in its frontier`, 'the checkpoint is ignored');
      let weight = 0;
      for (const [client, cur] of Object.entries(cp.body.frontier)) {
        requests++;
        const seg = await store.get(keyOfSegment(client, cur.seq));
        if (seg === undefined) throw new BmError(ErrorCode.brokenChain, `checkpoint ${writer}/${seq} names segment ${client}/${cur.seq}, which is missing`, 'the checkpoint is ignored');
        const verified = decodeSegment(seg, { vault, client, seq: cur.seq, publicKey: importPublicKeyHex((await keyOf(client)).publicKeyHex) });
        if (verified.hash !== cur.hash) throw new BmError(ErrorCode.brokenChain, `checkpoint ${writer}/${seq} names segment ${client}/${cur.seq} with another hash than the remote holds`, 'the checkpoint is ignored');
        weight += cur.seq;
      }
      if (best === undefined || weight > best.weight) best = { cp, weight };
    } catch (e) {
      if (!(e instanceof BmError) || e.code === ErrorCode.remoteUnavailable) throw e;
      faults.push({ client: writer, seq, key, error: e });
    }
  }
  return { checkpoint: best?.cp, keys: [...newKeys.values()], faults, requests };
}
