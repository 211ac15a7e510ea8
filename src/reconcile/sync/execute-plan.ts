import { BmError, ErrorCode, isBmError, unreachable } from '../../errors.js';
import { writeBlob } from '../../events/blobs.js';
import type { VersionId } from '../../events/ids.js';
import type { ContentRef, Event, PackLocation } from '../../events/schema.js';
import {
  createPackSpans,
  isPackable,
  planPacks,
  readContent,
  writePack,
  type ContentFallback,
  type PackSpans,
} from '../../events/packs.js';
import type { Chunks } from '../../events/store/lent-chunks.js';
import type { SyncPath } from '../../events/sync-path.js';
import { NoticeReason, type Plan, type PlanOp } from '../plan-sync.js';
import type { BaseEntry, LocalFile, LocalTree, ProgressSink } from '../ports.js';
import type { SyncContext } from '../sync-context.js';
import { BEING_COLLECTED } from '../sync-log.js';
import type { SyncTally } from './report.js';

/*
 * The execute stage (ADR-0023): carries out one plan against the ports. Order inside a chunk:
 * blobs, then the segment naming them, then local writes and deletes, then one atomic manifest
 * commit, so a crash at any instant leaves either the old or the new state and never an event
 * naming a missing blob.
 */

/** The default of `SyncContext.chunkOps`. */
const CHUNK_OPS = 4000;

/**
 * The default of `SyncContext.concurrency`: transfers in flight at once. On a bucket each
 * request is a round trip (20-80 ms), so 8 left the link idle; 32 hides it. Memory stays
 * bounded: small bodies stream through a stream's buffer each, and large ones go through the
 * S3 store's one-at-a-time multipart queue. S3 throttling (503 SlowDown) is retried by the
 * store with exponential backoff and jitter (test/reliability/s3-faults.test.ts).
 */
export const TRANSFERS_IN_FLIGHT = 32;

/** The manifest changes an execution committed. */
export interface Committed {
  readonly put: readonly BaseEntry[];
  readonly del: readonly SyncPath[];
}

/** What `executePlan` runs against: the ports, and the sync's log as the publish stage keeps it. */
export interface ExecuteEnv {
  readonly ctx: Pick<SyncContext, 'store' | 'tree' | 'index' | 'newId' | 'now' | 'concurrency' | 'chunkOps' | 'onProgress' | 'packs'> & {
    readonly identity: Pick<SyncContext['identity'], 'client'>;
  };
  /** Publishes events as this client's next segment(s) and folds them into the projection. */
  readonly publish: (events: readonly Event[]) => Promise<void>;
  /** Writer rule (ii) of ADR-0007: content a GC is collecting is not named until it is gone. */
  readonly isBeingCollected: (hash: string) => boolean;
  /** Where a download reads a content gone from the live bucket (bucket snapshots, ADR-0034); undefined: nowhere. */
  readonly fallbackFor?: (path: SyncPath, content: ContentRef) => ContentFallback | undefined;
  /** The ids of a path's heads in the projection now (after what was published). */
  readonly headIds: (path: SyncPath) => VersionId[];
  readonly tally: SyncTally;
  /** Told of every op carried out. */
  readonly applied: { push(op: PlanOp): void };
  /**
   * Set when this client's events would change nothing (ADR-0021: pending, removed, or a
   * reader): why. Its publishing ops are then skipped with this reason, its files left as they are.
   */
  readonly heldBack?: string;
}

type LocalOp = Extract<PlanOp, { kind: 'download' | 'writeCopy' | 'deleteLocal' | 'removeCopy' | 'merge' }>;

/** An op that writes or deletes a local file (a merge publishes first, then writes its bytes here). */
export function isLocalOp(o: PlanOp): o is LocalOp {
  return o.kind === 'download' || o.kind === 'writeCopy' || o.kind === 'deleteLocal' || o.kind === 'removeCopy' || o.kind === 'merge';
}

/** The ops that publish an event. */
function isPublishing(o: PlanOp): o is Extract<PlanOp, { kind: 'upload' | 'tombstone' | 'resolve' | 'merge' | 'follow' }> {
  return o.kind === 'upload' || o.kind === 'tombstone' || o.kind === 'resolve' || o.kind === 'merge' || o.kind === 'follow';
}

/** `from\0to` of a move half (an upload `from` or a tombstone `to`), or undefined for any other op. */
function moveKey(o: PlanOp): string | undefined {
  if (o.kind === 'upload' && o.from !== undefined) return `${o.from.path}\u0000${o.path}`;
  if (o.kind === 'tombstone' && o.to !== undefined) return `${o.path}\u0000${o.to}`;
  return undefined;
}

/**
 * The moves of `ops` whose both halves are there (ADR-0020): only those are published as moves;
 * a half whose partner is not in this chunk is published plainly (a delete, a new file).
 */
function computePairedMoves(ops: readonly PlanOp[]): Set<string> {
  const halves = new Map<string, number>();
  for (const o of ops) {
    const k = moveKey(o);
    if (k !== undefined) halves.set(k, (halves.get(k) ?? 0) + 1);
  }
  return new Set([...halves].filter(([, n]) => n === 2).map(([k]) => k));
}

/** Runs `fn` over `items` with at most `n` in flight; results in input order. */
async function mapLimit<T, R>(items: readonly T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}

/**
 * A local file as an upload source. The file may vanish or become unreadable after the scan;
 * every adapter must then see local-io (which skips just that file), not a raw ENOENT that
 * aborts the whole sync or that a directory remote reports as its own failure.
 */
export async function* openUploadSource(tree: LocalTree, path: SyncPath, size: number): Chunks {
  try {
    yield* tree.openRead(path, size);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException | null)?.code;
    if (isBmError(e) || typeof code !== 'string') throw e;
    throw new BmError(ErrorCode.localIo, `reading ${path} failed (${code})`, 'left as it is; the next sync retries', {}, { cause: e });
  }
}

function baseFromFile(
  file: LocalFile,
  heads: readonly VersionId[],
  version: VersionId | null,
  copyOf?: { path: SyncPath; version: VersionId },
): BaseEntry {
  const b = {
    path: file.path,
    hash: file.hash,
    size: file.size,
    mode: file.mode,
    mtimeMs: file.mtimeMs,
    ino: file.ino,
    heads: [...heads],
    version,
  };
  return copyOf ? { ...b, copyOf } : b;
}

/**
 * Splits `ops` into chunks of about `size`, every op of a path in the chunk of its first op
 * (so a path's rows are committed once, as one chunk would commit them), and a move's tombstone
 * in the chunk of its new name's upload (a move is published in one segment, ADR-0020).
 */
export function computeChunks(ops: readonly PlanOp[], size: number): PlanOp[][] {
  const chunks: PlanOp[][] = [[]];
  const chunkOf = new Map<string, PlanOp[]>();
  for (const op of ops) {
    const key = op.kind === 'tombstone' && op.to !== undefined ? op.to : op.path;
    let chunk = chunkOf.get(key);
    if (chunk === undefined) {
      if (chunks.at(-1)!.length >= size) chunks.push([]);
      chunk = chunks.at(-1)!;
      chunkOf.set(key, chunk);
    }
    chunk.push(op);
  }
  return chunks;
}

/**
 * Carries out `plan` a chunk at a time (`SyncContext.chunkOps`), each chunk's blobs, events
 * and local writes followed by its own manifest commit, so that what one chunk built can be
 * let go before the next. A crash between chunks leaves the earlier chunks published and
 * committed: the next sync finds the rest as it finds a round cut short. Returns the manifest
 * changes it committed.
 */
export async function executePlan(env: ExecuteEnv, plan: Plan): Promise<Committed> {
  tellPlanned(env.ctx.onProgress, plan);
  const size = Math.max(1, env.ctx.chunkOps ?? CHUNK_OPS);
  if (plan.ops.length <= size) return executeChunk(env, plan.ops);
  const put: BaseEntry[] = [];
  const del: SyncPath[] = [];
  for (const ops of computeChunks(plan.ops, size)) {
    const done = await executeChunk(env, ops);
    put.push(...done.put);
    del.push(...done.del);
  }
  return { put, del };
}

/** The files and bytes a plan uploads and downloads (conflict copies count as downloads). Pure. */
export function computeTransfers(ops: readonly PlanOp[]): Record<'upload' | 'download', { files: number; bytes: number }> {
  const t = { upload: { files: 0, bytes: 0 }, download: { files: 0, bytes: 0 } };
  for (const op of ops) {
    const size = op.kind === 'upload' || op.kind === 'resolve' ? op.file?.size : isLocalOp(op) ? downloadSize(op) : undefined;
    if (size === undefined) continue;
    const w = op.kind === 'upload' || op.kind === 'resolve' ? t.upload : t.download;
    w.files++;
    w.bytes += size;
  }
  return t;
}

function downloadSize(op: LocalOp): number | undefined {
  return op.kind === 'download' || op.kind === 'writeCopy' ? (op.version.content?.size ?? 0) : undefined;
}

/** Tells the progress display what a plan is about to transfer. */
function tellPlanned(progress: ProgressSink | undefined, plan: Plan): void {
  if (progress === undefined) return;
  progress({ kind: 'phase', phase: 'transfer' });
  const t = computeTransfers(plan.ops);
  for (const work of ['upload', 'download'] as const) if (t[work].files > 0) progress({ kind: 'total', work, ...t[work] });
}

/**
 * Runs one file's transfer with its bytes told to `progress` as they pass (`count` wraps the
 * transfer's chunks), then the file as done, whatever the outcome, so the counts reach their totals.
 */
async function withTransferProgress<T>(
  progress: ProgressSink | undefined,
  work: 'upload' | 'download',
  size: number,
  fn: (count: (c: Chunks) => Chunks) => Promise<T>,
): Promise<T> {
  if (progress === undefined) return fn((c) => c);
  let told = 0;
  const count = async function* (chunks: Chunks): Chunks {
    for await (const chunk of chunks) {
      told += chunk.byteLength;
      progress({ kind: 'bytes', work, bytes: chunk.byteLength });
      yield chunk;
    }
  };
  try {
    return await fn(count);
  } finally {
    progress({ kind: 'file', work, bytes: Math.max(0, size - told) });
  }
}

/** The manifest changes of one chunk, as its steps find them. */
interface Changes {
  readonly put: BaseEntry[];
  readonly del: SyncPath[];
}

async function executeChunk(env: ExecuteEnv, ops: readonly PlanOp[]): Promise<Committed> {
  const changes: Changes = { put: [], del: [] };
  const held = new Set<PlanOp>(env.heldBack === undefined ? [] : ops.filter(isPublishing));
  for (const op of held) skip(env, op, env.heldBack!);
  if (held.size > 0) ops = ops.filter((op) => !held.has(op));
  const { failed, packed } = await uploadContents(env, ops);
  // A move whose new file's upload failed waits whole: its old name's tombstone is not published alone.
  const failedMoves = new Set([...failed].map(moveKey).filter((k) => k !== undefined));
  for (const op of ops) {
    if (op.kind === 'tombstone' && failedMoves.has(moveKey(op)!)) {
      failed.add(op);
      skip(env, op, 'moved, and the new name could not be uploaded; the move is published next sync');
    }
  }
  const published = await publishOps(
    env,
    ops.filter((op) => isPublishing(op) && !failed.has(op)),
    changes,
    packed,
  );
  // A merge whose event was not published writes nothing here.
  const local = ops.filter((op) => isLocalOp(op) && (op.kind !== 'merge' || published.has(op))) as LocalOp[];
  await applyLocalOps(env, local, changes, published);
  recordBookkeeping(env, ops, changes);
  const putPaths = new Set(changes.put.map((b) => b.path));
  const committed = { put: changes.put, del: [...new Set(changes.del)].filter((p) => !putPaths.has(p)) };
  await env.ctx.index.commitBatch({
    manifestPut: committed.put,
    manifestDel: committed.del,
    meta: { lastSyncAt: env.ctx.now().toISOString() },
  });
  return committed;
}

function skip(env: ExecuteEnv, op: PlanOp, detail: string, code?: ErrorCode): void {
  env.tally.skipped.push({ path: op.path, op: op.kind, detail, ...(code === undefined ? {} : { code }) });
}

/** What the upload step did: the ops whose upload failed, and where packed contents went. */
interface Uploaded {
  readonly failed: Set<PlanOp>;
  readonly packed: Map<PlanOp, PackLocation>;
}

/** The local file an upload or resolve op publishes, or null. */
function fileOf(op: PlanOp): LocalFile | null {
  return op.kind === 'upload' ? op.file : op.kind === 'resolve' ? op.file : null;
}

/**
 * a. Contents first: an event may only name content that is already on the remote. Small
 * files go into packs (ADR-0022), one create-only object per MAX_PACK_BYTES, the rest are
 * blobs of their own.
 */
async function uploadContents(env: ExecuteEnv, ops: readonly PlanOp[]): Promise<Uploaded> {
  const { ctx } = env;
  const made = (o: PlanOp) => o.kind === 'merge' || (o.kind === 'follow' && o.follow.bytes !== null);
  const uploads = ops.filter((o) => o.kind === 'upload' || made(o) || (o.kind === 'resolve' && o.file !== null));
  const packing = ctx.packs === true;
  const toPack = packing ? uploads.filter((op) => fileOf(op) !== null && isPackable(fileOf(op)!.size)) : [];
  const packSet = new Set(toPack);
  const packed = new Map<PlanOp, PackLocation>();
  const failed = new Set<PlanOp>();
  for (const group of planPacks(toPack.map((op) => ({ op, hash: fileOf(op)!.hash, size: fileOf(op)!.size })))) {
    await uploadPack(env, group, packed, failed);
  }
  const blobs = uploads.filter((op) => !packSet.has(op));
  const uploaded = await mapLimit(blobs, ctx.concurrency ?? TRANSFERS_IN_FLIGHT, async (op) => {
    if (op.kind === 'merge') return uploadMadeBlob(env, op, op.merge.content, op.merge.bytes);
    if (op.kind === 'follow') return uploadMadeBlob(env, op, op.follow.content, op.follow.bytes!);
    const file = fileOf(op);
    if (file === null) return true;
    return withTransferProgress(ctx.onProgress, 'upload', file.size, (count) => uploadBlob(env, op, file, count));
  });
  for (const [i, op] of blobs.entries()) if (!uploaded[i]) failed.add(op);
  return { failed, packed };
}

/** One pack of small files: each located in it, or skipped (being collected, changed while read). */
async function uploadPack(
  env: ExecuteEnv,
  group: readonly { op: PlanOp; hash: string; size: number }[],
  packed: Map<PlanOp, PackLocation>,
  failed: Set<PlanOp>,
): Promise<void> {
  const { ctx, tally } = env;
  const held = group.filter(({ op, hash }) => env.isBeingCollected(hash) && holdForGc(env, op));
  for (const { op } of held) failed.add(op);
  const items = group.filter(({ op }) => !failed.has(op));
  if (items.length === 0) return;
  // Each file's bytes are told as the pack reads them; its file once the pack is written.
  const told = items.map(() => 0);
  const progress = ctx.onProgress;
  const sources = items.map(({ op }, i) => {
    const file = fileOf(op)!;
    const open = () => openUploadSource(ctx.tree, file.path, file.size);
    const counted = async function* (): Chunks {
      for await (const chunk of open()) {
        told[i]! += chunk.byteLength;
        progress?.({ kind: 'bytes', work: 'upload', bytes: chunk.byteLength });
        yield chunk;
      }
    };
    return { hash: file.hash, size: file.size, open: progress === undefined ? open : counted };
  });
  const where = await writePack(ctx.store, ctx.identity.client, ctx.newId(), sources);
  for (const [i, { op, size }] of items.entries()) {
    const w = where[i]!;
    progress?.({ kind: 'file', work: 'upload', bytes: Math.max(0, size - told[i]!) });
    if (w instanceof BmError) {
      skip(env, op, 'changed or unreadable while uploading; left for the next sync');
      failed.add(op);
      continue;
    }
    packed.set(op, w);
    tally.blobsUploaded++;
    tally.bytesUploaded += size;
  }
}

/** Writer rule (ii) of ADR-0007 for an op whose content a GC is collecting: skipped with a notice. Returns true. */
function holdForGc(env: ExecuteEnv, op: PlanOp): boolean {
  skip(env, op, BEING_COLLECTED);
  env.tally.notices.push({ path: op.path, reason: NoticeReason.beingCollected, detail: BEING_COLLECTED });
  return true;
}

/** One upload's blob; false when it was skipped. */
async function uploadBlob(env: ExecuteEnv, op: PlanOp, file: LocalFile, count: (c: Chunks) => Chunks): Promise<boolean> {
  const { ctx, tally } = env;
  if (env.isBeingCollected(file.hash) && holdForGc(env, op)) return false;
  try {
    const r = await writeBlob(ctx.store, {
      size: file.size,
      sha256: file.hash,
      open: () => count(openUploadSource(ctx.tree, file.path, file.size)),
    });
    if (r === 'created') {
      tally.blobsUploaded++;
      tally.bytesUploaded += file.size;
    }
    return true;
  } catch (e) {
    if (isBmError(e, ErrorCode.localIo)) {
      skip(env, op, 'changed or unreadable while uploading; left for the next sync');
      return false;
    }
    throw e;
  }
}

/** Bytes a stage made in memory (a merge's, a follow's) to the remote; false when held back for a GC. */
async function uploadMadeBlob(env: ExecuteEnv, op: PlanOp, content: ContentRef, bytes: Uint8Array): Promise<boolean> {
  if (env.isBeingCollected(content.hash) && holdForGc(env, op)) return false;
  const r = await writeBlob(env.ctx.store, { size: content.size, sha256: content.hash, open: () => lendBytes(bytes) });
  if (r === 'created') {
    env.tally.blobsUploaded++;
    env.tally.bytesUploaded += content.size;
  }
  return true;
}

async function* lendBytes(bytes: Uint8Array): Chunks {
  yield bytes;
}

function contentOf(file: LocalFile, pack?: PackLocation): ContentRef {
  const ref = { hash: file.hash as ContentRef['hash'], size: file.size, mode: file.mode };
  return pack === undefined ? ref : { ...ref, pack };
}

/**
 * b. One segment (or a few, past the size limit) carrying the chunk's events. Returns the
 * version each op published.
 */
async function publishOps(
  env: ExecuteEnv,
  publishable: readonly PlanOp[],
  changes: Changes,
  packed: ReadonlyMap<PlanOp, PackLocation>,
): Promise<Map<PlanOp, VersionId>> {
  const newVersion = new Map<PlanOp, VersionId>();
  const paired = computePairedMoves(publishable);
  const moved = (op: PlanOp) => paired.has(moveKey(op) ?? '');
  const events: Event[] = publishable.flatMap((op): Event[] => {
    const id = env.ctx.newId() as VersionId;
    newVersion.set(op, id);
    switch (op.kind) {
      case 'upload': {
        const from = op.from !== undefined && moved(op) ? { from: { ...op.from } } : {};
        return [{ type: 'put', id, path: op.path, replaces: [...op.replaces], content: contentOf(op.file, packed.get(op)), ...from }];
      }
      case 'tombstone':
        return [
          { type: 'tombstone', id, path: op.path, replaces: [...op.replaces], ...(op.to !== undefined && moved(op) ? { to: op.to } : {}) },
        ];
      case 'follow':
        return computeFollowEvents(id, env.ctx.newId() as VersionId, op);
      case 'resolve':
        return [
          { type: 'resolve', id, path: op.path, replaces: [...op.replaces], content: op.file ? contentOf(op.file, packed.get(op)) : null },
        ];
      case 'merge': {
        const { heads, content, record } = op.merge;
        return [{ type: 'put', id, path: op.path, replaces: [...heads], content, merge: { ...record, parents: [...record.parents] } }];
      }
      default:
        throw new BmError(ErrorCode.internal, `not a publishing op: ${op.kind}`);
    }
  });
  await env.publish(events);
  for (const op of publishable) {
    if (op.kind === 'merge') continue; // applied, and its row made, when its bytes are written here
    env.applied.push(op);
    if (op.kind === 'follow') continue; // the next round's rows delete the old file here and fetch the new one
    const id = newVersion.get(op)!;
    if (op.kind === 'upload') changes.put.push(baseFromFile(op.file, env.headIds(op.path), id));
    else if (op.kind === 'resolve' && op.file) changes.put.push(baseFromFile(op.file, env.headIds(op.path), id));
    else changes.del.push(op.path);
  }
  return newVersion;
}

/** A follow's two events (ADR-0020): the old name ended `to` the new one, the edit put there `from` it. */
function computeFollowEvents(id: VersionId, putId: VersionId, op: Extract<PlanOp, { kind: 'follow' }>): Event[] {
  const f = op.follow;
  return [
    { type: 'tombstone', id, path: op.path, replaces: [...f.ends], to: f.to },
    {
      type: 'put',
      id: putId,
      path: f.to,
      replaces: f.replacesTarget ? [...f.toHeads] : [],
      content: { ...f.content },
      from: { path: op.path, version: f.edit },
    },
  ];
}

/**
 * c. Local writes and deletes, each guarded against changes since the scan. Deletes first: a
 * file a folder displaces is moved aside before the folder's files are written (ADR-0016).
 */
async function applyLocalOps(
  env: ExecuteEnv,
  local: readonly LocalOp[],
  changes: Changes,
  published: ReadonlyMap<PlanOp, VersionId>,
): Promise<void> {
  const concurrency = env.ctx.concurrency ?? TRANSFERS_IN_FLIGHT;
  // Pack entries many downloads share are read in one request per pack (ADR-0022).
  const spans = createPackSpans(env.ctx.store, local.flatMap(downloadContent));
  const apply = async (op: LocalOp): Promise<void> => {
    try {
      const done =
        op.kind === 'merge' ? await applyMergeHere(env, op, published.get(op)!, changes) : await applyLocalOp(env, op, changes, spans);
      if (done) env.applied.push(op);
    } catch (e) {
      const skippable = isBmError(e, ErrorCode.blobCorrupt, ErrorCode.blobMissing, ErrorCode.localIo, ErrorCode.badPath);
      if (skippable) return skip(env, op, `${e.message}; ${e.hint}`, e.code);
      throw e;
    }
  };
  await mapLimit(
    local.filter((o) => o.kind === 'deleteLocal' || o.kind === 'removeCopy'),
    concurrency,
    apply,
  );
  const writes = local.filter((o) => o.kind === 'download' || o.kind === 'writeCopy' || o.kind === 'merge');
  await mapLimit(computePackOrder(writes), concurrency, apply);
}

/**
 * The bytes of a published merge written here, guarded like a download: a file changed since
 * the scan is left as it is (its edit is published next sync, and merged with this merge).
 */
async function applyMergeHere(env: ExecuteEnv, op: Extract<PlanOp, { kind: 'merge' }>, id: VersionId, changes: Changes): Promise<boolean> {
  const { content, bytes } = op.merge;
  const r = await env.ctx.tree.writeFile(op.path, lendBytes(bytes), content.hash, content.mode, op.expect);
  if (r === 'changed') {
    skip(env, op, 'changed locally since the scan; the merge was published, your edit syncs next time');
    return false;
  }
  changes.put.push(baseFromFile(r, env.headIds(op.path), id));
  return true;
}

/** The content a download or conflict copy writes, as a list (none for other ops). */
function downloadContent(op: LocalOp): ContentRef[] {
  return (op.kind === 'download' || op.kind === 'writeCopy') && op.version.content !== null ? [op.version.content] : [];
}

/** Writes in pack order (pack, then offset; blobs keep their order after them), so a pack's span is read once and let go. Pure. */
export function computePackOrder(ops: readonly LocalOp[]): LocalOp[] {
  const keyOf = (op: LocalOp): string => {
    const p = downloadContent(op)[0]?.pack;
    return p === undefined ? '~' : `${p.client}/${p.id}/${String(p.offset).padStart(9, '0')}`;
  };
  return ops
    .map((op, i) => ({ op, i, k: keyOf(op) }))
    .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.i - b.i))
    .map((x) => x.op);
}

/** One guarded local write or delete: false when its guard refused (the op is then skipped). */
async function applyLocalOp(
  env: ExecuteEnv,
  op: Exclude<LocalOp, { kind: 'merge' }>,
  changes: Changes,
  spans: PackSpans,
): Promise<boolean> {
  const { ctx, tally } = env;
  switch (op.kind) {
    case 'download':
    case 'writeCopy': {
      const content = op.version.content!;
      const expect = op.kind === 'download' ? op.expect : null;
      const r = await withTransferProgress(ctx.onProgress, 'download', content.size, async (count) =>
        ctx.tree.writeFile(
          op.path,
          count(await readContent(ctx.store, content, spans, env.fallbackFor?.(op.path, content))),
          content.hash,
          content.mode,
          expect,
        ),
      );
      if (r === 'changed') {
        skip(env, op, 'changed locally since the scan; left as it is, will sync next time');
        return false;
      }
      tally.bytesDownloaded += content.size;
      const { id } = op.version;
      changes.put.push(
        op.kind === 'download' ? baseFromFile(r, env.headIds(op.path), id) : baseFromFile(r, [id], id, { path: op.of, version: id }),
      );
      return true;
    }
    case 'deleteLocal':
    case 'removeCopy': {
      const r = await ctx.tree.removeFile(op.path, op.expect);
      if (r === 'changed') {
        skip(env, op, 'changed locally since the scan; not deleted, will sync as an edit');
        return false;
      }
      changes.del.push(op.path);
      return true;
    }
    default:
      return unreachable(op);
  }
}

/** d. Bookkeeping: manifest rows to record or forget. */
function recordBookkeeping(env: ExecuteEnv, ops: readonly PlanOp[], changes: Changes): void {
  for (const op of ops) {
    switch (op.kind) {
      case 'record':
        changes.put.push(baseFromFile(op.file, op.heads, op.version, op.copyOf ? { path: op.copyOf, version: op.version } : undefined));
        env.applied.push(op);
        break;
      case 'forget':
        changes.del.push(op.path);
        env.applied.push(op);
        break;
      case 'upload':
      case 'tombstone':
      case 'resolve':
      case 'merge':
      case 'follow':
      case 'download':
      case 'writeCopy':
      case 'deleteLocal':
      case 'removeCopy':
        break;
      default:
        unreachable(op);
    }
  }
}
