import type { KeyObject } from 'node:crypto';
import { BmError, ErrorCode } from '../errors.js';
import {
  KEYS_AFTER_PATHS,
  WRITER_CHECKPOINT_FORMAT,
  computeCheckpointBody,
  computeWriterPathsProblem,
  writerCheckpointBodySchema,
  type WriterCheckpointBody,
  type WriterPath,
} from './checkpoint-schema.js';
import { encodeMsgpack } from './codec.js';
import { signBodyParts } from './signing.js';

/*
 * A writer checkpoint (ADR-0014) encoded from its paths in parts, as a sync computes them a
 * range at a time: the same bytes as `encodeWriterCheckpoint` of the whole body (msgpack
 * writes a map as its header and its keys and values one after the other, and a list as its
 * header and its items), without ever holding the body's paths as objects at once.
 */

/** A checkpoint's paths, encoded a range at a time: their number and the msgpack of each range's entries (no list header). */
export class EncodedPaths {
  count = 0;
  readonly chunks: Uint8Array[] = [];

  /** Checks a range's entries as the schema would (`seq`: the checkpoint's) and appends their encoding. */
  add(entries: readonly WriterPath[], seq: number): void {
    if (entries.length === 0) return;
    const problem = computeWriterPathsProblem(entries, seq);
    if (problem !== undefined) throw refusal(seq, problem);
    const list = encodeMsgpack(entries);
    // A copy: the encoder's buffer is reused by the next encoding.
    this.chunks.push(Uint8Array.prototype.slice.call(list, listHeader(entries.length).length));
    this.count += entries.length;
  }

  get byteLength(): number {
    return this.chunks.reduce((n, c) => n + c.byteLength, 0);
  }
}

function refusal(seq: number, problem: string): BmError {
  return new BmError(
    ErrorCode.internal,
    `refusing to write checkpoint at seq ${seq}: ${problem}`,
    'nothing was written; this is a bug in bm-log',
  );
}

/** The msgpack header of a list of `n` items, as the encoder writes it. */
function listHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x90 | n);
  return n < 0x10000 ? Uint8Array.of(0xdc, n >> 8, n & 0xff) : Uint8Array.of(0xdd, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/**
 * The body's bytes around its paths: everything up to the paths' list, and everything after
 * it. Checked against the encoding of the body with no paths (the same map, an empty list).
 */
function computeBodyFrame(rest: Omit<WriterCheckpointBody, 'paths'>): { before: Uint8Array; after: Uint8Array } {
  const empty = computeCheckpointBody(rest, []);
  const checked = writerCheckpointBodySchema.safeParse(empty);
  if (!checked.success) throw refusal(rest.seq, checked.error.issues[0]?.message ?? 'invalid');
  const whole = Uint8Array.prototype.slice.call(encodeMsgpack(empty)) as Uint8Array;
  const keys = [...KEYS_AFTER_PATHS, ...(rest.config === undefined ? [] : (['config'] as const))];
  const after = Buffer.concat(keys.flatMap((k) => [encodeMsgpack(k), encodeMsgpack(rest[k])]));
  const at = whole.byteLength - after.byteLength - 1;
  if (at < 0 || whole[at] !== 0x90 || !bytesEqual(whole.subarray(at + 1), after))
    throw refusal(rest.seq, 'its encoding has an unexpected layout');
  return { before: whole.subarray(0, at), after };
}

/** The msgpack header of a byte string of `n` bytes (bin 8, 16 or 32), as the encoder writes it. */
function binHeader(n: number): Uint8Array {
  if (n < 0x100) return Uint8Array.of(0xc4, n);
  return n < 0x10000 ? Uint8Array.of(0xc5, n >> 8, n & 0xff) : Uint8Array.of(0xc6, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

/** The envelope `{v, body, sig}` around a body: what comes before the body's bytes (up to its header excluded), and after them. */
function computeEnvelopeFrame(sig: Uint8Array): { before: Uint8Array; after: Uint8Array } {
  const empty = Uint8Array.prototype.slice.call(encodeMsgpack({ v: WRITER_CHECKPOINT_FORMAT, body: new Uint8Array(0), sig })) as Uint8Array;
  // ... 0xc4 0x00 (the empty body), then the key 'sig' and the signature.
  const after = Buffer.concat([encodeMsgpack('sig'), binHeader(sig.byteLength), sig]);
  const at = empty.byteLength - after.byteLength - 2;
  const ok = at >= 0 && empty[at] === 0xc4 && empty[at + 1] === 0 && bytesEqual(empty.subarray(at + 2), after);
  if (!ok)
    throw new BmError(
      ErrorCode.internal,
      'refusing to write a checkpoint: its envelope has an unexpected layout',
      'this is a bug in bm-log',
    );
  return { before: empty.subarray(0, at), after };
}

/**
 * Signs and encodes a writer checkpoint from its paths encoded in parts (`EncodedPaths`) and
 * the rest of its body: the bytes `encodeWriterCheckpoint` gives for the whole body. The body
 * is written once: after the signed head for the signature, then the envelope is written
 * around it in the same buffer (its head over the end of the signed head). Lets go of the
 * parts (`paths` is emptied) once the body is written.
 */
export function encodeWriterCheckpointParts(rest: Omit<WriterCheckpointBody, 'paths'>, paths: EncodedPaths, key: KeyObject): Uint8Array {
  const frame = computeBodyFrame(rest);
  const ctx = { domain: 'checkpoint' as const, vault: rest.vault, client: rest.client, seq: rest.seq, prev: null };
  const room = 16 + 64; // the key 'sig' and the signature, with their headers
  const signed = signBodyParts(ctx, [frame.before, listHeader(paths.count), ...paths.chunks, frame.after], key, room);
  paths.chunks.length = 0;
  const { buffer, start, length, sig } = signed;
  const envelope = computeEnvelopeFrame(sig);
  const head = Buffer.concat([envelope.before, binHeader(length)]);
  if (head.byteLength > start || envelope.after.byteLength > room) throw refusal(rest.seq, 'its envelope does not fit');
  buffer.set(head, start - head.byteLength);
  buffer.set(envelope.after, start + length);
  return buffer.subarray(start - head.byteLength, start + length + envelope.after.byteLength);
}
