import type { KeyObject } from 'node:crypto';
import { Packr } from 'msgpackr';
import type { ZodError, ZodType, ZodTypeDef } from 'zod';
import { BmError, ErrorCode } from '../errors.js';
import {
  CHECKPOINT_FORMAT,
  MAX_CHECKPOINT_BYTES,
  WRITER_CHECKPOINT_FORMAT,
  checkpointBodySchema,
  writerCheckpointBodySchema,
  type CheckpointBody,
  type WriterCheckpointBody,
} from './checkpoint-schema.js';
import {
  MAX_SEGMENT_BYTES,
  SEGMENT_FORMAT,
  SEGMENT_FORMAT_MAX,
  envelopeSchema,
  identityBodySchema,
  segmentBodySchema,
  vaultSchema,
  vaultMarkerHeadSchema,
  type IdentityBody,
  type SegmentBody,
  type VaultRecord,
} from './schema.js';
import { computeMsgpackShapeProblem } from './msgpack-shape.js';
import { sha256Hex, signBody, verifyBody } from './signing.js';

/**
 * msgpack with plain maps (no record extension), so objects decode to plain objects and
 * any msgpack implementation can read bm-log's objects (ADR-0002).
 */
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, bundleStrings: false });

export function encodeMsgpack(value: unknown): Uint8Array {
  return packr.pack(value);
}

/**
 * `encodeMsgpack` for a large value whose encoded size is about `bytes` (at most that, or it
 * is copied on growing): written into one buffer of that size. Left to grow its own buffer,
 * msgpackr copies it into ever larger ones (x4 each time), ~3x the value's size in all.
 */
export function encodeMsgpackSized(value: unknown, bytes: number): Uint8Array {
  packr.useBuffer(Buffer.allocUnsafeSlow(bytes + 4096));
  return packr.pack(value);
}

/**
 * Bytes kept as the parts they were made of, for a value written as it is without first
 * copying the parts into one buffer (the scan witness: its two ~3 MB arrays are views of the
 * scan's own columns, ADR-0010).
 */
export class ByteParts {
  constructor(readonly parts: readonly Uint8Array[]) {}

  get byteLength(): number {
    return this.parts.reduce((n, p) => n + p.byteLength, 0);
  }

  concat(): Uint8Array {
    return Buffer.concat(this.parts);
  }
}

export function decodeMsgpack(bytes: Uint8Array, what: string): unknown {
  const problem = computeMsgpackShapeProblem(bytes);
  if (problem !== undefined)
    throw new BmError(
      ErrorCode.malformed,
      `${what} is not valid msgpack (${problem})`,
      'the object is ignored; run `bm-log verify` for details',
    );
  try {
    return packr.unpack(bytes);
  } catch (e) {
    throw new BmError(
      ErrorCode.malformed,
      `${what} is not valid msgpack`,
      'the object is ignored; run `bm-log verify` for details',
      {},
      { cause: e },
    );
  }
}

/** Where and why a value failed its schema, for messages. */
function computeIssue(error: ZodError): string {
  const issue = computeDeepestIssue(error);
  return issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid';
}

/**
 * The issue to report: for a union (an event is one of the base kinds or a member/key event),
 * the one from the branch that got furthest, i.e. the kind the value claims to be, rather
 * than zod's "Invalid input" for the union as a whole.
 */
function computeDeepestIssue(error: ZodError): ZodError['issues'][number] | undefined {
  const issue = error.issues[0];
  if (issue?.code !== 'invalid_union') return issue;
  const inner = issue.unionErrors.map(computeDeepestIssue).filter((i) => i !== undefined);
  return inner.reduce((best, i) => (i.path.length > best.path.length ? i : best), inner[0] ?? issue);
}

function parseWith<T>(schema: ZodType<T, ZodTypeDef, unknown>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const where = computeIssue(r.error);
    throw new BmError(ErrorCode.malformed, `${what} is malformed (${where})`, 'the object is rejected; run `bm-log verify` for details');
  }
  return r.data;
}

/** A segment that passed every check: schema, vault, client, seq, chain link and signature. */
export interface VerifiedSegment {
  readonly body: SegmentBody;
  /** SHA-256 of the body bytes: what the next segment's `prev` must equal. */
  readonly hash: string;
  /** The exact object bytes as stored (kept in the local index for re-verification). */
  readonly bytes: Uint8Array;
}

/**
 * Signs and encodes a segment body into the object bytes to publish. Throws internal for a
 * body the schema rejects: every reader would reject it, and since the next segment chains
 * to it, this client's log would stop there for everyone.
 */
export function encodeSegment(body: SegmentBody, key: KeyObject): VerifiedSegment {
  const checked = segmentBodySchema.safeParse(body);
  if (!checked.success) {
    throw new BmError(
      ErrorCode.internal,
      `refusing to publish segment ${body.client}/${body.seq}: ${computeIssue(checked.error)}`,
      'nothing was published; this is a bug in bm-log',
    );
  }
  const bodyBytes = encodeMsgpack(body);
  const sig = signBody({ domain: 'segment', vault: body.vault, client: body.client, seq: body.seq, prev: body.prev }, bodyBytes, key);
  const bytes = encodeMsgpack({ v: checked.data.v, body: bodyBytes, sig });
  return { body, hash: sha256Hex(bodyBytes), bytes };
}

export interface SegmentExpectation {
  readonly vault: string;
  readonly client: string;
  /** The seq the object's key says it holds. */
  readonly seq: number;
  /** Hash of the previous segment when known (null for seq 1; undefined: not checked here). */
  readonly prev?: string | null;
  readonly publicKey: KeyObject;
}

function decodeEnvelope(bytes: Uint8Array, what: string, limit = MAX_SEGMENT_BYTES): { v: number; body: Uint8Array; sig: Uint8Array } {
  if (bytes.length > limit) {
    throw new BmError(ErrorCode.malformed, `${what} is ${bytes.length} bytes, over the ${limit}-byte limit`, 'the object is rejected');
  }
  return parseWith(envelopeSchema, decodeMsgpack(bytes, what), what);
}

/**
 * Decodes and verifies a segment object. Throws a typed BmError naming the fault:
 * malformed, unknown-version, bad-signature, wrong-vault, broken-chain.
 * The signature is checked before the body is parsed, so unsigned bytes never reach zod.
 */
export function decodeSegment(bytes: Uint8Array, expect: SegmentExpectation): VerifiedSegment {
  const what = `segment ${expect.client}/${expect.seq}`;
  const env = decodeEnvelope(bytes, what);
  if (env.v > SEGMENT_FORMAT_MAX) {
    // Newer than this release (ADR-0019 §1): not an integrity fault; the CLI exits 6.
    throw new BmError(
      ErrorCode.unknownVersion,
      `${what} has format ${env.v}; this bm-log reads formats up to ${SEGMENT_FORMAT_MAX}`,
      "upgrade bm-log on this machine, then sync again (this writer's log stops here until then)",
      { format: env.v, reads: SEGMENT_FORMAT_MAX },
    );
  }
  if (env.v < SEGMENT_FORMAT) throw new BmError(ErrorCode.malformed, `${what} has format ${env.v}`, 'the object is rejected');
  // The envelope's claimed prev is inside the body; peek it for the signing context first.
  const raw = decodeMsgpack(env.body, what) as { prev?: unknown } | null;
  const claimedPrev = raw !== null && typeof raw === 'object' && typeof raw.prev === 'string' ? raw.prev : null;
  const ctx = { domain: 'segment' as const, vault: expect.vault, client: expect.client, seq: expect.seq, prev: claimedPrev };
  if (!verifyBody(ctx, env.body, env.sig, expect.publicKey)) {
    throw new BmError(
      ErrorCode.badSignature,
      `${what}: signature does not verify with the client's published key`,
      "the segment and everything after it in this client's log are ignored; run `bm-log verify`",
    );
  }
  const body = parseWith(segmentBodySchema, raw, what);
  if (body.v !== env.v)
    throw new BmError(ErrorCode.malformed, `${what}: envelope format ${env.v}, body format ${body.v}`, 'the object is rejected');
  if (body.vault !== expect.vault)
    throw new BmError(ErrorCode.wrongVault, `${what} belongs to vault ${body.vault}, not ${expect.vault}`, 'the segment is ignored');
  if (body.client !== expect.client || body.seq !== expect.seq) {
    throw new BmError(ErrorCode.brokenChain, `${what} claims to be ${body.client}/${body.seq}`, 'the segment is ignored');
  }
  if (expect.prev !== undefined && body.prev !== expect.prev) {
    throw new BmError(
      ErrorCode.brokenChain,
      `${what}: prev hash does not match the previous segment (rollback or fork)`,
      'the segment and everything after it are ignored; run `bm-log verify`',
    );
  }
  return { body, hash: sha256Hex(env.body), bytes };
}

/** Encodes a self-signed identity object. */
export function encodeIdentity(body: IdentityBody, key: KeyObject): Uint8Array {
  const bodyBytes = encodeMsgpack(body);
  const sig = signBody({ domain: 'identity', vault: body.vault, client: body.client, seq: 0, prev: null }, bodyBytes, key);
  return encodeMsgpack({ v: 1, body: bodyBytes, sig });
}

/** Decodes an identity object and checks that it is signed by the key it publishes. */
export function decodeIdentity(
  bytes: Uint8Array,
  expect: { vault: string; client: string },
  importKey: (hex: string) => KeyObject,
): IdentityBody & { key: KeyObject } {
  const what = `identity of client ${expect.client}`;
  const env = decodeEnvelope(bytes, what);
  if (env.v !== 1) throw new BmError(ErrorCode.unknownVersion, `${what} has format version ${env.v}`, 'upgrade bm-log');
  const body = parseWith(identityBodySchema, decodeMsgpack(env.body, what), what);
  if (body.vault !== expect.vault) throw new BmError(ErrorCode.wrongVault, `${what} is for vault ${body.vault}`, 'the client is ignored');
  if (body.client !== expect.client)
    throw new BmError(ErrorCode.keyMismatch, `${what} claims client ${body.client}`, 'the client is ignored');
  const key = importKey(body.publicKey);
  if (!verifyBody({ domain: 'identity', vault: body.vault, client: body.client, seq: 0, prev: null }, env.body, env.sig, key)) {
    throw new BmError(ErrorCode.badSignature, `${what} is not signed by the key it publishes`, 'the client is ignored');
  }
  return { ...body, key };
}

/** A format-1 checkpoint that passed its checks: schema, vault, writer, seq and signature. */
export interface VerifiedCheckpoint {
  readonly body: CheckpointBody;
  /** SHA-256 of the body bytes. */
  readonly hash: string;
  readonly bytes: Uint8Array;
}

/** The signing context of a checkpoint object: bound to vault, writer and seq (both formats). */
function checkpointContext(at: { vault: string; client: string; seq: number }) {
  return { domain: 'checkpoint' as const, vault: at.vault, client: at.client, seq: at.seq, prev: null };
}

/** The envelope of a checkpoint object of `format`, its signature checked with the writer's key. */
/** Where a checkpoint object must belong: vault, writer and seq, and the writer's key. */
interface CheckpointExpectation {
  readonly vault: string;
  readonly client: string;
  readonly seq: number;
  readonly publicKey: KeyObject;
}

function openCheckpoint(bytes: Uint8Array, expect: CheckpointExpectation, format: number): { body: Uint8Array; what: string } {
  const what = `checkpoint ${expect.client}/${expect.seq}`;
  const env = decodeEnvelope(bytes, what, MAX_CHECKPOINT_BYTES);
  if (env.v !== format) {
    throw new BmError(
      ErrorCode.unknownVersion,
      `${what} has format version ${env.v}; this bm-log reads version ${format} here`,
      'the checkpoint is ignored',
    );
  }
  if (!verifyBody(checkpointContext(expect), env.body, env.sig, expect.publicKey)) {
    throw new BmError(
      ErrorCode.badSignature,
      `${what}: signature does not verify with its writer's published key`,
      'the checkpoint is ignored',
    );
  }
  return { body: env.body, what };
}

function checkCheckpointPlace(body: { vault: string; client: string; seq: number }, expect: CheckpointExpectation, what: string): void {
  if (body.vault !== expect.vault)
    throw new BmError(ErrorCode.wrongVault, `${what} belongs to vault ${body.vault}`, 'the checkpoint is ignored');
  if (body.client !== expect.client || body.seq !== expect.seq)
    throw new BmError(ErrorCode.brokenChain, `${what} claims to be ${body.client}/${body.seq}`, 'the checkpoint is ignored');
}

/**
 * Decodes and verifies a format-1 checkpoint (ADR-0007) with its writer's published key, for
 * `verify` only: format 1 is never adopted (ADR-0014). Throws malformed, unknown-version,
 * bad-signature, wrong-vault or broken-chain (a body that claims another writer or seq).
 */
export function decodeCheckpoint(bytes: Uint8Array, expect: CheckpointExpectation): VerifiedCheckpoint {
  const { body: bodyBytes, what } = openCheckpoint(bytes, expect, CHECKPOINT_FORMAT);
  const body = parseWith(checkpointBodySchema, decodeMsgpack(bodyBytes, what), what);
  checkCheckpointPlace(body, expect, what);
  return { body, hash: sha256Hex(bodyBytes), bytes };
}

/** Decodes a format-1 checkpoint an older bm-log verified and kept in the local index. */
export function decodeTrustedCheckpoint(bytes: Uint8Array): CheckpointBody {
  const env = decodeMsgpack(bytes, 'cached checkpoint') as { body: Uint8Array };
  return decodeMsgpack(env.body, 'cached checkpoint') as CheckpointBody;
}

/** A writer checkpoint (format 2) that passed its checks: schema, vault, writer, seq and signature. */
export interface VerifiedWriterCheckpoint {
  readonly body: WriterCheckpointBody;
  readonly bytes: Uint8Array;
}

/** Signs and encodes a writer checkpoint (ADR-0014). Throws internal for a body the schema rejects. */
export function encodeWriterCheckpoint(body: WriterCheckpointBody, key: KeyObject): VerifiedWriterCheckpoint {
  const checked = writerCheckpointBodySchema.safeParse(body);
  if (!checked.success) {
    const what = `refusing to write checkpoint ${body.client}/${body.seq}: ${computeIssue(checked.error)}`;
    throw new BmError(ErrorCode.internal, what, 'nothing was written; this is a bug in bm-log');
  }
  const bodyBytes = encodeMsgpack(body);
  const bytes = encodeMsgpack({ v: WRITER_CHECKPOINT_FORMAT, body: bodyBytes, sig: signBody(checkpointContext(body), bodyBytes, key) });
  return { body, bytes };
}

/**
 * Decodes and verifies a writer checkpoint with its writer's published key. Throws
 * malformed, unknown-version, bad-signature, wrong-vault or broken-chain (a body that
 * claims another writer or seq than its key says). Checks nothing against the log: that is
 * the joiner's job (src/events/checkpoints.ts).
 */
export function decodeWriterCheckpoint(bytes: Uint8Array, expect: CheckpointExpectation): VerifiedWriterCheckpoint {
  const { body: bodyBytes, what } = openCheckpoint(bytes, expect, WRITER_CHECKPOINT_FORMAT);
  const body = parseWith(writerCheckpointBodySchema, decodeMsgpack(bodyBytes, what), what);
  checkCheckpointPlace(body, expect, what);
  return { body, bytes };
}

/** Decodes a writer checkpoint this client verified before (kept in its local index). */
export function decodeTrustedWriterCheckpoint(bytes: Uint8Array): WriterCheckpointBody {
  const env = decodeMsgpack(bytes, 'cached checkpoint') as { body: Uint8Array };
  return decodeMsgpack(env.body, 'cached checkpoint') as WriterCheckpointBody;
}

export function encodeVault(v: VaultRecord): Uint8Array {
  return encodeMsgpack(v);
}

/**
 * Decodes the vault marker: format 1 is a plain `{v: 1, vault, time}`; format 2 (a vault with
 * members from its first event, ADR-0021) is a signed envelope whose body names the root admin
 * (`src/members/vault-root.ts` checks its signature and root). Here only what every reader needs:
 * the vault id. A format newer than 2 is unknown-version (upgrade).
 */
export function decodeVault(bytes: Uint8Array): VaultRecord {
  const raw = decodeMsgpack(bytes, 'vault marker') as { v?: unknown; body?: unknown } | null;
  if (raw === null || typeof raw !== 'object' || raw.v === 1) return parseWith(vaultSchema, raw, 'vault marker');
  if (typeof raw.v === 'number' && raw.v > VAULT_FORMAT_MAX)
    throw new BmError(ErrorCode.unknownVersion, `the vault marker has format ${raw.v}`, 'upgrade bm-log on this machine', {
      format: raw.v,
      reads: VAULT_FORMAT_MAX,
    });
  const env = parseWith(envelopeSchema, raw, 'vault marker');
  const body = parseWith(vaultMarkerHeadSchema, decodeMsgpack(env.body, 'vault marker'), 'vault marker');
  return { v: 1, vault: body.vault, time: body.time };
}

/** The newest vault marker format this release reads. */
export const VAULT_FORMAT_MAX = 2;

/**
 * Decodes a segment from the local index, which holds only segments that passed
 * `decodeSegment` when fetched. Skips signature and schema checks (they ran once);
 * `bm-log verify` re-runs them over the remote objects.
 */
export function decodeTrustedSegment(bytes: Uint8Array): SegmentBody {
  const env = decodeMsgpack(bytes, 'cached segment') as { body: Uint8Array };
  return decodeMsgpack(env.body, 'cached segment') as SegmentBody;
}
