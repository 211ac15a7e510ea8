import { z } from 'zod';
import { HASH_RE, ULID_RE, type ClientId, type ContentHash, type VaultId, type VersionId } from './ids.js';
import { computePathProblem, type SyncPath } from './sync-path.js';
import { keyEventObjectSchema, memberEventSchema } from './member-event-schema.js';
import { configEventSchema } from './config-event-schema.js';

/**
 * Wire schemas. Types are derived from them (z.infer), never written twice.
 *
 * The signed unit is a *segment*: one object in a client's log holding the events of one
 * sync (ADR-0002). Each segment has a per-client sequence number and the SHA-256 of the
 * previous segment's body, so a gap, truncation, rollback or fork of a client's log is
 * detectable. Every event in a segment inherits the segment's client, seq, prev, time,
 * `seen` frontier and snapshot: that is "what its writer had seen".
 */
export const SEGMENT_FORMAT = 1;
/**
 * The newest segment format this release reads and writes (ADR-0019 §1): format 2 adds the
 * merge put (ADR-0020). A writer writes the lowest format that can express a segment
 * (`computeSegmentFormat`), so a vault where nobody merges stays readable by format-1 clients.
 */
export const SEGMENT_FORMAT_MAX = 2;
/** Upper bounds that keep a hostile object from exhausting memory. */
export const MAX_EVENTS_PER_SEGMENT = 10_000;
export const MAX_SEGMENT_BYTES = 32 * 1024 * 1024;
export const MAX_REPLACES = 256;

/** Field schemas shared with the checkpoint schemas (checkpoint-schema.ts). */
export const hash = z
  .string()
  .regex(HASH_RE, 'lowercase hex SHA-256')
  .transform((s) => s as ContentHash);
const versionId = z
  .string()
  .regex(ULID_RE, 'ULID')
  .transform((s) => s as VersionId);
export const clientId = z
  .string()
  .regex(ULID_RE, 'ULID')
  .transform((s) => s as ClientId);
const syncPath = z
  .string()
  .superRefine((p, ctx) => {
    const problem = computePathProblem(p);
    if (problem !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `unsafe path: ${problem}` });
  })
  .transform((s) => s as SyncPath);

/** Largest pack object (ADR-0022): a pack is written whole in one request and read by ranges. */
export const MAX_PACK_BYTES = 16 * 1024 * 1024;

/**
 * Where a content's bytes live when they are not a blob of their own (format 2, ADR-0022): the
 * entry `[offset, offset + length)` of the pack object `packs/<client>/<id>` that `client`
 * wrote. Readers check the bytes against the content's hash as for a blob.
 */
export const packLocationSchema = z
  .object({
    client: clientId,
    id: versionId,
    offset: z.number().int().nonnegative().max(MAX_PACK_BYTES),
    length: z.number().int().nonnegative().max(MAX_PACK_BYTES),
  })
  .strict()
  .refine((p) => p.offset + p.length <= MAX_PACK_BYTES, 'pack entry ends past the largest pack');
export type PackLocation = z.infer<typeof packLocationSchema>;

/**
 * The content of a file version: blob hash, byte size, and POSIX permission bits; with `pack`
 * (format 2) its bytes are an entry of a pack instead of the blob `blobs/<hh>/<hash>`.
 */
export const contentRefSchema = z
  .object({
    hash,
    size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    mode: z.number().int().min(0).max(0o7777),
    pack: packLocationSchema.optional(),
  })
  .strict()
  .refine((c) => c.pack === undefined || c.pack.length === c.size, 'a pack entry is as long as its content');
export type ContentRef = z.infer<typeof contentRefSchema>;

const replaces = z.array(versionId).max(MAX_REPLACES);

/**
 * What a merge put merged (format 2, ADR-0020): `parents` are the heads it merged in canonical
 * order (each also in `replaces`), `base` their common ancestor (null: none), `algo` the
 * algorithm and its version that made the bytes (`lines/1`, `markdown/1`): the content is a pure
 * function of these, so `verify` can recompute it.
 */
export const mergeRecordSchema = z
  .object({
    base: versionId.nullable(),
    parents: z.array(versionId).min(2).max(MAX_REPLACES),
    algo: z.string().regex(/^[a-z0-9-]{1,32}\/[0-9]{1,4}$/, 'algorithm/version'),
  })
  .strict();
export type MergeRecord = z.infer<typeof mergeRecordSchema>;

/**
 * A new version of `path` with `content`, replacing the versions its writer had seen. With
 * `merge` (format 2) it is a merge of the heads it replaces. With `from` (format 2, a move,
 * ADR-0020) it continues the version `from.version` of the path `from.path`, whose tombstone
 * with `to` naming this path is in the same segment.
 */
export const putEventSchema = z
  .object({
    type: z.literal('put'),
    id: versionId,
    path: syncPath,
    replaces,
    content: contentRefSchema,
    merge: mergeRecordSchema.optional(),
    from: z.object({ path: syncPath, version: versionId }).strict().optional(),
  })
  .strict();

/** Why a merge put's record does not fit its put (checked with the segment), or undefined. */
export function computeMergeProblem(e: PutEvent): string | undefined {
  if (e.merge === undefined) return undefined;
  if (!e.merge.parents.every((p) => e.replaces.includes(p))) return `merge ${e.id}: a parent is not in replaces`;
  if (new Set(e.merge.parents).size !== e.merge.parents.length) return `merge ${e.id}: a parent named twice`;
  return undefined;
}
/**
 * A delete: a version with no content. It is a head like a put until something replaces it.
 * With `to` (format 2, a move, ADR-0020) the path's content went on at the path `to`.
 */
export const tombstoneEventSchema = z
  .object({ type: z.literal('tombstone'), id: versionId, path: syncPath, replaces, to: syncPath.optional() })
  .strict();
/**
 * Ends a conflict: replaces every head its writer saw. `content` is the kept bytes, or
 * null when the conflict was resolved by deleting the path.
 */
export const resolveEventSchema = z
  .object({
    type: z.literal('resolve'),
    id: versionId,
    path: syncPath,
    replaces: replaces.min(1),
    content: contentRefSchema.nullable(),
  })
  .strict();

/**
 * Retires a client (ADR-0007): from then on it no longer counts among the active clients
 * whose acknowledgements garbage collection waits for. Any client may publish it, in its own
 * log; it is never automatic. A retired client that syncs again is still read (its events
 * still count), it just no longer holds collection back.
 */
export const retireEventSchema = z.object({ type: z.literal('retire'), id: versionId, client: clientId }).strict();

/** Per-client seq: how far every active client had acknowledged each log when GC ran. */
export const frontierSchema = z.record(z.string().regex(ULID_RE), z.number().int().min(0));

/**
 * One garbage-collection run (ADR-0007), published by the client that ran it:
 * - `collected`: paths whose every head was a delete acknowledged by every active client and
 *   older than `retentionMs`; `versions` are every version of the path its runner knew. Such a
 *   path leaves the live state; its history stays in the log.
 * - `condemned`: blobs no version needs any more. They may be deleted by a later run at least
 *   `graceMs` after this event's time, if still unreferenced then.
 * - `deleted`: blobs this run deleted before publishing this event (a record after the fact:
 *   a run that dies between deleting and publishing leaves its deletions unrecorded, and the
 *   next run deletes, idempotently, and records them).
 */
export const gcEventSchema = z
  .object({
    type: z.literal('gc'),
    id: versionId,
    retentionMs: z.number().int().nonnegative(),
    graceMs: z.number().int().nonnegative(),
    frontier: frontierSchema,
    collected: z.array(z.object({ path: syncPath, versions: z.array(versionId).min(1) }).strict()),
    condemned: z.array(hash),
    deleted: z.array(hash),
  })
  .strict();

/**
 * Members (format 2, ADR-0021): `member` (add, remove, role by an admin; its own union on
 * `action`) and `key` (a client's own wrapping key). Which of them count is the member fold's
 * (`src/members/`), never the codec's.
 */
const memberOrKeyEventSchema = z.union([memberEventSchema, keyEventObjectSchema]);

const baseEventSchema = z.discriminatedUnion('type', [
  putEventSchema,
  tombstoneEventSchema,
  resolveEventSchema,
  retireEventSchema,
  gcEventSchema,
  configEventSchema,
]);
export const eventSchema = z.union([baseEventSchema, memberOrKeyEventSchema]);
export type Event = z.infer<typeof eventSchema>;
export type PutEvent = z.infer<typeof putEventSchema>;
export type TombstoneEvent = z.infer<typeof tombstoneEventSchema>;
export type ResolveEvent = z.infer<typeof resolveEventSchema>;
export type RetireEvent = z.infer<typeof retireEventSchema>;
export type GcEvent = z.infer<typeof gcEventSchema>;
export type EventType = Event['type'];
/** The events that create a version of a path (put, tombstone, resolve). */
export type PathEvent = PutEvent | TombstoneEvent | ResolveEvent;
export type PathEventType = PathEvent['type'];

/** True for the events that create a version of a path; false for retire, gc, member, key and config. */
export function isPathEvent(e: Event): e is PathEvent {
  switch (e.type) {
    case 'put':
    case 'tombstone':
    case 'resolve':
      return true;
    case 'retire':
    case 'gc':
    case 'member':
    case 'key':
    case 'config':
      return false;
  }
}

/** The content an event names (a blob that must exist before the event is published), or null. */
export function computeEventContent(e: Event): ContentRef | null {
  switch (e.type) {
    case 'put':
    case 'resolve':
      return e.content;
    case 'tombstone':
    case 'retire':
    case 'gc':
    case 'member':
    case 'key':
    case 'config':
      return null;
  }
}

/** What a segment's writer had seen: other clients' log heads (their last folded seq). */
export const seenSchema = z.record(z.string().regex(ULID_RE), z.number().int().min(0));

/** Pure: the lowest segment format that can express `events` (ADR-0019 §1): a merge or a pack-located content is format 2. */
export function computeSegmentFormat(events: readonly Event[]): 1 | 2 {
  return events.some(isFormat2Event) ? 2 : 1;
}

/** A merge put, either half of a move, a member change, a key or config event, or a pack-located content. */
function isFormat2Event(e: Event): boolean {
  return (
    (e.type === 'put' && (e.merge !== undefined || e.from !== undefined)) ||
    (e.type === 'tombstone' && e.to !== undefined) ||
    e.type === 'member' ||
    e.type === 'key' ||
    e.type === 'config' ||
    computeEventContent(e)?.pack !== undefined
  );
}

/**
 * Why the move halves of a segment do not pair (ADR-0020: a put `from` and the tombstone `to`
 * of one move are in one segment, each naming the other's path), one line per bad half.
 */
function computeMoveProblems(events: readonly Event[]): string[] {
  const tombstones = new Set<string>();
  const puts = new Set<string>();
  for (const e of events) {
    if (e.type === 'tombstone' && e.to !== undefined) tombstones.add(`${e.path}\u0000${e.to}`);
    if (e.type === 'put' && e.from !== undefined) puts.add(`${e.from.path}\u0000${e.path}`);
  }
  if (tombstones.size === 0 && puts.size === 0) return [];
  const out: string[] = [];
  for (const e of events) {
    if (e.type === 'put' && e.from !== undefined && (e.from.path === e.path || !tombstones.has(`${e.from.path}\u0000${e.path}`)))
      out.push(`move ${e.id}: no tombstone of ${e.from.path} to ${e.path} in its segment`);
    if (e.type === 'tombstone' && e.to !== undefined && (e.to === e.path || !puts.has(`${e.path}\u0000${e.to}`)))
      out.push(`move ${e.id}: no put of ${e.to} from ${e.path} in its segment`);
  }
  return out;
}

export const segmentBodySchema = z
  .object({
    v: z.union([z.literal(SEGMENT_FORMAT), z.literal(SEGMENT_FORMAT_MAX)]),
    vault: z
      .string()
      .regex(ULID_RE)
      .transform((s) => s as VaultId),
    client: clientId,
    seq: z.number().int().min(1),
    prev: hash.nullable(),
    /** Wall-clock time of writing: informational only, never used to order or decide. */
    time: z.string().datetime(),
    seen: seenSchema,
    /** Bucket snapshot version (Tigris) the writer synced against; null where the bucket has none. */
    snapshot: z.string().max(256).nullable(),
    /** Empty: a pure acknowledgement of `seen` (ADR-0007). */
    events: z.array(eventSchema).min(0).max(MAX_EVENTS_PER_SEGMENT),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.v < computeSegmentFormat(s.events)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `a format-${s.v} segment holds a format-2 event` });
    }
    if ((s.seq === 1) !== (s.prev === null)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'prev must be null exactly for seq 1' });
    }
    for (const move of computeMoveProblems(s.events)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: move });
    const ids = new Set<string>();
    for (const e of s.events) {
      const merge = e.type === 'put' ? computeMergeProblem(e) : undefined;
      if (merge !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, message: merge });
      if (e.type === 'key' && e.x25519 === undefined && e.ed25519 === undefined)
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `key event ${e.id} names no key` });
      if (ids.has(e.id)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `duplicate event id ${e.id}` });
      ids.add(e.id);
    }
  });
export type SegmentBody = z.infer<typeof segmentBodySchema>;

/** A client's published identity: its Ed25519 public key, bound to the vault and client id. */
export const identityBodySchema = z
  .object({
    v: z.literal(1),
    vault: z
      .string()
      .regex(ULID_RE)
      .transform((s) => s as VaultId),
    client: clientId,
    name: z.string().min(1).max(128),
    /** Raw 32-byte Ed25519 public key, lowercase hex. */
    publicKey: z.string().regex(/^[0-9a-f]{64}$/),
    time: z.string().datetime(),
  })
  .strict();
export type IdentityBody = z.infer<typeof identityBodySchema>;

/** The vault marker at the bucket root, written once by the first client. */
export const vaultSchema = z
  .object({
    v: z.literal(1),
    vault: z
      .string()
      .regex(ULID_RE)
      .transform((s) => s as VaultId),
    time: z.string().datetime(),
  })
  .strict();
export type VaultRecord = z.infer<typeof vaultSchema>;

/** What every reader needs of a format-2 vault marker's body (the rest is the root, src/members/vault-root.ts). */
export const vaultMarkerHeadSchema = z
  .object({
    v: z.literal(2),
    vault: z
      .string()
      .regex(ULID_RE)
      .transform((s) => s as VaultId),
    time: z.string().datetime(),
  })
  .passthrough();

/** The signed envelope every log and identity object is stored in. */
export const envelopeSchema = z.object({ v: z.number().int(), body: z.instanceof(Uint8Array), sig: z.instanceof(Uint8Array) }).strict();
