import { watch } from 'node:fs';
import { BmError, ErrorCode, integrityCodes, isBmError } from '../errors.js';
import { decodeSegment, decodeTrustedSegment } from '../events/codec.js';
import { keyOfBlob } from '../events/layout.js';
import type { ClientId } from '../events/ids.js';
import { fetchLogs, readIdentity, type ClientKey, type LogFault } from '../events/log.js';
import { importPublicKeyHex } from '../events/signing.js';
import { probeStore } from '../events/store/probe-store.js';
import { isStateDirName, mustSyncPath, type SyncPath } from '../events/sync-path.js';
import { stateDirPath, writeClientConfig } from '../local/state-dir.js';
import { computeHeads, computeSegmentVersions, projectVersions, type Projection } from '../projections/project-paths.js';
import type { VersionRecord } from '../projections/version-record.js';
import { computeConflictCopyPaths, computeOpenConflicts } from '../reconcile/conflict-notes.js';
import type { ConflictNote, PlanOp } from '../reconcile/plan-sync.js';
import { countKinds } from '../reconcile/applied-ops.js';
import { verifyCheckpoints } from '../reconcile/check-checkpoints.js';
import { runSync, type ResolveRequest, type SyncReport } from '../reconcile/run-sync.js';
import { openClient, readScope, type ClientSession } from './client-session.js';
import { clientNames, loadProjection, withClient, withLocal } from './client-queries.js';
import { readPathHistory } from './history-commands.js';
import { ExitCode, computeExitCode, computeSyncExitCode } from './exit-codes.js';
import type { Output } from './output.js';
import { renderJsonWithList } from './json-document.js';
import { SpilledList } from './spilled-list.js';
import { computeRestoreHints, pasteable, pathArg, type CommandPlace } from './hints.js';
import { displayName } from './human-text.js';
import { verifyBlobs, verifyVaultMarker, type Finding } from './verify-remote.js';

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

export function describeConflict(c: ConflictNote, names: ReadonlyMap<string, string>) {
  const copies = computeConflictCopyPaths(c, (client) => names.get(client) ?? client.slice(-6));
  return { path: c.path, kind: c.kind, detail: c.detail, winner: c.heads[0]?.id ?? null, heads: c.heads.map((h) => describeVersion(h, names)), copies };
}

export function describeOp(op: PlanOp): Record<string, unknown> {
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

export function describeFault(f: LogFault) {
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

function summarize(report: SyncReport, names: ReadonlyMap<string, string>, restoreHints: ReadonlyMap<string, string>, place: CommandPlace): string[] {
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
    const hint = op.kind === 'deleteLocal' ? restoreHints.get(op.path) : undefined;
    lines.push(`  ${OP_LABEL[op.kind].padEnd(22)} ${displayName(op.path)}${hint === undefined ? '' : `  (${hint})`}`);
  }
  const counts = report.dryRun ? countKinds(ops) : report.appliedCounts;
  const others = counts.upload + counts.tombstone + counts.resolve + counts.download + counts.writeCopy + counts.removeCopy;
  if (others > listed) lines.push(`  ... and ${others - listed} more (all of them: --json)`);
  if (!report.dryRun) {
    lines.push(
      `synced: ${counts.upload} uploaded, ${counts.download} downloaded, ${counts.tombstone} deleted for everyone, ${counts.deleteLocal} deleted locally, ${report.eventsPublished} event(s) published`,
    );
  }
  for (const s of report.skipped) lines.push(`  skipped ${displayName(s.path)}: ${s.detail}`);
  if (report.skipped.length > 0) {
    lines.push(`${report.skipped.length} operation(s) skipped: those files are not in sync; fix what is named above and sync again (exit 3)`);
  }
  for (const n of report.notices) lines.push(`  note ${displayName(n.path)}: ${n.detail}`);
  for (const c of report.conflicts) {
    const d = describeConflict(c, names);
    lines.push(`  CONFLICT ${displayName(c.path)} (${c.kind}): ${c.detail}${d.copies.length > 0 ? `; copies: ${d.copies.map(displayName).join(', ')}` : ''}`);
  }
  if (report.conflicts.length > 0) lines.push(`${report.conflicts.length} open conflict(s): resolve by deleting the copies and syncing, or see \`${pasteable(['conflicts'], place)}\` for the command that resolves each`);
  for (const r of report.restored) lines.push(`  RESTORED ${displayName(r)}: it had vanished from the remote; put back from this folder's copy`);
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
    restored: report.restored,
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
      const place = { cwd: process.cwd(), root: s.root };
      const hints = await computeRestoreHints(s, report.dryRun ? [] : report.applied, place);
      out.result(false, undefined, () => summarize(report, names, hints, place));
    }
    return computeSyncExitCode(report);
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
    // bm-log's own writes (its state, a nested bm-log folder's too, and temp files) are no changes.
    if (typeof name === 'string' && (name.split(/[\\/]/).some(isStateDirName) || name.includes('.bm-tmp-'))) return;
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
  // `on`, not `once`, and removed only after the session is closed: one Ctrl-C can arrive
  // twice (from the terminal and passed on by the launcher on Node 20, ADR-0018; systemd
  // signals every process of a service), and a repeat must not kill the closing watch.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
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
    await s.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return code;
}

export async function runResolveCommand(path: SyncPath, o: { dir?: string; json?: boolean; keep?: string }, out: Output): Promise<number> {
  return runSyncCommand({ dir: o.dir, json: o.json === true, resolve: { path, keep: o.keep ?? 'local' } }, out);
}

export async function runConflictsCommand(o: { dir?: string; json?: boolean }, out: Output): Promise<number> {
  return withLocal(o.dir, async (s) => {
    const { projection } = await loadProjection(s);
    const names = await clientNames(s);
    const list = computeOpenConflicts(projection).map((c) => describeConflict(c, names));
    const place = { cwd: process.cwd(), root: s.root };
    out.result(o.json, { conflicts: list }, () =>
      list.length === 0
        ? ['no open conflicts']
        : list.flatMap((c) => [
            `${displayName(c.path)} (${c.kind})`,
            ...(c.kind === 'file-versus-folder' ? [`  ${c.detail}`] : []),
            ...c.heads.map((h, i) => `  ${i === 0 ? 'winner' : 'other '} ${h.version}  ${h.type.padEnd(9)} by ${displayName(h.clientName ?? h.client)}  ${h.hash ?? '(deleted)'}  ${h.time}`),
            ...c.copies.map((p) => `  copy   ${displayName(p)}`),
            `  resolve: delete the copies and sync; or keep the file as it is now: \`${pasteable(['resolve', pathArg(c.path)], place)}\`; ` +
              `or keep one version: \`${pasteable(['resolve', pathArg(c.path), '--keep', c.heads[0]!.version], place)}\` (or another id above)`,
          ]),
    );
    return ExitCode.ok;
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
  if (!o.json) out.line(`subscribed to ${displayName(prefix)}; syncing it now`);
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
      throw new BmError(ErrorCode.safetyGuard, `${pending.length} file(s) in ${displayName(prefix)} have changes not synced yet (${pending.slice(0, 5).map((f) => displayName(f.path)).join(', ')})`, 'run `bm-log sync` first; nothing was removed');
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
      `unsubscribed from ${displayName(prefix)}: removed ${removed.length} file(s) here; nothing was deleted for anyone else`,
      ...kept.map((k) => `  kept ${displayName(k)} (changed while unsubscribing)`),
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
  return withLocal(o.dir, async (s) => {
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
        : events.map((e) => `${e.time}  ${e.type.padEnd(9)} ${displayName(e.path)}  by ${displayName(e.clientName ?? e.client)}  v ${e.version}${e.hash ? `  sha256 ${e.hash}  ${e.size} B` : ''}${e.replaces.length ? `  replaces ${e.replaces.join(',')}` : ''}  seen ${JSON.stringify(e.seen)}${e.move ? `  (move ${displayName(e.move.from)} -> ${displayName(e.move.to)})` : ''}`),
    );
    return ExitCode.ok;
  });
}

/**
 * Re-reads every log from seq 1 and every referenced blob on the remote, checking what a
 * sync checks (signatures against the pinned keys, chains, schemas) plus what it cannot
 * see cheaply: replaced keys, rollback against this client's cache, missing and corrupt blobs.
 */
export async function runVerifyCommand(o: { dir?: string; json?: boolean; repair?: boolean }, out: Output): Promise<number> {
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
    // This client's own segments that vanished are put back by its next sync (ADR-0015).
    const own = (c: string) => (c === s.config.clientId ? '; `bm-log sync` here puts back this client\'s own segments' : '');
    for (const f of fetched.faults) {
      findings.push({ object: f.key, code: f.error.code, message: `${f.error.message}${f.error.code === ErrorCode.brokenChain ? own(f.client) : ''}` });
    }
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
      if (!faulted && (remoteSeqs.get(c) ?? 0) < cur.seq) findings.push({ object: `log/${c}/`, code: ErrorCode.brokenChain, message: `the remote log of ${pinned.get(c)?.name ?? c} ends at seq ${remoteSeqs.get(c) ?? 0}, but seq ${cur.seq} was fetched before (truncated or rolled back)${own(c)}` });
    }
    findings.push(...(await verifyVaultMarker(s)));
    const blobs = await verifyBlobs(s, fetched.segments, o.repair === true);
    findings.push(...blobs.findings);
    const data = {
      ok: findings.length === 0,
      segments: fetched.segments.length,
      blobs: blobs.checked,
      clients: pinned.size,
      findings,
      repaired: blobs.repaired,
    };
    out.result(o.json, data, () => [
      `checked ${data.clients} client(s), ${data.segments} segment(s), ${data.blobs} blob(s)`,
      ...blobs.repaired.map((r) => `  repaired       ${displayName(r)}: put back from a file in this folder`),
      ...(findings.length === 0 ? ['no problems found'] : findings.map((f) => `  ${f.code.padEnd(14)} ${displayName(f.object)}: ${f.message}`)),
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
