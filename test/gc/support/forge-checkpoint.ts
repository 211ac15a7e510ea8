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
export function signCheckpointObject(
  body: unknown,
  at: { vault: string; client: string; seq: number; v: number },
  key: KeyObject,
): Uint8Array {
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
export async function forgeFormat1Checkpoint(
  store: ObjectStore,
  f: Format1Forgery,
  key: KeyObject,
): Promise<{ key: string; bytes: Uint8Array }> {
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

export interface WriterForgery {
  readonly vault: string;
  /** The forger and its own latest real segment, which the forged checkpoint stands on. */
  readonly forger: { client: string; seq: number };
  /** A path of the victim's to take over: a made-up version of the forger's replacing the victim's version there. */
  readonly takeOver: { path: string; replaces: string; id: string; content: { hash: string; size: number; mode: number } };
  /** A path of the victim's to hide: its version claimed replaced by the forger, and collected. */
  readonly hide: { path: string; version: string };
}

/**
 * A writer checkpoint (format 2, ADR-0014) signed by the forger that stands on its real latest
 * segment but claims what its log never said: a version of its own with made-up bytes at the
 * victim's path, replacing the victim's version, and the victim's version of another path
 * replaced and collected by it.
 */
export async function forgeWriterCheckpoint(
  store: ObjectStore,
  f: WriterForgery,
  key: KeyObject,
): Promise<{ key: string; bytes: Uint8Array }> {
  const seg = await readRealSegment(store, f.forger.client, f.forger.seq);
  const body = {
    v: 2,
    vault: f.vault,
    client: f.forger.client,
    seq: f.forger.seq,
    hash: seg.hash,
    time: seg.body.time,
    segment: { time: seg.body.time, seen: seg.body.seen, events: seg.body.events.length },
    lastEventful: 0,
    contexts: [{ seq: f.forger.seq, time: seg.body.time, seen: seg.body.seen, snapshot: seg.body.snapshot }],
    paths: [
      { path: f.hide.path, versions: [], replaced: [{ id: f.hide.version, seq: f.forger.seq }] },
      {
        path: f.takeOver.path,
        versions: [{ id: f.takeOver.id, type: 'put', ctx: 0, replaces: [f.takeOver.replaces], content: f.takeOver.content }],
        replaced: [],
      },
    ].sort((a, b) => (a.path < b.path ? -1 : 1)),
    collected: [{ path: f.hide.path, seq: f.forger.seq, versions: [f.hide.version] }],
    retired: [],
    condemnations: [],
    deletions: [],
    namers: [],
    relies: [],
  };
  const objectKey = `writer-checkpoints/${f.forger.client}/${String(f.forger.seq).padStart(12, '0')}`;
  const bytes = signCheckpointObject(body, { vault: f.vault, client: f.forger.client, seq: f.forger.seq, v: 2 }, key);
  await store.putIfAbsent(objectKey, bytes);
  return { key: objectKey, bytes };
}
