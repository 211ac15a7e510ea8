import { z } from 'zod';
import { configSettingsSchema } from './config-event-schema.js';
import { HASH_RE, ULID_RE, type ClientId, type ContentHash, type VaultId, type VersionId } from './ids.js';
import { clientId, contentRefSchema, frontierSchema, hash, MAX_REPLACES, seenSchema, type ContentRef } from './schema.js';
import { computePathProblem, type SyncPath } from './sync-path.js';

/**
 * Checkpoint wire schemas. Format 2 (ADR-0014) is a writer's checkpoint of its OWN log; the
 * format-1 schema (ADR-0007, a whole-vault state signed by one writer) is kept only so that
 * `verify` can check old objects and an old joined client can leave theirs behind: no
 * format-1 checkpoint is written or adopted any more.
 */

/** Upper bound of a checkpoint object. */
export const MAX_CHECKPOINT_BYTES = 512 * 1024 * 1024;
export const CHECKPOINT_FORMAT = 1;
export const WRITER_CHECKPOINT_FORMAT = 2;

/** A cursor into one client's log: its seq and the SHA-256 of that segment's body. */
const cursorSchema = z.object({ seq: z.number().int().min(1), hash: z.string().regex(HASH_RE) }).strict();

/** What a version inherits from its segment, stored once per segment in a checkpoint. */
const checkpointContextSchema = z
  .object({
    client: clientId,
    seq: z.number().int().min(1),
    time: z.string().datetime(),
    seen: seenSchema,
    snapshot: z.string().max(256).nullable(),
  })
  .strict();

/** A head of a path in a checkpoint; `ctx` indexes `contexts`. */
export interface CheckpointHead {
  readonly id: VersionId;
  readonly type: 'put' | 'tombstone' | 'resolve';
  readonly ctx: number;
  readonly replaces: readonly VersionId[];
  readonly content: ContentRef | null;
}

/** One path of a checkpoint: its heads and the ids replaced there that are not among its versions. */
export interface CheckpointPath {
  readonly path: SyncPath;
  readonly heads: readonly CheckpointHead[];
  readonly replaced: readonly VersionId[];
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const hasOnlyKeys = (o: Record<string, unknown>, keys: readonly string[]) => Object.keys(o).every((k) => keys.includes(k));
const isUlid = (v: unknown): v is string => typeof v === 'string' && ULID_RE.test(v);
const isUlidList = (v: unknown, max = Number.POSITIVE_INFINITY): boolean => Array.isArray(v) && v.length <= max && v.every(isUlid);
const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isSeq = (v: unknown, max: number): boolean => isIndex(v) && v >= 1 && v <= max;

function computeContentProblem(c: unknown): string | undefined {
  if (c === null) return undefined;
  if (!isPlainObject(c) || !hasOnlyKeys(c, ['hash', 'size', 'mode', 'pack'])) return 'content is not {hash, size, mode, pack?}';
  if (typeof c['hash'] !== 'string' || !HASH_RE.test(c['hash'])) return 'content hash is not a lowercase hex SHA-256';
  if (!isIndex(c['size']) || c['size'] > Number.MAX_SAFE_INTEGER) return 'content size is not a byte count';
  if (!isIndex(c['mode']) || c['mode'] > 0o7777) return 'content mode is out of range';
  // A pack location (ADR-0022) is checked by the event schema's own rule.
  if ('pack' in c && !contentRefSchema.safeParse(c).success) return 'content pack location is malformed';
  return undefined;
}

/** Why a stored version `{id, type, ctx, replaces, content}` at `where` is malformed, or undefined. */
function computeVersionProblem(h: unknown, where: string): string | undefined {
  if (!isPlainObject(h) || !hasOnlyKeys(h, ['id', 'type', 'ctx', 'replaces', 'content']) || !('content' in h)) {
    return `${where} is not {id, type, ctx, replaces, content}`;
  }
  if (!isUlid(h['id'])) return `${where}.id: not a ULID`;
  if (h['type'] !== 'put' && h['type'] !== 'tombstone' && h['type'] !== 'resolve') return `${where}.type: unknown`;
  if (!isIndex(h['ctx'])) return `${where}.ctx: not an index`;
  if (!isUlidList(h['replaces'], MAX_REPLACES)) return `${where}.replaces: not a list of at most ${MAX_REPLACES} ULIDs`;
  if (h['type'] === 'tombstone' && h['content'] !== null) return `${where}: a tombstone with content`;
  if (h['type'] === 'put' && h['content'] === null) return `${where}: a put without content`;
  const content = computeContentProblem(h['content']);
  return content === undefined ? undefined : `${where}: ${content}`;
}

function computeEntryPathProblem(e: Record<string, unknown>, where: string): string | undefined {
  const problem = typeof e['path'] === 'string' ? computePathProblem(e['path']) : 'not a string';
  return problem === undefined ? undefined : `${where}.path: unsafe path: ${problem}`;
}

/**
 * Why a format-1 checkpoint's `paths` array is malformed, or undefined. The same rules a zod
 * schema would state (path safety, ULIDs, hashes, bounds, no extra keys), checked in one
 * loop: the array holds one entry per path of the vault, and zod's per-value allocations
 * made a 100,000-path checkpoint take tens of seconds to check.
 */
export function computeCheckpointPathsProblem(value: unknown): string | undefined {
  if (!Array.isArray(value)) return 'paths is not an array';
  for (const [i, e] of value.entries()) {
    if (!isPlainObject(e) || !hasOnlyKeys(e, ['path', 'heads', 'replaced'])) return `paths.${i} is not {path, heads, replaced}`;
    const problem = computeEntryPathProblem(e, `paths.${i}`);
    if (problem !== undefined) return problem;
    if (!isUlidList(e['replaced'])) return `paths.${i}.replaced: not a list of ULIDs`;
    if (!Array.isArray(e['heads'])) return `paths.${i}.heads: not an array`;
    for (const [j, h] of (e['heads'] as unknown[]).entries()) {
      const p = computeVersionProblem(h, `paths.${i}.heads.${j}`);
      if (p !== undefined) return p;
    }
  }
  return undefined;
}

/** Why a checkpoint's `collected` array (format 1) is malformed, or undefined (one loop, as for `paths`). */
export function computeCheckpointCollectedProblem(value: unknown): string | undefined {
  if (!Array.isArray(value)) return 'collected is not an array';
  for (const [i, e] of value.entries()) {
    if (!isPlainObject(e) || !hasOnlyKeys(e, ['path', 'versions'])) return `collected.${i} is not {path, versions}`;
    const problem = computeEntryPathProblem(e, `collected.${i}`);
    if (problem !== undefined) return problem;
    if (!isUlidList(e['versions'])) return `collected.${i}.versions: not a list of ULIDs`;
  }
  return undefined;
}

/** A zod schema that runs a one-loop check and passes the value through unchanged. */
function checkedArray<T>(problemOf: (v: unknown) => string | undefined) {
  return z.unknown().superRefine((v, ctx) => {
    const problem = problemOf(v);
    if (problem !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
  }) as unknown as z.ZodType<T[], z.ZodTypeDef, unknown>;
}

/**
 * A format-1 checkpoint (ADR-0007): the projected live state of the whole vault at
 * `frontier`, signed by one writer. No longer written, and never adopted (ADR-0014): a
 * joiner cannot tell whether the writer spoke truly for the others. `verify` still checks
 * such objects against the log, so a forged one is reported.
 */
export const checkpointBodySchema = z
  .object({
    v: z.literal(CHECKPOINT_FORMAT),
    vault: z
      .string()
      .regex(ULID_RE)
      .transform((s) => s as VaultId),
    client: clientId,
    seq: z.number().int().min(1),
    time: z.string().datetime(),
    frontier: z.record(z.string().regex(ULID_RE), cursorSchema),
    contexts: z.array(checkpointContextSchema),
    paths: checkedArray<CheckpointPath>(computeCheckpointPathsProblem),
    collected: checkedArray<{ readonly path: SyncPath; readonly versions: readonly VersionId[] }>(computeCheckpointCollectedProblem),
    retired: z.array(clientId),
    latest: z.array(
      z
        .object({ client: clientId, seq: z.number().int().min(1), time: z.string().datetime(), seen: seenSchema })
        .extend({ events: z.number().int().nonnegative() })
        .strict(),
    ),
    lastEventful: frontierSchema,
    condemnations: z.array(
      z
        .object({ hash, client: clientId, seq: z.number().int().min(1), time: z.string().datetime(), seen: seenSchema })
        .extend({ graceMs: z.number().int().nonnegative(), voided: z.boolean() })
        .strict(),
    ),
    deletions: z.array(
      z.object({ hash, client: clientId, seq: z.number().int().min(1), time: z.string().datetime(), seen: seenSchema }).strict(),
    ),
    namers: z.array(z.object({ hash, client: clientId, seq: z.number().int().min(1) }).strict()),
  })
  .strict();
export type CheckpointBody = z.infer<typeof checkpointBodySchema>;

// ---- format 2: a writer's checkpoint of its own log (ADR-0014)

/** One of the writer's own segments, as its versions and gc records inherit it. */
const ownContextSchema = z
  .object({ seq: z.number().int().min(1), time: z.string().datetime(), seen: seenSchema, snapshot: z.string().max(256).nullable() })
  .strict();
export type OwnContext = z.infer<typeof ownContextSchema>;

/** A version the writer wrote that it knows to be live (a head); `ctx` indexes `contexts`. */
export type WriterVersion = CheckpointHead;

/** An id the writer's own event at `seq` replaced, kept while the replaced version may still show up elsewhere. */
export interface ReplacedClaim {
  readonly id: VersionId;
  readonly seq: number;
}

/** One path of a writer checkpoint: the writer's live versions there and its replaced claims. */
export interface WriterPath {
  readonly path: SyncPath;
  readonly versions: readonly WriterVersion[];
  readonly replaced: readonly ReplacedClaim[];
}

/** Why a format-2 checkpoint's `paths` array is malformed (one loop, as for format 1); `seq` bounds every claim's seq. */
export function computeWriterPathsProblem(value: unknown, seq: number): string | undefined {
  if (!Array.isArray(value)) return 'paths is not an array';
  for (const [i, e] of value.entries()) {
    if (!isPlainObject(e) || !hasOnlyKeys(e, ['path', 'versions', 'replaced'])) return `paths.${i} is not {path, versions, replaced}`;
    const problem = computeEntryPathProblem(e, `paths.${i}`);
    if (problem !== undefined) return problem;
    if (!Array.isArray(e['versions']) || !Array.isArray(e['replaced'])) return `paths.${i}: versions or replaced is not an array`;
    for (const [j, h] of (e['versions'] as unknown[]).entries()) {
      const p = computeVersionProblem(h, `paths.${i}.versions.${j}`);
      if (p !== undefined) return p;
    }
    for (const [j, r] of (e['replaced'] as unknown[]).entries()) {
      const ok = isPlainObject(r) && hasOnlyKeys(r, ['id', 'seq']) && isUlid(r['id']) && isSeq(r['seq'], seq);
      if (!ok) return `paths.${i}.replaced.${j} is not {id, seq} with seq within the checkpoint`;
    }
  }
  return undefined;
}

/** Why a format-2 checkpoint's `collected` array is malformed, or undefined. */
export function computeWriterCollectedProblem(value: unknown, seq: number): string | undefined {
  if (!Array.isArray(value)) return 'collected is not an array';
  for (const [i, e] of value.entries()) {
    if (!isPlainObject(e) || !hasOnlyKeys(e, ['path', 'seq', 'versions'])) return `collected.${i} is not {path, seq, versions}`;
    const problem = computeEntryPathProblem(e, `collected.${i}`);
    if (problem !== undefined) return problem;
    if (!isSeq(e['seq'], seq)) return `collected.${i}.seq: not a seq within the checkpoint`;
    if (!isUlidList(e['versions'])) return `collected.${i}.versions: not a list of ULIDs`;
  }
  return undefined;
}

/** A writer's latest config event as its checkpoint carries it: where, its logical clock, its settings. */
const writerConfigSchema = z
  .object({ seq: z.number().int().min(1), id: z.string().regex(ULID_RE), weight: z.number().int().min(1), settings: configSettingsSchema })
  .strict();
export type WriterConfig = z.infer<typeof writerConfigSchema>;

/**
 * A writer checkpoint (format 2, ADR-0014), stored at `writer-checkpoints/<client>/<seq>`:
 * what `client`'s OWN log up to its segment `seq` says that still matters, signed by it. It
 * never speaks for another writer's versions: a joiner combines every writer's latest
 * checkpoint (in any order: the fold is a union) and fetches each log after its checkpoint.
 * - `hash` and `segment`: the writer's segment `seq` (the cursor a joiner continues from; its
 *   `seen` is how far the checkpoint's writer had read the others);
 * - `paths`: per path, the writer's versions it knows to be live (heads), and the ids its own
 *   events replaced there while a version they name may still show up in another writer's
 *   checkpoint or log tail (`{id, seq}`: the seq of the replacing segment);
 * - `collected`: per path, what its own gc events collected, kept on the same terms;
 * - the writer's vault-level facts: last segment with events, whom it retired, its gc
 *   condemnations and deletion records (`ctx` indexes `contexts`), and the blobs named by
 *   its versions that are not kept but may still void a condemnation (`namers`);
 * - `relies`: the other writers' checkpoints (client, seq) by which it judged which claims
 *   were no longer needed: a joiner uses those or later ones, whatever its listing showed.
 */
export const writerCheckpointBodySchema = z
  .object({
    v: z.literal(WRITER_CHECKPOINT_FORMAT),
    vault: z
      .string()
      .regex(ULID_RE)
      .transform((s) => s as VaultId),
    client: clientId,
    seq: z.number().int().min(1),
    hash: z.string().regex(HASH_RE),
    time: z.string().datetime(),
    segment: z.object({ time: z.string().datetime(), seen: seenSchema, events: z.number().int().nonnegative() }).strict(),
    lastEventful: z.number().int().nonnegative(),
    contexts: z.array(ownContextSchema),
    paths: z.unknown(),
    collected: z.unknown(),
    retired: z.array(z.object({ client: clientId, seq: z.number().int().min(1) }).strict()),
    condemnations: z.array(z.object({ hash, ctx: z.number().int().nonnegative(), graceMs: z.number().int().nonnegative() }).strict()),
    deletions: z.array(z.object({ hash, ctx: z.number().int().nonnegative() }).strict()),
    namers: z.array(z.object({ hash, seq: z.number().int().min(1) }).strict()),
    relies: z.array(z.object({ client: clientId, seq: z.number().int().min(1) }).strict()),
    /** The writer's latest `config` event (ADR-0037), so a joiner from this checkpoint keeps the vault's settings. */
    config: writerConfigSchema.optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    const problem = computeWriterBodyProblem(b);
    if (problem !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
  }) as unknown as z.ZodType<WriterCheckpointBody, z.ZodTypeDef, unknown>;

export interface WriterCheckpointBody {
  readonly v: typeof WRITER_CHECKPOINT_FORMAT;
  readonly vault: VaultId;
  readonly client: ClientId;
  readonly seq: number;
  readonly hash: string;
  readonly time: string;
  readonly segment: { readonly time: string; readonly seen: Readonly<Record<string, number>>; readonly events: number };
  readonly lastEventful: number;
  readonly contexts: readonly OwnContext[];
  readonly paths: readonly WriterPath[];
  readonly collected: readonly { readonly path: SyncPath; readonly seq: number; readonly versions: readonly VersionId[] }[];
  readonly retired: readonly { readonly client: ClientId; readonly seq: number }[];
  readonly condemnations: readonly { readonly hash: ContentHash; readonly ctx: number; readonly graceMs: number }[];
  readonly deletions: readonly { readonly hash: ContentHash; readonly ctx: number }[];
  readonly namers: readonly { readonly hash: ContentHash; readonly seq: number }[];
  readonly relies: readonly { readonly client: ClientId; readonly seq: number }[];
  readonly config?: WriterConfig;
}

/** The cross-field rules of a writer checkpoint: every seq within its own log, every `ctx` an index of `contexts`. */
function computeWriterBodyProblem(b: {
  client: string;
  seq: number;
  lastEventful: number;
  contexts: readonly OwnContext[];
  paths?: unknown;
  collected?: unknown;
  retired: readonly { seq: number }[];
  condemnations: readonly { ctx: number }[];
  deletions: readonly { ctx: number }[];
  namers: readonly { seq: number }[];
  relies: readonly { client: string }[];
  config?: { seq: number } | undefined;
}): string | undefined {
  const paths = computeWriterPathsProblem(b.paths, b.seq) ?? computeWriterCollectedProblem(b.collected, b.seq);
  if (paths !== undefined) return paths;
  if (b.lastEventful > b.seq) return 'lastEventful is past the checkpoint';
  if (b.contexts.some((c) => c.seq > b.seq)) return 'a context is past the checkpoint';
  if ([...b.retired, ...b.namers].some((r) => r.seq > b.seq)) return 'a retire or namer seq is past the checkpoint';
  if (b.config !== undefined && b.config.seq > b.seq) return 'the config seq is past the checkpoint';
  const relied = new Set(b.relies.map((r) => r.client));
  if (relied.has(b.client) || relied.size !== b.relies.length) return 'relies names its own writer or a writer twice';
  const n = b.contexts.length;
  if ([...b.condemnations, ...b.deletions].some((c) => c.ctx >= n)) return 'a gc record names a missing context';
  for (const e of b.paths as WriterPath[]) if (e.versions.some((v) => v.ctx >= n)) return `${e.path}: a version names a missing context`;
  return undefined;
}

/**
 * A writer checkpoint body from its paths and the rest, with its keys in the format's order
 * (the order they are encoded in: a body computed in parts encodes to the same bytes).
 */
export function computeCheckpointBody(rest: Omit<WriterCheckpointBody, 'paths'>, paths: readonly WriterPath[]): WriterCheckpointBody {
  const { v, vault, client, seq, hash, time, segment, lastEventful, contexts } = rest;
  const { collected, condemnations, deletions, retired, namers, relies, config } = rest;
  return {
    v,
    vault,
    client,
    seq,
    hash,
    time,
    segment,
    lastEventful,
    contexts,
    paths,
    collected,
    condemnations,
    deletions,
    retired,
    namers,
    relies,
    ...(config === undefined ? {} : { config }),
  };
}

/** The keys of a writer checkpoint body after `paths`, in the format's order. */
export const KEYS_AFTER_PATHS = ['collected', 'condemnations', 'deletions', 'retired', 'namers', 'relies'] as const;
