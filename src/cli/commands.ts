import { watch } from 'node:fs';
import { createHash } from 'node:crypto';
import { BmError, ErrorCode, integrityCodes, isBmError } from '../errors.js';
import { decodeSegment, decodeTrustedSegment } from '../events/codec.js';
import type { ClientId } from '../events/ids.js';
import { keyOfBlob } from '../events/layout.js';
import { fetchLogs, readIdentity, type ClientKey, type LogFault } from '../events/log.js';
import { computeEventContent } from '../events/schema.js';
import { isCovered } from '../projections/project-vault.js';
import { importPublicKeyHex } from '../events/signing.js';
import { probeStore } from '../events/store/probe-store.js';
import { mustSyncPath, type SyncPath } from '../events/sync-path.js';
import { stateDirPath, writeClientConfig } from '../local/state-dir.js';
import { computeHeads, computeSegmentVersions, projectVersions, type Projection } from '../projections/project-paths.js';
import type { VersionRecord } from '../projections/version-record.js';
import { computeConflictCopyPath } from '../reconcile/conflict-copy-name.js';
import type { ConflictNote, PlanOp } from '../reconcile/plan-sync.js';
import { countKinds } from '../reconcile/applied-ops.js';
import { verifyCheckpoints } from '../reconcile/check-checkpoints.js';
import { runSync, type ResolveRequest, type SyncReport } from '../reconcile/run-sync.js';
import { openClient, readScope, type ClientSession } from './client-session.js';
import { clientNames, loadProjection, withClient } from './client-queries.js';
import { readPathHistory } from './history-commands.js';
import { ExitCode, computeExitCode } from './exit-codes.js';
import type { Output } from './output.js';
import { renderJsonWithList } from './json-document.js';
import { SpilledList } from './spilled-list.js';

function describeVersion(v: VersionRecord, names: ReadonlyMap<string, string>) {
  return {
    version: v.id,
    type: v.type,
    client: v.client,
    clientName: names.get(v.client) ?? null,
    time: v.time,
    hash: v.content?.hash ?? null,
    size: v.content?.size ?? null,
    replaces: v.replaces,
    seen: v.seen,
    snapshot: v.snapshot,
  };
}

function describeConflict(c: ConflictNote, names: ReadonlyMap<string, string>) {
  const copies = c.heads.slice(1).filter((h) => h.content !== null).map((h) => computeConflictCopyPath(c.path, names.get(h.client) ?? h.client.slice(-6), h.id));
  return { path: c.path, kind: c.kind, detail: c.detail, winner: c.heads[0]?.id ?? null, heads: c.heads.map((h) => describeVersion(h, names)), copies };
}

function describeOp(op: PlanOp): Record<string, unknown> {
  switch (op.kind) {
    case 'upload':
      return { kind: op.kind, path: op.path, hash: op.file.hash, size: op.file.size, replaces: op.replaces };
    case 'tombstone':
      return { kind: op.kind, path: op.path, replaces: op.replaces };
    case 'resolve':
      return { kind: op.kind, path: op.path, replaces: op.replaces, hash: op.file?.hash ?? null };
    case 'download':
    case 'writeCopy':
      return { kind: op.kind, path: op.path, version: op.version.id, hash: op.version.content?.hash ?? null, size: op.version.content?.size ?? null };
    case 'deleteLocal':
      return { kind: op.kind, path: op.path, hash: op.expect.hash, deletedBy: op.version?.id ?? null };
    case 'removeCopy':
      return { kind: op.kind, path: op.path, hash: op.expect.hash };
    case 'record':
    case 'forget':
      return { kind: op.kind, path: op.path };
  }
}

function describeFault(f: LogFault) {
  return { client: f.client, seq: f.seq, object: f.key, code: f.error.code, message: f.error.message };
}

const OP_LABEL: Record<PlanOp['kind'], string> = {
  upload: 'upload',
  tombstone: 'delete for everyone',
  resolve: 'resolve conflict',
  download: 'download',
  deleteLocal: 'delete locally',
  writeCopy: 'write conflict copy',
  removeCopy: 'remove conflict copy',
  record: 'record',
  forget: 'forget',
};

/** Operations (other than local deletes) listed one per line in human output. */
const MAX_LISTED_OPS = 200;

function summarize(report: SyncReport, names: ReadonlyMap<string, string>): string[] {
  const lines: string[] = [];
  const ops = report.dryRun ? report.plan.ops : report.applied;
  const visible = ops.filter((o) => o.kind !== 'record' && o.kind !== 'forget');
  if (report.dryRun) lines.push(`dry run: ${visible.length} operation(s) would run; nothing was changed`);
  // Every local delete is listed (each with its restore line); other operations up to a
  // screenful, then a count (`--json` lists them all). A sync keeps only those it lists
  // (`keepApplied`), so the count of the others comes from the report's counts.
  let listed = 0;
  for (const op of visible) {
    if (op.kind !== 'deleteLocal' && listed >= MAX_LISTED_OPS) continue;
    if (op.kind !== 'deleteLocal') listed++;
    const extra = op.kind === 'deleteLocal' ? `  (restore: bm-log restore ${op.path} --at ${op.expect.hash.slice(0, 12)})` : '';
    lines.push(`  ${OP_LABEL[op.kind].padEnd(22)} ${op.path}${extra}`);
  }
  const counts = report.dryRun ? countKinds(ops) : report.appliedCounts;
  const others = counts.upload + counts.tombstone + counts.resolve + counts.download + counts.writeCopy + counts.removeCopy;
  if (others > listed) lines.push(`  ... and ${others - listed} more (all of them: --json)`);
  if (!report.dryRun) {
    lines.push(
      `synced: ${counts.upload} uploaded, ${counts.download} downloaded, ${counts.tombstone} deleted for everyone, ${counts.deleteLocal} deleted locally, ${report.eventsPublished} event(s) published`,
    );
  }
  for (const s of report.skipped) lines.push(`  skipped ${s.path}: ${s.detail}`);
  for (const n of report.notices) lines.push(`  note ${n.path}: ${n.detail}`);
  for (const c of report.conflicts) {
    const d = describeConflict(c, names);
    lines.push(`  CONFLICT ${c.path} (${c.kind}): ${c.detail}${d.copies.length > 0 ? `; copies: ${d.copies.join(', ')}` : ''}`);
  }
  if (report.conflicts.length > 0) lines.push(`${report.conflicts.length} open conflict(s): see \`bm-log conflicts\`; resolve by deleting the copies or with \`bm-log resolve PATH\``);
  const cp = report.checkpoint;
  if (cp) lines.push(`  checkpoint of this client's log written at seq ${cp.seq} (${cp.versions} version(s), ${cp.bytes} bytes)`);
  for (const f of report.faults) lines.push(`  INTEGRITY ${f.key}: ${f.error.message} (${f.error.code}); ${f.error.hint}`);
  return lines;
}

/** The report as `--json` prints it; `applied` stands for the list of every op carried out. */
function reportJson(report: SyncReport, names: ReadonlyMap<string, string>, applied: unknown) {
  return {
    dryRun: report.dryRun,
    plan: report.plan.ops.map(describeOp),
    applied,
    appliedCounts: report.appliedCounts,
    skipped: report.skipped,
    conflicts: report.conflicts.map((c) => describeConflict(c, names)),
    notices: report.notices,
    faults: report.faults.map(describeFault),
    rounds: report.rounds,
    clean: report.clean,
    lazy: report.lazy,
    staged: report.staged,
    eventsPublished: report.eventsPublished,
    segmentsPublished: report.segmentsPublished,
    ackPublished: report.ackPublished,
    joinedFromCheckpoint: report.joinedFromCheckpoint,
    checkpoint: report.checkpoint,
    blobsUploaded: report.blobsUploaded,
    bytesUploaded: report.bytesUploaded,
    bytesDownloaded: report.bytesDownloaded,
    fetchRequests: report.fetchRequests,
  };
}

export interface SyncCommandOptions {
  readonly dir: string | undefined;
  readonly json: boolean;
  readonly dryRun?: boolean;
  readonly maxDelete?: number | undefined;
  readonly force?: boolean;
  readonly watch?: boolean;
  readonly interval?: number;
  readonly resolve?: ResolveRequest;
  readonly init?: unknown;
}

async function syncOnce(o: SyncCommandOptions, out: Output): Promise<number> {
  return withClient(o.dir, (s) => syncWithSession(s, o, out));
}

/** One sync on an open session (the watch loop keeps one session, and so the folder lock). */
async function syncWithSession(s: ClientSession, o: SyncCommandOptions, out: Output): Promise<number> {
  const ctx = { ...s.ctx, onProgress: (d: number, t: number) => out.progress(d, t, 'files') };
  // `--json` lists every op carried out: they go to a file as they are done, not into the
  // report (ADR-0013). Human output lists at most MAX_LISTED_OPS ops (and every local
  // delete): the report keeps only those, not one op per file of a first sync.
  const spill = o.json ? SpilledList.open(stateDirPath(s.root)) : undefined;
  try {
    const report = await runSync(ctx, {
      dryRun: o.dryRun === true,
      force: o.force === true,
      ...(o.maxDelete !== undefined ? { maxDelete: o.maxDelete } : {}),
      ...(o.resolve ? { resolve: o.resolve } : {}),
      ...(spill ? { keepApplied: 0, onApplied: (op: PlanOp) => spill.add(describeOp(op)) } : { keepApplied: MAX_LISTED_OPS }),
    });
    const names = await clientNames(s);
    if (spill) {
      const sync = reportJson(report, names, spill.marker);
      out.document(renderJsonWithList(o.init ? { init: o.init, sync } : sync, spill.marker, spill.items()));
    } else {
      out.result(false, undefined, () => summarize(report, names));
    }
    // A tampered or missing blob met while downloading is an integrity failure too (exit 5).
    const corruptBlobs = report.skipped.some((sk) => sk.code !== undefined && integrityCodes.has(sk.code));
    return report.faults.length > 0 || corruptBlobs ? ExitCode.integrity : ExitCode.ok;
  } finally {
    spill?.close();
  }
}

export async function runSyncCommand(o: SyncCommandOptions, out: Output): Promise<number> {
  if (!o.watch) return syncOnce(o, out);
  if (o.dryRun) throw new BmError(ErrorCode.usage, '--watch and --dry-run do not go together', 'drop one of them');
  // One session for the whole watch: the folder stays locked against a second bm-log.
  const s = await openClient(o.dir);
  const root = s.root;
  let dirty = true;
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(root, { recursive: true }, (_ev, name) => {
    if (typeof name === 'string' && (name.startsWith('.bm-log') || name.includes('.bm-tmp-'))) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      dirty = true;
      wake?.();
    }, 1000); // debounce bursts of saves
  });
  let wake: (() => void) | undefined;
  let stop = false;
  const onSignal = () => {
    stop = true;
    wake?.();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let code: number = ExitCode.ok;
  try {
    while (!stop) {
      if (dirty) {
        dirty = false;
        try {
          // .bmignore may have changed since the last round: read the rules again.
          const session = { ...s, ctx: { ...s.ctx, ...(await readScope(s.root, s.config)) } };
          code = await syncWithSession(session, { ...o, watch: false }, out);
        } catch (e) {
          // Retryable failures (remote down, folder busy) wait for the next round; others end the watch.
          if (!(e instanceof BmError) || computeExitCode(e.code) !== ExitCode.retry) throw e;
          out.error(e);
        }
      }
      // A signal that came during the round must not wait for the next interval.
      if (stop) break;
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(() => {
          dirty = true;
          r();
        }, (o.interval ?? 60) * 1000).unref();
      });
    }
  } finally {
    watcher.close();
    clearTimeout(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await s.close();
  }
  return code;
}

export async function runResolveCommand(path: SyncPath, o: { dir?: string; json?: boolean; keep?: string }, out: Output): Promise<number> {
  return runSyncCommand({ dir: o.dir, json: o.json === true, resolve: { path, keep: o.keep ?? 'local' } }, out);
}

export async function runConflictsCommand(o: { dir?: string; json?: boolean }, out: Output): Promise<number> {
  return withClient(o.dir, async (s) => {
    const { projection } = await loadProjection(s);
    const names = await clientNames(s);
    const list = [...projection]
      .map(([path, st]) => ({ path, heads: computeHeads(st) }))
      .filter((c) => c.heads.length > 1)
      .sort((a, b) => (a.path < b.path ? -1 : 1))
      .map((c) => describeConflict({ path: c.path, kind: c.heads.every((h) => h.content !== null) ? 'concurrent-edits' : 'edit-versus-delete', heads: c.heads, detail: '' }, names));
    out.result(o.json, { conflicts: list }, () =>
      list.length === 0
        ? ['no open conflicts']
        : list.flatMap((c) => [
            `${c.path} (${c.kind})`,
            ...c.heads.map((h, i) => `  ${i === 0 ? 'winner' : 'other '} ${h.version}  ${h.type.padEnd(9)} by ${h.clientName ?? h.client}  ${h.hash ?? '(deleted)'}  ${h.time}`),
            ...c.copies.map((p) => `  copy   ${p}`),
            `  resolve: delete the copies and sync, or \`bm-log resolve ${c.path} [--keep VERSION]\``,
          ]),
    );
    return ExitCode.ok;
  });
}

export async function runStatusCommand(o: { dir?: string; json?: boolean }, out: Output): Promise<number> {
  return withClient(o.dir, async (s) => {
    const report = await runSync(s.ctx, { dryRun: true, force: true });
    const { lastSeen } = await loadProjection(s);
    const names = await clientNames(s);
    const cursors = await s.index.getCursors();
    const lastSyncAt = (await s.index.getMeta<string>('lastSyncAt')) ?? null;
    const ops = report.plan.ops;
    const pendingLocal = ops.filter((x) => x.kind === 'upload' || x.kind === 'tombstone' || x.kind === 'resolve').map(describeOp);
    const pendingRemote = ops.filter((x) => x.kind === 'download' || x.kind === 'deleteLocal' || x.kind === 'writeCopy' || x.kind === 'removeCopy').map(describeOp);
    const clients = [...names].map(([id, name]) => ({ id, name, self: id === s.config.clientId, lastSeq: cursors.get(id as ClientId)?.seq ?? 0, lastSeen: lastSeen.get(id) ?? null }));
    const data = {
      root: s.root,
      client: { id: s.config.clientId, name: s.config.name },
      remote: s.store.description,
      vault: s.config.vaultId,
      lastSyncAt,
      subscriptions: s.config.subscriptions,
      unsubscribed: s.config.unsubscribed,
      pendingLocal,
      pendingRemote,
      conflicts: report.conflicts.map((c) => describeConflict(c, names)),
      faults: report.faults.map(describeFault),
      clients,
    };
    out.result(o.json, data, () => [
      `client   ${s.config.name} (${s.config.clientId})`,
      `folder   ${s.root}`,
      `remote   ${s.store.description}`,
      `last sync ${lastSyncAt ?? 'never'}`,
      `pending  ${pendingLocal.length} local change(s) to publish, ${pendingRemote.length} remote change(s) to apply`,
      ...pendingLocal.map((p) => `  local  ${String(p['kind'])} ${String(p['path'])}`),
      ...pendingRemote.map((p) => `  remote ${String(p['kind'])} ${String(p['path'])}`),
      `conflicts ${data.conflicts.length}`,
      ...data.conflicts.map((c) => `  ${c.path} (${c.kind})`),
      ...data.faults.map((f) => `INTEGRITY ${f.object}: ${f.message}`),
      'clients',
      ...clients.map((c) => `  ${c.self ? '*' : ' '} ${c.name.padEnd(24)} ${c.id}  seq ${c.lastSeq}  last seen ${c.lastSeen ?? 'never'}`),
    ]);
    return report.faults.length > 0 ? ExitCode.integrity : ExitCode.ok;
  });
}

function folderPrefix(folder: string): string {
  const f = folder.replace(/^\.\//, '').replace(/\/+$/, '');
  mustSyncPath(f);
  return `${f}/`;
}

export async function runSubscribeCommand(folder: string, o: { dir?: string; json?: boolean }, out: Output): Promise<number> {
  const prefix = folderPrefix(folder);
  await withClient(o.dir, async (s) => {
    const cfg = { ...s.config, unsubscribed: s.config.unsubscribed.filter((u) => u !== prefix), subscriptions: s.config.subscriptions.length > 0 && !s.config.subscriptions.includes(prefix) ? [...s.config.subscriptions, prefix] : s.config.subscriptions };
    await writeClientConfig(s.root, cfg);
  });
  if (!o.json) out.line(`subscribed to ${prefix}; syncing it now`);
  return runSyncCommand({ dir: o.dir, json: o.json === true }, out);
}

export async function runUnsubscribeCommand(folder: string, o: { dir?: string; json?: boolean }, out: Output): Promise<number> {
  const prefix = folderPrefix(folder);
  return withClient(o.dir, async (s) => {
    const manifest = await s.index.getManifest();
    const scan = await s.ctx.tree.scan(manifest, s.ctx.isIgnored);
    const under = [...scan.files.values()].filter((f) => f.path.startsWith(prefix));
    const pending = under.filter((f) => manifest.get(f.path)?.hash !== f.hash);
    if (pending.length > 0) {
      throw new BmError(ErrorCode.safetyGuard, `${pending.length} file(s) in ${prefix} have changes not synced yet (${pending.slice(0, 5).map((f) => f.path).join(', ')})`, 'run `bm-log sync` first; nothing was removed');
    }
    const removed: string[] = [];
    const kept: string[] = [];
    for (const f of under) {
      if ((await s.ctx.tree.removeFile(f.path, f)) === 'done') removed.push(f.path);
      else kept.push(f.path);
    }
    await s.index.commitBatch({ manifestDel: [...manifest.keys()].filter((p) => p.startsWith(prefix) && !kept.includes(p)) });
    await writeClientConfig(s.root, { ...s.config, unsubscribed: [...new Set([...s.config.unsubscribed, prefix])], subscriptions: s.config.subscriptions.filter((x) => x !== prefix) });
    out.result(o.json, { unsubscribed: prefix, removedLocally: removed, kept }, () => [
      `unsubscribed from ${prefix}: removed ${removed.length} file(s) here; nothing was deleted for anyone else`,
      ...kept.map((k) => `  kept ${k} (changed while unsubscribing)`),
    ]);
    return ExitCode.ok;
  });
}

export async function runLogCommand(pathArg: string | undefined, o: { dir?: string; json?: boolean; client?: string; since?: string; until?: string; limit?: number }, out: Output): Promise<number> {
  const parseTime = (t: string | undefined, flag: string) => {
    if (t === undefined) return undefined;
    const ms = Date.parse(t);
    if (Number.isNaN(ms)) throw new BmError(ErrorCode.usage, `${flag} ${JSON.stringify(t)} is not an ISO 8601 time`, 'for example: --since 2026-11-01T00:00:00Z');
    return ms;
  };
  const since = parseTime(o.since, '--since');
  const until = parseTime(o.until, '--until');
  return withClient(o.dir, async (s) => {
    const want = pathArg?.replace(/^\.\//, '');
    const single = want !== undefined && !want.endsWith('/');
    const { versions, moves } = single ? await readPathHistory(s, want) : { versions: (await loadProjection(s)).versions, moves: new Map<string, { from: string; to: string }>() };
    const names = await clientNames(s);
    let clientFilter: string | undefined;
    if (o.client !== undefined) {
      const c = o.client;
      const ids = [...names].filter(([id, name]) => id === c.toUpperCase() || name === c).map(([id]) => id);
      if (ids.length !== 1) throw new BmError(ErrorCode.usage, `${ids.length === 0 ? 'no' : 'more than one'} client matches ${JSON.stringify(c)}`, 'see `bm-log status` for client ids and names');
      clientFilter = ids[0];
    }
    const list = versions
      .filter((v) => want === undefined || v.path === want || (want.endsWith('/') && v.path.startsWith(want)))
      .filter((v) => clientFilter === undefined || v.client === clientFilter)
      .filter((v) => (since === undefined || Date.parse(v.time) >= since) && (until === undefined || Date.parse(v.time) < until))
      .sort((a, b) => (a.time === b.time ? (a.id < b.id ? 1 : -1) : a.time < b.time ? 1 : -1))
      .slice(0, o.limit ?? Infinity);
    const events = list.map((v) => ({ path: v.path, ...describeVersion(v, names), seq: v.seq, move: moves.get(v.id) ?? null }));
    out.result(o.json, { events }, () =>
      events.length === 0
        ? ['no events']
        : events.map((e) => `${e.time}  ${e.type.padEnd(9)} ${e.path}  by ${e.clientName ?? e.client}  v ${e.version}${e.hash ? `  sha256 ${e.hash}  ${e.size} B` : ''}${e.replaces.length ? `  replaces ${e.replaces.join(',')}` : ''}  seen ${JSON.stringify(e.seen)}${e.move ? `  (move ${e.move.from} -> ${e.move.to})` : ''}`),
    );
    return ExitCode.ok;
  });
}

interface Finding {
  readonly object: string;
  readonly code: string;
  readonly message: string;
}

/**
 * Re-reads every log from seq 1 and every referenced blob on the remote, checking what a
 * sync checks (signatures against the pinned keys, chains, schemas) plus what it cannot
 * see cheaply: replaced keys, rollback against this client's cache, missing and corrupt blobs.
 */
export async function runVerifyCommand(o: { dir?: string; json?: boolean }, out: Output): Promise<number> {
  return withClient(o.dir, async (s) => {
    const findings: Finding[] = [];
    const pinned = await s.index.getPinnedKeys();
    const pinnedKeys = new Map<string, ClientKey>([...pinned].map(([c, k]) => [c, { client: c, name: k.name, publicKeyHex: k.publicKey }]));
    for (const [c, k] of pinned) {
      try {
        const id = await readIdentity(s.store, s.config.vaultId, c);
        if (id.publicKeyHex !== k.publicKey) findings.push({ object: `keys/${c}`, code: ErrorCode.keyMismatch, message: `the published key of ${k.name} was replaced after it was first seen` });
      } catch (e) {
        // A network failure is not a finding: verify stops with the retryable exit code.
        if (!isBmError(e) || e.code === ErrorCode.remoteUnavailable) throw e;
        findings.push({ object: `keys/${c}`, code: e.code, message: e.message });
      }
    }
    const fetched = await fetchLogs(s.store, { vault: s.config.vaultId, cursors: new Map(), pinnedKeys });
    for (const f of fetched.faults) findings.push({ object: f.key, code: f.error.code, message: f.error.message });
    // Every writer's latest checkpoint, of both formats, against the whole log (ADR-0014).
    for (const f of await verifyCheckpoints(s.store, s.config.vaultId, pinnedKeys, fetched.segments.map((seg) => seg.segment))) {
      const message = `checkpoint ${f.client}/${f.seq} is not what its writer's log says: ${f.problems.join('; ')}`;
      findings.push({ object: f.key, code: ErrorCode.unsupportedCheckpoint, message });
    }
    const cursors = await s.index.getCursors();
    const remoteSeqs = new Map<string, number>();
    for (const seg of fetched.segments) {
      remoteSeqs.set(seg.client, Math.max(remoteSeqs.get(seg.client) ?? 0, seg.seq));
      const cached = await s.index.getSegment(seg.client, seg.seq);
      if (cached !== undefined) {
        const pk = pinned.get(seg.client);
        if (pk) {
          const local = decodeSegment(cached, { vault: s.config.vaultId, client: seg.client, seq: seg.seq, publicKey: importPublicKeyHex(pk.publicKey) });
          if (local.hash !== seg.segment.hash) findings.push({ object: `log/${seg.client}/${seg.seq}`, code: ErrorCode.equivocation, message: `two different segments ${seg.seq} of ${pk.name}: the remote's differs from the one fetched before` });
        }
      }
    }
    for (const [c, cur] of cursors) {
      const faulted = fetched.faults.some((f) => f.client === c);
      if (!faulted && (remoteSeqs.get(c) ?? 0) < cur.seq) findings.push({ object: `log/${c}/`, code: ErrorCode.brokenChain, message: `the remote log of ${pinned.get(c)?.name ?? c} ends at seq ${remoteSeqs.get(c) ?? 0}, but seq ${cur.seq} was fetched before (truncated or rolled back)` });
    }
    const hashes = new Set<string>();
    // Who names each blob, and which gc events recorded deleting it (ADR-0007).
    const namedBy = new Map<string, { client: string; seq: number }[]>();
    const deletedBy = new Map<string, { client: string; seq: number; seen: Readonly<Record<string, number>> }[]>();
    for (const seg of fetched.segments) for (const e of seg.segment.body.events) {
      const content = computeEventContent(e);
      if (content) {
        hashes.add(content.hash);
        namedBy.set(content.hash, [...(namedBy.get(content.hash) ?? []), { client: seg.client, seq: seg.seq }]);
      }
      if (e.type === 'gc') for (const h of e.deleted) deletedBy.set(h, [...(deletedBy.get(h) ?? []), { client: seg.client, seq: seg.seq, seen: seg.segment.body.seen }]);
    }
    // A blob a GC deleted is expected to be gone, unless an event its deletion had not seen names it.
    const collected = (h: string) => {
      const recs = deletedBy.get(h) ?? [];
      return recs.length > 0 && (namedBy.get(h) ?? []).every((n) => recs.some((r) => isCovered(n.client, n.seq, r)));
    };
    for (const h of hashes) {
      const stream = await s.store.getChunks(keyOfBlob(h));
      if (stream === undefined) {
        if (collected(h)) continue;
        findings.push({ object: keyOfBlob(h), code: ErrorCode.blobMissing, message: `blob ${h} named by an event is missing` });
        continue;
      }
      const hash = createHash('sha256');
      for await (const chunk of stream) hash.update(chunk);
      if (hash.digest('hex') !== h) findings.push({ object: keyOfBlob(h), code: ErrorCode.blobCorrupt, message: `blob ${h} does not hold the bytes its name says` });
    }
    const data = { ok: findings.length === 0, segments: fetched.segments.length, blobs: hashes.size, clients: pinned.size, findings };
    out.result(o.json, data, () => [
      `checked ${data.clients} client(s), ${data.segments} segment(s), ${data.blobs} blob(s)`,
      ...(findings.length === 0 ? ['no problems found'] : findings.map((f) => `  ${f.code.padEnd(14)} ${f.object}: ${f.message}`)),
    ]);
    return findings.length === 0 ? ExitCode.ok : ExitCode.integrity;
  });
}

export async function runDoctorCommand(o: { dir?: string; json?: boolean }, out: Output): Promise<number> {
  return withClient(o.dir, async (s) => {
    const caps = await probeStore(s.store);
    out.result(o.json, { remote: s.store.description, ...caps }, () => [
      `remote ${s.store.description}`,
      `  create-only writes enforced by the server: ${caps.createOnlyEnforced ? 'yes' : 'no (bm-log checks before writing; safe because every client writes only its own objects)'}`,
      `  bucket versioning: ${caps.versioning ? 'yes' : 'no'}`,
      `  bucket snapshots (Tigris): ${caps.snapshots ? 'yes' : 'no (the log frontier is recorded instead)'}`,
    ]);
    return ExitCode.ok;
  });
}
