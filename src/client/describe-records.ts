import type { LogFault } from '../events/log.js';
import type { VersionRecord } from '../projections/version-record.js';
import { computeConflictCopyPaths } from '../reconcile/conflict-notes.js';
import type { ConflictNote, PlanOp } from '../reconcile/plan-sync.js';

// The records `--json` prints (and human output reads) for versions, conflicts, planned
// operations and log faults. Pure.

/** One version as `log`, `conflicts` and a sync report show it; `names` maps client ids to names. */
export function describeVersion(v: VersionRecord, names: ReadonlyMap<string, string>) {
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
    ...(v.merge === undefined ? {} : { merge: v.merge }),
    ...pick(v, 'from'),
    ...pick(v, 'to'),
  };
}

/** `{[key]: value}` when `o` has the optional `key`, else nothing (a field absent stays absent). */
function pick<T extends object, K extends keyof T>(o: T, key: K): Partial<Pick<T, K>> {
  return o[key] === undefined ? {} : ({ [key]: o[key] } as Partial<Pick<T, K>>);
}

/** An open conflict: its versions (the winner first) and the conflict copies they leave. */
export function describeConflict(c: ConflictNote, names: ReadonlyMap<string, string>) {
  const copies = computeConflictCopyPaths(c, (client) => names.get(client) ?? client.slice(-6));
  return {
    path: c.path,
    kind: c.kind,
    detail: c.detail,
    winner: c.heads[0]?.id ?? null,
    heads: c.heads.map((h) => describeVersion(h, names)),
    copies,
    ...(c.notMerged === undefined ? {} : { notMerged: c.notMerged, notMergedDetail: c.notMergedDetail ?? null }),
  };
}

export function describeOp(op: PlanOp): Record<string, unknown> {
  switch (op.kind) {
    case 'upload':
      return { kind: op.kind, path: op.path, hash: op.file.hash, size: op.file.size, replaces: op.replaces, ...pick(op, 'from') };
    case 'tombstone':
      return { kind: op.kind, path: op.path, replaces: op.replaces, ...pick(op, 'to') };
    case 'follow': {
      const f = op.follow;
      return { kind: op.kind, path: op.path, to: f.to, hash: f.content.hash, size: f.content.size, replaces: f.heads, edit: f.edit };
    }
    case 'resolve':
      return { kind: op.kind, path: op.path, replaces: op.replaces, hash: op.file?.hash ?? null };
    case 'merge': {
      const { content, record } = op.merge;
      return { kind: op.kind, path: op.path, hash: content.hash, size: content.size, replaces: op.merge.heads, ...record };
    }
    case 'download':
    case 'writeCopy': {
      const content = op.version.content;
      return { kind: op.kind, path: op.path, version: op.version.id, hash: content?.hash ?? null, size: content?.size ?? null };
    }
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
