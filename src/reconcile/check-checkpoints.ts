import { BmError, ErrorCode } from '../errors.js';
import type { CheckpointBody, WriterCheckpointBody } from '../events/checkpoint-schema.js';
import { KeyLookup, listCheckpointSeqs, listFormat1Checkpoints } from '../events/checkpoints.js';
import { decodeCheckpoint, decodeMsgpack, decodeTrustedSegment, decodeWriterCheckpoint } from '../events/codec.js';
import { keyOfCheckpoint, keyOfWriterCheckpoint } from '../events/layout.js';
import type { ClientKey, LogFault } from '../events/log.js';
import type { SegmentBody } from '../events/schema.js';
import { importPublicKeyHex, sha256Hex } from '../events/signing.js';
import type { ObjectStore } from '../events/store/object-store.js';
import {
  CheckpointEvidence,
  computeCheckpointProblems,
  isCheckable,
  type CheckpointCheckInput,
} from '../projections/check-writer-checkpoint.js';
import { projectCheckpoint } from '../projections/project-checkpoint.js';
import { createLogState, projectLogSegment, type LogState } from '../projections/project-log.js';
import { computeHeads } from '../projections/project-paths.js';
import type { SyncIndex } from './ports.js';

/**
 * Clients that hold the whole history check the other writers' checkpoints against the log
 * (ADR-0014): `verify` checks every writer's latest checkpoint of both formats; a sync or GC
 * run that folded the whole log checks each writer's latest writer checkpoint once and
 * reports a faulty one on every such run while it is the latest.
 */

/** A checkpoint the log does not support, with what is wrong with it (the first few problems). */
export interface CheckpointFinding {
  readonly client: string;
  readonly seq: number;
  readonly key: string;
  readonly problems: readonly string[];
}

/** The finding as an integrity fault, as syncs report them. */
export function computeCheckpointFault(f: CheckpointFinding): LogFault {
  const more = f.problems.length > 1 ? ` (and ${f.problems.length - 1} more)` : '';
  const hint = "a new client checks what it takes from it against its writer's log; run `bm-log verify` for the full list";
  const error = new BmError(ErrorCode.unsupportedCheckpoint, `checkpoint ${f.client}/${f.seq}: ${f.problems[0]}${more}`, hint);
  return { client: f.client, seq: f.seq, key: f.key, error };
}

/** The segment a checked checkpoint may name, with its body's SHA-256 (as a cursor names it). */
type SegmentAt = { readonly body: SegmentBody; readonly hash: string };

/** The hash a cursor names a stored segment by: the SHA-256 of its body bytes. */
function hashOfStored(bytes: Uint8Array): string {
  return sha256Hex((decodeMsgpack(bytes, 'cached segment') as { body: Uint8Array }).body);
}

/** The problems of each checkpoint in `bodies` that the holder of `input` can check. */
function checkBodies(
  bodies: readonly WriterCheckpointBody[],
  input: CheckpointCheckInput,
  held: ReadonlyMap<string, number>,
): CheckpointFinding[] {
  const out: CheckpointFinding[] = [];
  for (const body of bodies) {
    if (!isCheckable(body, held)) continue;
    const problems = computeCheckpointProblems(body, input);
    if (problems.length === 0) continue;
    out.push({ client: body.client, seq: body.seq, key: keyOfWriterCheckpoint(body.client, body.seq), problems: problems.slice(0, 20) });
  }
  return out;
}

/** Reads the latest writer checkpoint of each writer in `latest`; those that fail to decode are findings. */
async function readLatest(
  store: ObjectStore,
  keys: KeyLookup,
  vault: string,
  latest: ReadonlyMap<string, number>,
): Promise<{ bodies: WriterCheckpointBody[]; findings: CheckpointFinding[] }> {
  const bodies: WriterCheckpointBody[] = [];
  const findings: CheckpointFinding[] = [];
  for (const [writer, seq] of latest) {
    const key = keyOfWriterCheckpoint(writer, seq);
    try {
      const bytes = await store.get(key);
      if (bytes === undefined) continue;
      bodies.push(
        decodeWriterCheckpoint(bytes, { vault, client: writer, seq, publicKey: importPublicKeyHex((await keys.of(writer)).publicKeyHex) })
          .body,
      );
    } catch (e) {
      if (!(e instanceof BmError) || e.code === ErrorCode.remoteUnavailable) throw e;
      findings.push({ client: writer, seq, key, problems: [e.message] });
    }
  }
  return { bodies, findings };
}

const latestOf = (seqs: ReadonlyMap<string, readonly number[]>) => new Map([...seqs].map(([c, list]) => [c, list.at(-1)!]));

/** What a format-1 checkpoint says against the fold of its frontier's segments: empty when they agree. */
function computeFormat1Problems(
  body: CheckpointBody,
  segment: (client: string, seq: number) => SegmentAt | undefined,
  all: readonly SegmentAt[],
): string[] {
  for (const [client, cur] of Object.entries(body.frontier)) {
    if (segment(client, cur.seq)?.hash !== cur.hash)
      return [`its frontier names segment ${client}/${cur.seq}, which the log does not hold`];
  }
  const fold = createLogState();
  for (const s of all) if (s.body.seq <= (body.frontier[s.body.client]?.seq ?? 0)) projectLogSegment(fold, s.body);
  const claimed = projectCheckpoint(body);
  const out: string[] = [];
  for (const path of new Set([...fold.paths.keys(), ...claimed.paths.keys()])) {
    const want = computeHeads(fold.paths.get(path) ?? { versions: new Map(), replaced: new Set() });
    const got = computeHeads(claimed.paths.get(path) ?? { versions: new Map(), replaced: new Set() });
    if (JSON.stringify(want) !== JSON.stringify(got)) out.push(`it lists ${path} otherwise than the log up to its frontier has it`);
  }
  return out;
}

/**
 * For `verify`: checks the latest checkpoint of every writer, of both formats, against the
 * whole log (`segments`: every verified segment, all of them). A writer checkpoint whose
 * writer's log is not readable up to it is left to that log's own fault.
 */
export async function verifyCheckpoints(
  store: ObjectStore,
  vault: string,
  pinned: ReadonlyMap<string, ClientKey>,
  segments: readonly SegmentAt[],
): Promise<CheckpointFinding[]> {
  const full = createLogState();
  const evidence = new CheckpointEvidence();
  const byKey = new Map<string, SegmentAt>();
  const held = new Map<string, number>();
  for (const s of segments) {
    projectLogSegment(full, s.body);
    evidence.add(s.body);
    byKey.set(`${s.body.client}/${s.body.seq}`, s);
    held.set(s.body.client, Math.max(held.get(s.body.client) ?? 0, s.body.seq));
  }
  const segment = (client: string, seq: number) => byKey.get(`${client}/${seq}`);
  const keys = new KeyLookup(store, vault, pinned);
  const { seqs } = await listCheckpointSeqs(store);
  const latest = await readLatest(store, keys, vault, latestOf(seqs));
  const input = { full, segment, collectors: evidence.collectors, retirers: evidence.retirers };
  const findings = [...latest.findings, ...checkBodies(latest.bodies, input, held)];
  // A joiner reads the checkpoints a checkpoint relies on: they must be there.
  for (const b of latest.bodies) {
    const missing = b.relies.filter((r) => !seqs.get(r.client)?.includes(r.seq));
    const gone = missing.map((r) => `it relies on checkpoint ${r.client}/${r.seq}, which is not on the remote`);
    if (gone.length > 0) findings.push({ client: b.client, seq: b.seq, key: keyOfWriterCheckpoint(b.client, b.seq), problems: gone });
  }
  for (const [writer, seqs] of (await listFormat1Checkpoints(store)).seqs) {
    const seq = seqs.at(-1)!;
    const key = keyOfCheckpoint(writer, seq);
    try {
      const bytes = await store.get(key);
      if (bytes === undefined) continue;
      const body = decodeCheckpoint(bytes, {
        vault,
        client: writer,
        seq,
        publicKey: importPublicKeyHex((await keys.of(writer)).publicKeyHex),
      }).body;
      const problems = computeFormat1Problems(body, segment, segments);
      if (problems.length > 0) findings.push({ client: writer, seq, key, problems: problems.slice(0, 20) });
    } catch (e) {
      if (!(e instanceof BmError) || e.code === ErrorCode.remoteUnavailable) throw e;
      findings.push({ client: writer, seq, key, problems: [e.message] });
    }
  }
  return findings;
}

/** Meta key: the writer checkpoints this client has checked, by object key, with their problems (none: sound). */
const CHECKED_META_KEY = 'checkedCheckpoints';
/** Meta key: those read but not checkable yet, by object key, with how far each log must be held (its `seen`). */
const WAITING_META_KEY = 'waitingCheckpoints';

type Waiting = Record<string, Readonly<Record<string, number>>>;

/** Whether the latest checkpoint `key` of `writer` at `seq` is new to this client and checkable with what it holds (as far as it knows). */
function isFresh(
  key: string,
  writer: string,
  seq: number,
  checked: Record<string, string[]>,
  waiting: Waiting,
  held: (c: string) => number,
): boolean {
  if (checked[key] !== undefined || held(writer) < seq) return false;
  return Object.entries(waiting[key] ?? {}).every(([c, n]) => held(c) >= n);
}

/**
 * For a sync or GC run of a client that holds the whole history and folded all of it
 * (`full`, up to `cursors`): checks each writer's latest writer checkpoint that it has not
 * checked yet and holds the log for (one listing; a read of each new checkpoint, and one pass
 * over the stored segments when there is one; not in a dry run), keeps the verdicts, and
 * returns the faults of every latest checkpoint found unsupported, old verdicts included.
 */
export async function executeCheckCheckpoints(
  ctx: { store: ObjectStore; index: SyncIndex; vault: string; pinned: ReadonlyMap<string, ClientKey> },
  full: LogState,
  cursors: ReadonlyMap<string, { seq: number }>,
  dryRun: boolean,
): Promise<LogFault[]> {
  if (ctx.index.getMeta === undefined) return [];
  const checked = (await ctx.index.getMeta<Record<string, string[]>>(CHECKED_META_KEY)) ?? {};
  const waiting = (await ctx.index.getMeta<Waiting>(WAITING_META_KEY)) ?? {};
  const { seqs } = await listCheckpointSeqs(ctx.store);
  const latest = latestOf(seqs);
  const held = new Map([...cursors].map(([c, cur]) => [c, cur.seq]));
  const fresh = new Map(
    [...latest].filter(([w, seq]) => isFresh(keyOfWriterCheckpoint(w, seq), w, seq, checked, waiting, (c) => held.get(c) ?? 0)),
  );
  // (A dry run's fetched segments are not stored: it reports what earlier runs found.)
  if (fresh.size > 0 && !dryRun) {
    const read = await readLatest(ctx.store, new KeyLookup(ctx.store, ctx.vault, ctx.pinned), ctx.vault, fresh);
    const bodies = read.bodies.filter((b) => isCheckable(b, held));
    const input = bodies.length === 0 ? undefined : await readEvidence(ctx.index, full, bodies);
    const found = input === undefined ? [] : checkBodies(bodies, input, held);
    // (One listed but gone has nothing to check.)
    for (const [w, seq] of fresh) if (!read.bodies.some((b) => b.client === w)) checked[keyOfWriterCheckpoint(w, seq)] = [];
    for (const b of bodies) checked[keyOfWriterCheckpoint(b.client, b.seq)] = [];
    for (const f of [...read.findings, ...found]) checked[f.key] = [...f.problems];
    // One whose writer had read logs this client does not hold that far waits until it does.
    for (const b of read.bodies) if (!isCheckable(b, held)) waiting[keyOfWriterCheckpoint(b.client, b.seq)] = b.segment.seen;
    // Only the latest checkpoints matter: older verdicts are let go.
    const current = new Set([...latest].map(([w, seq]) => keyOfWriterCheckpoint(w, seq)));
    const keep = <T>(m: Record<string, T>) => Object.fromEntries(Object.entries(m).filter(([k]) => current.has(k)));
    await ctx.index.commitBatch({ meta: { [CHECKED_META_KEY]: keep(checked), [WAITING_META_KEY]: keep(waiting) } });
  }
  const out: LogFault[] = [];
  for (const [writer, seq] of latest) {
    const key = keyOfWriterCheckpoint(writer, seq);
    const problems = checked[key];
    if (problems !== undefined && problems.length > 0) out.push(computeCheckpointFault({ client: writer, seq, key, problems }));
  }
  return out;
}

/**
 * Whether some writer's latest writer checkpoint has not been checked by this client yet
 * while it holds the log it was written from (one listing). A lazy sync folds everything
 * when it has (`executeCheckCheckpoints` runs in that fold).
 */
export async function hasUncheckedCheckpoints(
  store: ObjectStore,
  index: SyncIndex,
  cursors: ReadonlyMap<string, { seq: number }>,
): Promise<boolean> {
  if (index.getMeta === undefined) return false;
  const checked = (await index.getMeta<Record<string, string[]>>(CHECKED_META_KEY)) ?? {};
  const waiting = (await index.getMeta<Waiting>(WAITING_META_KEY)) ?? {};
  const { seqs } = await listCheckpointSeqs(store);
  return [...latestOf(seqs)].some(([w, seq]) =>
    isFresh(keyOfWriterCheckpoint(w, seq), w, seq, checked, waiting, (c) => cursors.get(c)?.seq ?? 0),
  );
}

/** One pass over the stored segments: who collected and retired what, and the segments `bodies` name. */
async function readEvidence(index: SyncIndex, full: LogState, bodies: readonly WriterCheckpointBody[]): Promise<CheckpointCheckInput> {
  const wanted = new Set<string>();
  for (const b of bodies) {
    for (const r of b.relies) wanted.add(`${r.client}/${r.seq}`);
    const want = (seq: number) => wanted.add(`${b.client}/${seq}`);
    want(b.seq);
    if (b.lastEventful > 0) want(b.lastEventful);
    for (const c of b.collected) want(c.seq);
    for (const r of b.retired) want(r.seq);
  }
  const evidence = new CheckpointEvidence();
  const byKey = new Map<string, SegmentAt>();
  for await (const rec of index.iterateSegments()) {
    const body = decodeTrustedSegment(rec.bytes);
    evidence.add(body);
    if (wanted.has(`${rec.client}/${rec.seq}`)) byKey.set(`${rec.client}/${rec.seq}`, { body, hash: hashOfStored(rec.bytes) });
  }
  return {
    full,
    segment: (client: string, seq: number) => byKey.get(`${client}/${seq}`),
    collectors: evidence.collectors,
    retirers: evidence.retirers,
  };
}
