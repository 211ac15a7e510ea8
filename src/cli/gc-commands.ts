import {
  DEFAULT_GRACE_MS,
  executeFolderCheckpoint,
  executeFolderGc,
  executeFolderRetire,
  listClients,
  type ClientRow,
  type OwnCheckpointReport,
} from '../api/folder-gc.js';
import { withClient } from '../client/client-queries.js';
import { ExitCode } from './exit-codes.js';
import type { FolderOptions, GcFlags } from './options.js';
import type { Output } from './output.js';
import { displayName } from '../client/human-text.js';

function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  for (const [u, n] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const)
    if (ms >= n && ms % n === 0) return `${ms / n}${u}`;
  return `${ms}ms`;
}

/** "3 blob(s)", or "2 blob(s) and 1 pack(s)" when `packs` of the `all` are packs (ADR-0035). */
function countObjects(all: number, packs: number): string {
  return packs === 0 ? `${all} blob(s)` : `${all - packs} blob(s) and ${packs} pack(s)`;
}

/** `bm-log gc [--dry-run] [--retention D] [--grace D] [--no-checkpoint]`: the API's `gc`, printed. */
export async function runGcCommand(o: GcFlags, out: Output): Promise<number> {
  return withClient(o.dir, async (s) => {
    const options = {
      ...(o.retention !== undefined ? { retentionMs: o.retention } : {}),
      ...(o.grace !== undefined ? { graceMs: o.grace } : {}),
    };
    const report = await executeFolderGc(s, { dryRun: o.dryRun === true, checkpoint: o.checkpoint !== false, ...options });
    const { retentionMs, graceMs, ...rest } = report;
    const data = {
      dryRun: rest.dryRun,
      retention: formatDuration(retentionMs),
      grace: formatDuration(graceMs),
      passes: rest.passes,
      checkpoint: rest.checkpoint,
    };
    out.result(o.json, data, () => {
      const lines: string[] = [];
      if (report.dryRun) lines.push('dry run: nothing was published or deleted');
      if (graceMs < DEFAULT_GRACE_MS) {
        lines.push(
          `note: a grace of ${formatDuration(graceMs)} is shorter than the ${formatDuration(DEFAULT_GRACE_MS)} writers count on; ` +
            'safe only while no other client is syncing',
        );
      }
      for (const [i, p] of report.passes.entries()) {
        const head = report.passes.length > 1 ? `pass ${i + 1}: ` : '';
        lines.push(
          `${head}${p.active.length} active client(s); ${p.blobsListed} blob(s), ${p.blobsReferenced} still needed` +
            (p.packsListed > 0 ? `; ${p.packsListed} pack(s), ${p.packsReferenced} still needed` : ''),
        );
        const [collected, condemned] = report.dryRun ? ['would collect', 'would condemn'] : ['collected', 'condemned'];
        for (const c of p.collected)
          lines.push(`  ${collected} ${displayName(c.path)} (${c.versions.length} version(s); its history stays in the log)`);
        if (p.condemned.length > 0)
          lines.push(
            `  ${condemned} ${countObjects(p.condemned.length, p.condemnedPacks.length)}; deletable after ${formatDuration(graceMs)}`,
          );
        if (report.dryRun && p.deletable.length > 0) lines.push(`  would delete ${p.deletable.length} blob(s) condemned earlier`);
        if (p.deleted.length > 0) lines.push(`  deleted ${countObjects(p.deleted.length, p.deletedPacks.length)}`);
        if (p.lateDeletes.length > 0)
          lines.push(`  left ${p.lateDeletes.length} blob(s) for the next run (this run passed their delete deadline)`);
      }
      if (report.checkpoint) lines.push(describeCheckpoint(report.checkpoint));
      else if (!report.dryRun && o.checkpoint !== false) lines.push("checkpoint: this client's latest one is up to date");
      return lines;
    });
    return ExitCode.ok;
  });
}

function describeCheckpoint(cp: OwnCheckpointReport): string {
  return `checkpoint of this client's log written at seq ${cp.seq} (${cp.versions} version(s), ${cp.claims} claim(s), ${cp.bytes} bytes)`;
}

/** `bm-log checkpoint`: fetch, then write a checkpoint of this client's own log (ADR-0014). */
export async function runCheckpointCommand(o: FolderOptions, out: Output): Promise<number> {
  return withClient(o.dir, async (s) => {
    const cp = await executeFolderCheckpoint(s);
    out.result(o.json, { checkpoint: cp }, () => [
      cp ? describeCheckpoint(cp) : "this client's latest checkpoint is up to date; nothing written",
    ]);
    return ExitCode.ok;
  });
}

/** `bm-log clients`: every client, its last segment, how far its log is acknowledged, its latest checkpoint, retired or not. */
export async function runClientsCommand(o: FolderOptions, out: Output): Promise<number> {
  return withClient(o.dir, async (s) => {
    const rows = await listClients(s);
    const seqs = (r: ClientRow) =>
      `${String(r.lastSeq).padStart(8)}  ${String(r.acked).padStart(8)}  ${String(r.checkpoint ?? '-').padStart(10)}`;
    out.result(o.json, { clients: rows }, () => [
      `${'  name'.padEnd(26)} ${'id'.padEnd(26)}  ${'last seq'.padStart(8)}  ${'acked'.padStart(8)}  ${'checkpoint'.padStart(10)}  last seen`,
      ...rows.map(
        (r) =>
          `${r.self ? '*' : ' '} ${displayName(r.name).padEnd(24)} ${r.id}  ${seqs(r)}  ${r.lastSeen ?? 'never'}${r.retired ? '  (retired)' : ''}`,
      ),
    ]);
    return ExitCode.ok;
  });
}

/** `bm-log retire CLIENT`: publish a retire event for the client with that exact id or name. */
export async function runRetireCommand(target: string, o: FolderOptions, out: Output): Promise<number> {
  return withClient(o.dir, async (s) => {
    const r = await executeFolderRetire(s, target);
    const who = `${displayName(r.name)} (${r.client})`;
    out.result(o.json, r, () => [
      r.alreadyRetired ? `${who} is retired already; nothing published` : `retired ${who}: garbage collection no longer waits for it`,
    ]);
    return ExitCode.ok;
  });
}
