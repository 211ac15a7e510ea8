import { BmError, ErrorCode } from '../errors.js';
import type { WriterCheckpointBody } from '../events/checkpoint-schema.js';
import { readJoinCheckpoints, readSegment, KeyLookup } from '../events/checkpoints.js';
import { decodeTrustedCheckpoint, decodeTrustedSegment, decodeTrustedWriterCheckpoint } from '../events/codec.js';
import type { ClientId } from '../events/ids.js';
import { keyOfWriterCheckpoint } from '../events/layout.js';
import type { ClientKey, Cursor, LogFault } from '../events/log.js';
import type { SegmentBody } from '../events/schema.js';
import type { ObjectStore } from '../events/store/object-store.js';
import { projectCheckpoint } from '../projections/project-checkpoint.js';
import { createLogState, projectLogSegment, type LogState } from '../projections/project-log.js';
import { computeSegmentVersions } from '../projections/project-paths.js';
import { readMemberState } from './member-state.js';
import type { VaultRootBody } from '../members/vault-root.js';
import {
  keyOfClaim,
  noteContested,
  projectWriterCheckpoint,
  SegmentClaims,
  type CheckpointClaim,
} from '../projections/project-writer-checkpoint.js';
import type { SyncIndex } from './ports.js';
import { NO_VERDICTS, settleCheckpointClaims, type CheckpointFold, type ClaimVerdicts } from './settle-claims.js';

/**
 * A new client joins from the writers' checkpoints (ADR-0014): it keeps them in its index,
 * folds them with every log after them, and checks the claims its state depends on against
 * the writers' own segments, leaving out (and reporting) those found false.
 */

/** Meta key: the writer checkpoints a client joined from (their verified object bytes). */
export const WRITER_CHECKPOINTS_META_KEY = 'writerCheckpoints';
/** Meta key: the claims of those checkpoints checked so far (ClaimVerdicts). */
export const CLAIM_VERDICTS_META_KEY = 'checkpointClaims';
/** Meta key of an older bm-log: the format-1 checkpoint it joined from (ADR-0007). */
export const FORMAT1_META_KEY = 'checkpoint';

const NONE: ReadonlySet<string> = new Set();

/** The writer checkpoints `index` holds (object bytes), or undefined when it joined from none. */
export async function readHeldCheckpoints(index: SyncIndex): Promise<readonly Uint8Array[] | undefined> {
  const held = index.getMeta ? await index.getMeta<Uint8Array[]>(WRITER_CHECKPOINTS_META_KEY) : undefined;
  return held === undefined || held.length === 0 ? undefined : held;
}

export async function readClaimVerdicts(index: SyncIndex): Promise<ClaimVerdicts> {
  return (index.getMeta ? await index.getMeta<ClaimVerdicts>(CLAIM_VERDICTS_META_KEY) : undefined) ?? NO_VERDICTS;
}

/** What a join brought: where each log continues from, the checkpoints, and the keys to pin. */
export interface Joined {
  readonly cursors: Map<ClientId, Cursor>;
  readonly checkpoints: readonly Uint8Array[];
  readonly keys: readonly ClientKey[];
}

/**
 * A new client's join (nothing fetched, no checkpoint held): reads the writers' latest
 * checkpoints (all or none, `readJoinCheckpoints`) and, unless `dryRun`, keeps them with the
 * cursors they stand on and the keys they were verified with. `joined` is undefined when
 * no checkpoint is used (there is none, or one failed its checks: then every log is replayed).
 */
export async function executeJoin(
  store: ObjectStore,
  index: SyncIndex,
  vault: string,
  pinned: ReadonlyMap<string, ClientKey>,
  dryRun: boolean,
): Promise<{ joined: Joined | undefined; faults: readonly LogFault[]; requests: number }> {
  const found = await readJoinCheckpoints(store, vault, pinned);
  if (found.checkpoints.length === 0) return { joined: undefined, faults: found.faults, requests: found.requests };
  const cursors = new Map<ClientId, Cursor>(found.checkpoints.map((c) => [c.body.client, { seq: c.body.seq, hash: c.body.hash }]));
  const checkpoints = found.checkpoints.map((c) => c.bytes);
  if (!dryRun) {
    if (found.keys.length > 0) await index.pinKeys(found.keys.map((k) => ({ client: k.client, publicKey: k.publicKeyHex, name: k.name })));
    await index.commitBatch({ meta: { [WRITER_CHECKPOINTS_META_KEY]: checkpoints, [CLAIM_VERDICTS_META_KEY]: NO_VERDICTS }, cursors });
  }
  return { joined: { cursors, checkpoints, keys: found.keys }, faults: found.faults, requests: found.requests };
}

/** A fold of the index's log (with the checkpoints it joined from, if any) and the checkpoint bodies. */
export interface IndexFold extends CheckpointFold {
  readonly checkpoints: readonly WriterCheckpointBody[] | undefined;
}

/**
 * Folds the checkpoints (when the client joined from some), leaving out the claims in
 * `excluded`, then every stored segment and `extra` (a dry run's fetched segments), noting
 * the versions two writers claim. With `format1`, an older bm-log's format-1 checkpoint is
 * folded as it was adopted then (for queries before the next sync, which replaces it with
 * the whole log: `fetchNewSegments`).
 */
export async function foldIndexWithCheckpoints(
  index: SyncIndex,
  held: readonly Uint8Array[] | undefined,
  options: { excluded?: ReadonlySet<string>; extra?: readonly SegmentBody[]; format1?: boolean; root?: VaultRootBody } = {},
): Promise<IndexFold> {
  const { excluded = NONE, extra = [] } = options;
  const bodies = held?.map(decodeTrustedWriterCheckpoint);
  const contested = new Set<string>();
  const format1 =
    bodies === undefined && options.format1 === true && index.getMeta ? await index.getMeta<Uint8Array>(FORMAT1_META_KEY) : undefined;
  const state = format1 !== undefined ? projectCheckpoint(decodeTrustedCheckpoint(format1)) : createLogState();
  for (const body of bodies ?? []) projectWriterCheckpoint(body, state, excluded, contested);
  const members = await readMemberState(index, extra, options.root);
  if (members !== undefined) state.members = members;
  const fold = (seg: SegmentBody) => {
    if (bodies !== undefined) noteContested(state, computeSegmentVersions(seg), contested);
    projectLogSegment(state, seg);
  };
  for await (const rec of index.iterateSegments()) fold(decodeTrustedSegment(rec.bytes));
  for (const seg of extra) fold(seg);
  return { state, contested, checkpoints: bodies };
}

/**
 * Checks `claims` against their writers' own segments (one verified read per segment): true
 * when the segment says what the claim says. An invalid segment makes its claims false; a
 * missing one leaves them undecided (no entry): it may have vanished and be put back by its
 * writer (ADR-0015), so the claims are left out for now and checked again at the next sync.
 * A transient failure throws (nothing is decided).
 */
export async function readClaimSegments(
  store: ObjectStore,
  vault: string,
  pinned: ReadonlyMap<string, ClientKey>,
  claims: readonly CheckpointClaim[],
): Promise<Map<string, boolean>> {
  const keys = new KeyLookup(store, vault, pinned);
  const bySegment = new Map<string, CheckpointClaim[]>();
  for (const c of claims) {
    const list = bySegment.get(`${c.writer}/${c.seq}`);
    if (list === undefined) bySegment.set(`${c.writer}/${c.seq}`, [c]);
    else list.push(c);
  }
  const verdicts = new Map<string, boolean>();
  for (const list of bySegment.values()) {
    const { writer, seq } = list[0]!;
    // (null: the segment is not on the remote; undefined: it is there but invalid.)
    let seg: Awaited<ReturnType<typeof readSegment>> | null;
    try {
      seg = (await readSegment(store, keys, writer, seq, vault)) ?? null;
    } catch (e) {
      if (!(e instanceof BmError) || e.code === ErrorCode.remoteUnavailable) throw e;
      seg = undefined;
    }
    if (seg === null) continue;
    const says = seg === undefined ? undefined : new SegmentClaims(seg.body);
    for (const c of list) verdicts.set(keyOfClaim(c), says?.says(c) === true);
  }
  return verdicts;
}

/** One fault per checkpoint with claims its writer's log does not support. */
export function computeClaimFaults(bodies: readonly WriterCheckpointBody[], bad: readonly CheckpointClaim[]): LogFault[] {
  const out: LogFault[] = [];
  for (const body of bodies) {
    const mine = bad.filter((c) => c.writer === body.client);
    if (mine.length === 0) continue;
    const first = mine[0]!;
    const what = `${first.kind} ${first.id} of ${first.path} at its seq ${first.seq}`;
    const message = `checkpoint ${body.client}/${body.seq} makes ${mine.length} claim(s) its writer's own log does not support (${what})`;
    const hint = 'those claims are left out and the rest stands; `bm-log verify` on a client holding the whole history lists every problem';
    const error = new BmError(ErrorCode.unsupportedCheckpoint, message, hint);
    out.push({ client: body.client, seq: body.seq, key: keyOfWriterCheckpoint(body.client, body.seq), error });
  }
  return out;
}

/**
 * Settles the claims a checkpoint-based fold depends on (`settleCheckpointClaims`), reading
 * the writers' segments from the remote, keeping the verdicts (unless `dryRun`), and
 * reporting each checkpoint with a false claim as a fault. `refold` folds again without the
 * claims given.
 */
export async function executeSettleClaims(
  ctx: { store: ObjectStore; index: SyncIndex; vault: string; pinned: ReadonlyMap<string, ClientKey> },
  fold: IndexFold & { checkpoints: readonly WriterCheckpointBody[] },
  refold: (excluded: ReadonlySet<string>) => Promise<CheckpointFold>,
  dryRun: boolean,
): Promise<{ state: LogState; faults: LogFault[] }> {
  const before = await readClaimVerdicts(ctx.index);
  const prove = (claims: readonly CheckpointClaim[]) => readClaimSegments(ctx.store, ctx.vault, ctx.pinned, claims);
  const settled = await settleCheckpointClaims(fold, fold.checkpoints, before, prove, refold);
  if (!dryRun && settled.checked > 0) await ctx.index.commitBatch({ meta: { [CLAIM_VERDICTS_META_KEY]: settled.verdicts } });
  return { state: settled.state, faults: computeClaimFaults(fold.checkpoints, settled.bad) };
}
