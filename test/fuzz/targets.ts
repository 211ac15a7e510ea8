import { createPrivateKey, createPublicKey } from 'node:crypto';
import type { ZodType, ZodTypeDef } from 'zod';
import { BmError } from '../../src/errors.js';
import {
  checkpointBodySchema,
  writerCheckpointBodySchema,
  type CheckpointBody,
  type WriterCheckpointBody,
} from '../../src/events/checkpoint-schema.js';
import {
  decodeCheckpoint,
  decodeIdentity,
  decodeMsgpack,
  decodeSegment,
  decodeVault,
  decodeWriterCheckpoint,
  encodeIdentity,
  encodeMsgpack,
  encodeSegment,
  encodeVault,
  encodeWriterCheckpoint,
} from '../../src/events/codec.js';
import type { ClientId, ContentHash, VaultId, VersionId } from '../../src/events/ids.js';
import { identityBodySchema, segmentBodySchema, vaultSchema, type SegmentBody } from '../../src/events/schema.js';
import { exportPublicKeyHex, importPublicKeyHex, signBody, type SignContext } from '../../src/events/signing.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { FuzzViolation, type FuzzTarget } from './fuzz-engine.js';

/**
 * The decoders' fuzz targets (ADR-0017). The property, for every input: the decoder returns a
 * value its schema accepts, or throws a BmError; never any other exception (a hang is caught
 * by the runner's watchdog). Each decoder is fuzzed twice where it checks a signature: once
 * on whole objects (the envelope, the signature check), and once on the signed body, which
 * the target signs with a fixed key so that mutated bodies reach the schema checks.
 */

/** A fixed Ed25519 key (from a constant seed), so saved inputs replay with the same signatures. */
const PRIVATE = createPrivateKey({
  key: Buffer.from(`302e020100300506032b657004220420${'5a'.repeat(32)}`, 'hex'),
  format: 'der',
  type: 'pkcs8',
});
const PUBLIC_HEX = exportPublicKeyHex(createPublicKey(PRIVATE));
const PUBLIC = importPublicKeyHex(PUBLIC_HEX);

const VAULT = '01HV0000000000000000000000' as VaultId;
const CLIENT = '01HC0000000000000000000000' as ClientId;
const OTHER = '01HD0000000000000000000000' as ClientId;
const TIME = '2026-11-21T10:00:00.000Z';
const HASH = 'ab'.repeat(32) as ContentHash;
const vid = (n: number) => `01HE${String(n).padStart(22, '0')}` as VersionId;

/** Runs `decode`; a BmError is a fine answer, a value must pass `schema`, anything else breaks the property. */
function mustDecodeOrBmError(what: string, decode: () => unknown, schema: ZodType<unknown, ZodTypeDef, unknown>): void {
  let value: unknown;
  try {
    value = decode();
  } catch (e) {
    if (e instanceof BmError) return;
    throw new FuzzViolation(
      `${what} threw ${e instanceof Error ? e.name : typeof e}, not a BmError: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  const check = schema.safeParse(value);
  if (!check.success) throw new FuzzViolation(`${what} returned a value its schema rejects: ${check.error.issues[0]?.message ?? '?'}`);
}

function segmentBodies(): SegmentBody[] {
  const put = {
    type: 'put' as const,
    id: vid(1),
    path: 'docs/a.md' as SyncPath,
    replaces: [],
    content: { hash: HASH, size: 3, mode: 0o644 },
  };
  const tomb = { type: 'tombstone' as const, id: vid(2), path: 'b.txt' as SyncPath, replaces: [vid(9)] };
  const resolve = { type: 'resolve' as const, id: vid(3), path: 'n/c.txt' as SyncPath, replaces: [vid(7), vid(8)], content: null };
  const retire = { type: 'retire' as const, id: vid(4), client: OTHER };
  return [
    { v: 1, vault: VAULT, client: CLIENT, seq: 1, prev: null, time: TIME, seen: {}, snapshot: null, events: [put, tomb, resolve] },
    { v: 1, vault: VAULT, client: CLIENT, seq: 2, prev: HASH, time: TIME, seen: { [OTHER]: 3 }, snapshot: 'snap', events: [retire] },
    { v: 1, vault: VAULT, client: CLIENT, seq: 3, prev: HASH, time: TIME, seen: { [CLIENT]: 2 }, snapshot: null, events: [] },
  ] as SegmentBody[];
}

function checkpointBody(): CheckpointBody {
  const head = { id: vid(1), type: 'put' as const, ctx: 0, replaces: [vid(2)], content: { hash: HASH, size: 1, mode: 0o644 } };
  return {
    v: 1,
    vault: VAULT,
    client: CLIENT,
    seq: 3,
    time: TIME,
    frontier: { [CLIENT]: { seq: 3, hash: HASH } },
    contexts: [{ client: CLIENT, seq: 2, time: TIME, seen: {}, snapshot: null }],
    paths: [{ path: 'docs/a.md' as SyncPath, heads: [head], replaced: [vid(5)] }],
    collected: [{ path: 'gone.md' as SyncPath, versions: [vid(6)] }],
    retired: [OTHER],
    latest: [{ client: CLIENT, seq: 3, time: TIME, seen: {}, events: 0 }],
    lastEventful: { [CLIENT]: 2 },
    condemnations: [{ hash: HASH, client: CLIENT, seq: 2, time: TIME, graceMs: 1000, seen: {}, voided: false }],
    deletions: [],
    namers: [{ hash: HASH, client: OTHER, seq: 1 }],
  } as CheckpointBody;
}

/** A writer checkpoint (format 2, ADR-0014) with every kind of entry. */
function writerCheckpointBody(): WriterCheckpointBody {
  const version = { id: vid(1), type: 'put' as const, ctx: 0, replaces: [vid(2)], content: { hash: HASH, size: 1, mode: 0o644 } };
  return {
    v: 2,
    vault: VAULT,
    client: CLIENT,
    seq: 3,
    hash: HASH,
    time: TIME,
    segment: { time: TIME, seen: { [OTHER]: 2 }, events: 1 },
    lastEventful: 3,
    contexts: [{ seq: 2, time: TIME, seen: {}, snapshot: null }],
    paths: [{ path: 'docs/a.md' as SyncPath, versions: [version], replaced: [{ id: vid(5), seq: 2 }] }],
    collected: [{ path: 'gone.md' as SyncPath, seq: 3, versions: [vid(6)] }],
    retired: [{ client: OTHER, seq: 2 }],
    condemnations: [{ hash: HASH, ctx: 0, graceMs: 1000 }],
    deletions: [],
    namers: [{ hash: HASH, seq: 1 }],
    relies: [{ client: OTHER, seq: 2 }],
  };
}

/** The envelope (format `v`) of `bodyBytes` signed for `ctx` by the fixed key (as the writer would sign it). */
function signedEnvelope(ctx: SignContext, bodyBytes: Uint8Array, v = 1): Uint8Array {
  return encodeMsgpack({ v, body: bodyBytes, sig: signBody(ctx, bodyBytes, PRIVATE) });
}

/** The `prev` a segment body claims (what decodeSegment signs against), or null. */
function claimedPrev(bodyBytes: Uint8Array): string | null {
  try {
    const raw = decodeMsgpack(bodyBytes, 'fuzz body') as { prev?: unknown } | null;
    return raw !== null && typeof raw === 'object' && typeof raw.prev === 'string' ? raw.prev : null;
  } catch {
    return null;
  }
}

const segmentExpect = { vault: VAULT, client: CLIENT, seq: 1, publicKey: PUBLIC };
const checkpointExpect = { vault: VAULT, client: CLIENT, seq: 3, publicKey: PUBLIC };
const identityBody = { v: 1 as const, vault: VAULT, client: CLIENT, name: 'alice', publicKey: PUBLIC_HEX, time: TIME };

export const FUZZ_TARGETS: readonly FuzzTarget[] = [
  {
    name: 'segment-object',
    seeds: segmentBodies().map((b) => encodeSegment(b, PRIVATE).bytes),
    run: (input) => mustDecodeOrBmError('decodeSegment', () => decodeSegment(input, segmentExpect).body, segmentBodySchema),
  },
  {
    name: 'segment-body',
    seeds: segmentBodies().map((b) => encodeMsgpack(b)),
    run: (input) => {
      const env = signedEnvelope({ domain: 'segment', vault: VAULT, client: CLIENT, seq: 1, prev: claimedPrev(input) }, input);
      mustDecodeOrBmError('decodeSegment', () => decodeSegment(env, segmentExpect).body, segmentBodySchema);
    },
  },
  {
    name: 'checkpoint-object',
    // Format 1 (ADR-0007): no longer written, still read (a format-1 checkpoint is reported, never adopted).
    seeds: [signedEnvelope({ domain: 'checkpoint', vault: VAULT, client: CLIENT, seq: 3, prev: null }, encodeMsgpack(checkpointBody()))],
    run: (input) => mustDecodeOrBmError('decodeCheckpoint', () => decodeCheckpoint(input, checkpointExpect).body, checkpointBodySchema),
  },
  {
    name: 'checkpoint-body',
    seeds: [encodeMsgpack(checkpointBody())],
    run: (input) => {
      const env = signedEnvelope({ domain: 'checkpoint', vault: VAULT, client: CLIENT, seq: 3, prev: null }, input);
      mustDecodeOrBmError('decodeCheckpoint', () => decodeCheckpoint(env, checkpointExpect).body, checkpointBodySchema);
    },
  },
  {
    name: 'writer-checkpoint-object',
    seeds: [encodeWriterCheckpoint(writerCheckpointBody(), PRIVATE).bytes],
    run: (input) =>
      mustDecodeOrBmError('decodeWriterCheckpoint', () => decodeWriterCheckpoint(input, checkpointExpect).body, writerCheckpointBodySchema),
  },
  {
    name: 'writer-checkpoint-body',
    seeds: [encodeMsgpack(writerCheckpointBody())],
    run: (input) => {
      const env = signedEnvelope({ domain: 'checkpoint', vault: VAULT, client: CLIENT, seq: 3, prev: null }, input, 2);
      mustDecodeOrBmError('decodeWriterCheckpoint', () => decodeWriterCheckpoint(env, checkpointExpect).body, writerCheckpointBodySchema);
    },
  },
  {
    name: 'identity-object',
    seeds: [encodeIdentity(identityBody, PRIVATE)],
    run: (input) =>
      mustDecodeOrBmError(
        'decodeIdentity',
        () => stripKey(decodeIdentity(input, { vault: VAULT, client: CLIENT }, importPublicKeyHex)),
        identityBodySchema,
      ),
  },
  {
    name: 'identity-body',
    seeds: [encodeMsgpack(identityBody)],
    run: (input) => {
      const env = signedEnvelope({ domain: 'identity', vault: VAULT, client: CLIENT, seq: 0, prev: null }, input);
      mustDecodeOrBmError(
        'decodeIdentity',
        () => stripKey(decodeIdentity(env, { vault: VAULT, client: CLIENT }, importPublicKeyHex)),
        identityBodySchema,
      );
    },
  },
  {
    name: 'vault',
    seeds: [encodeVault({ v: 1, vault: VAULT, time: TIME })],
    run: (input) => mustDecodeOrBmError('decodeVault', () => decodeVault(input), vaultSchema),
  },
];

/** decodeIdentity's value without the imported KeyObject it adds (checked by the signature, not the schema). */
function stripKey<T extends { key: unknown }>(v: T): Omit<T, 'key'> {
  const { key: _key, ...rest } = v;
  return rest;
}

export function mustTarget(name: string): FuzzTarget {
  const t = FUZZ_TARGETS.find((x) => x.name === name);
  if (t === undefined) throw new Error(`no fuzz target ${JSON.stringify(name)}; targets: ${FUZZ_TARGETS.map((x) => x.name).join(', ')}`);
  return t;
}
