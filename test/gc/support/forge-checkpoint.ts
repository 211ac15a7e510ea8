import { decodeMsgpack, encodeMsgpack } from '../../../src/events/codec.js';
import { keyOfBlob, keyOfSegment } from '../../../src/events/layout.js';
import type { SegmentBody } from '../../../src/events/schema.js';
import { sha256Hex, signBody } from '../../../src/events/signing.js';
import type { ObjectStore } from '../../../src/events/store/object-store.js';
import type { KeyObject } from 'node:crypto';

/**
 * What a hostile client with write access to the remote can do with its own key: read other
 * clients' real segments, store blobs, and sign objects of its own. Built from the codec's
 * primitives only (msgpack, the signing domain), never from bm-log's checkpoint writer, so a
 * forged object is exactly what an attacker could produce.
 */

/** A real segment as the remote holds it: its body and the SHA-256 a cursor names it by. */
export async function readRealSegment(store: ObjectStore, client: string, seq: number): Promise<{ body: SegmentBody; hash: string }> {
  const bytes = await store.get(keyOfSegment(client, seq));
  if (bytes === undefined) throw new Error(`no segment ${client}/${seq}`);
  const env = decodeMsgpack(bytes, 'segment') as { body: Uint8Array };
  return { body: decodeMsgpack(env.body, 'segment body') as SegmentBody, hash: sha256Hex(env.body) };
}

/** Stores made-up bytes as a blob and returns their content reference. */
export async function storeBlob(store: ObjectStore, text: string): Promise<{ hash: string; size: number; mode: number }> {
  const bytes = Buffer.from(text);
  const hash = sha256Hex(bytes);
  await store.putIfAbsent(keyOfBlob(hash), bytes);
  return { hash, size: bytes.length, mode: 0o644 };
}

/** Signs `body` as a checkpoint of `client` at `seq` (envelope format `v`) with `key`. */
export function signCheckpointObject(body: unknown, at: { vault: string; client: string; seq: number; v: number }, key: KeyObject): Uint8Array {
  const bodyBytes = encodeMsgpack(body);
  const sig = signBody({ domain: 'checkpoint', vault: at.vault, client: at.client, seq: at.seq, prev: null }, bodyBytes, key);
  return encodeMsgpack({ v: at.v, body: bodyBytes, sig });
}

export interface Format1Forgery {
  readonly vault: string;
  /** The forger and its own latest real segment. */
  readonly forger: { client: string; seq: number };
  /** The victim and its latest real segment, named in the frontier and as the forged head's context. */
  readonly victim: { client: string; seq: number };
  /** The one path the forged state keeps, with the victim's version id and made-up content. */
  readonly path: string;
  readonly version: string;
  readonly content: { hash: string; size: number; mode: number };
}

/**
 * A format-1 checkpoint (ADR-0007) of a forger that names the victim's real segments in its
 * frontier but lists one path only, at the victim's version id with made-up content: every
 * other live path is left out.
 */
export async function forgeFormat1Checkpoint(store: ObjectStore, f: Format1Forgery, key: KeyObject): Promise<{ key: string; bytes: Uint8Array }> {
  const victim = await readRealSegment(store, f.victim.client, f.victim.seq);
  const forger = await readRealSegment(store, f.forger.client, f.forger.seq);
  const summary = (s: SegmentBody) => ({ client: s.client, seq: s.seq, time: s.time, seen: s.seen, events: s.events.length });
  const body = {
    v: 1,
    vault: f.vault,
    client: f.forger.client,
    seq: f.forger.seq,
    time: forger.body.time,
    frontier: Object.fromEntries(
      [
        [f.victim.client, { seq: f.victim.seq, hash: victim.hash }],
        [f.forger.client, { seq: f.forger.seq, hash: forger.hash }],
      ].sort(([a], [b]) => ((a as string) < (b as string) ? -1 : 1)),
    ),
    contexts: [{ client: f.victim.client, seq: f.victim.seq, time: victim.body.time, seen: victim.body.seen, snapshot: null }],
    paths: [{ path: f.path, heads: [{ id: f.version, type: 'put', ctx: 0, replaces: [], content: f.content }], replaced: [] }],
    collected: [],
    retired: [],
    latest: [summary(victim.body), summary(forger.body)].sort((a, b) => (a.client < b.client ? -1 : 1)),
    lastEventful: { [f.victim.client]: f.victim.seq },
    condemnations: [],
    deletions: [],
    namers: [],
  };
  const objectKey = `checkpoints/${f.forger.client}/${String(f.forger.seq).padStart(12, '0')}`;
  const bytes = signCheckpointObject(body, { vault: f.vault, client: f.forger.client, seq: f.forger.seq, v: 1 }, key);
  await store.putIfAbsent(objectKey, bytes);
  return { key: objectKey, bytes };
}
