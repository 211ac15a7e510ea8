import { type BmError, ErrorCode, isBmError } from '../errors.js';
import type { ClientId } from '../events/ids.js';
import type { LogFault } from '../events/log.js';
import { clientNames, loadProjection } from '../client/client-queries.js';
import { connectRemote, readScope, type LocalSession } from '../client/client-session.js';
import { describeConflict, describeFault, describeOp } from '../client/describe-records.js';
import { FsTree } from '../local/fs-tree.js';
import { planSync, type ConflictNote, type PlanOp } from '../reconcile/plan-sync.js';
import { runSync } from '../reconcile/run-sync.js';
import { readPendingJoiners } from '../reconcile/member-state.js';

/*
 * A folder's status (`bm-log status`, the API's `status`): the plan of a dry run against the
 * remote, or, when the remote cannot be reached (or refuses), the plan from this client's own
 * records, with why the remote part is missing.
 */

/** What status reports on: the plan of a dry run, with the faults its fetch met. */
interface StatusPlan {
  readonly ops: readonly PlanOp[];
  readonly conflicts: readonly ConflictNote[];
  readonly faults: readonly LogFault[];
}

/**
 * Failures of the remote half: it cannot be reached, or refuses (credentials, bucket,
 * permissions). The local half was read before the remote was touched, so these never
 * come from this folder's own configuration.
 */
function isRemoteFailure(e: unknown): e is BmError {
  return isBmError(e, ErrorCode.remoteUnavailable, ErrorCode.config);
}

/**
 * The plan from this client's own records alone: its manifest, the folder as it is, and the
 * log as last fetched (no remote request). Local changes to publish and the conflicts known
 * here are exact; what others published since the last fetch is unknown.
 */
async function planFromLocalRecords(local: LocalSession): Promise<StatusPlan> {
  const manifest = await local.index.getManifest();
  const scope = await readScope(local.root, local.config);
  const scan = await new FsTree(local.root).scan(manifest, scope.isIgnored);
  const { projection } = await loadProjection(local);
  const names = await clientNames(local);
  const options = {
    subscriptions: local.config.subscriptions,
    isIgnored: scope.isIgnored,
    clientName: (c: string) => names.get(c) ?? c.slice(-6),
    self: local.config.clientId,
  };
  const plan = planSync({ base: manifest, local: scan, cloud: projection, options });
  return { ops: plan.ops, conflicts: plan.conflicts, faults: [] };
}

const LOCAL_KINDS: ReadonlySet<PlanOp['kind']> = new Set(['upload', 'tombstone', 'resolve']);
const REMOTE_KINDS: ReadonlySet<PlanOp['kind']> = new Set(['download', 'deleteLocal', 'writeCopy', 'removeCopy']);

/** The plan of a dry run against the remote, or from the local records with the remote's failure. */
async function planStatus(local: LocalSession): Promise<{ plan: StatusPlan; remote: string; remoteError: BmError | undefined }> {
  try {
    const session = await connectRemote(local);
    try {
      const report = await runSync(session.ctx, { dryRun: true, force: true });
      return {
        plan: { ops: report.plan.ops, conflicts: report.conflicts, faults: report.faults },
        remote: session.store.description,
        remoteError: undefined,
      };
    } finally {
      await session.store.close();
    }
  } catch (e) {
    if (!isRemoteFailure(e)) throw e;
    return { plan: await planFromLocalRecords(local), remote: local.config.remote.url, remoteError: e };
  }
}

/** A folder's status as data: the local half always; the remote half when `remoteAvailable`. */
export async function readFolderStatus(local: LocalSession) {
  const { plan, remote, remoteError } = await planStatus(local);
  const { lastSeen } = await loadProjection(local);
  const names = await clientNames(local);
  const cursors = await local.index.getCursors();
  const clients = [...names].map(([id, name]) => {
    const lastSeq = cursors.get(id as ClientId)?.seq ?? 0;
    return { id, name, self: id === local.config.clientId, lastSeq, lastSeen: lastSeen.get(id) ?? null };
  });
  return {
    root: local.root,
    client: { id: local.config.clientId, name: local.config.name },
    remote,
    /** False when the remote could not be reached: `pendingRemote` then holds only what the last fetch brought. */
    remoteAvailable: remoteError === undefined,
    remoteError: remoteError === undefined ? null : { code: remoteError.code, message: remoteError.message, hint: remoteError.hint },
    vault: local.config.vaultId,
    lastSyncAt: (await local.index.getMeta<string>('lastSyncAt')) ?? null,
    subscriptions: local.config.subscriptions,
    unsubscribed: local.config.unsubscribed,
    pendingLocal: plan.ops.filter((x) => LOCAL_KINDS.has(x.kind)).map(describeOp),
    pendingRemote: plan.ops.filter((x) => REMOTE_KINDS.has(x.kind)).map(describeOp),
    conflicts: plan.conflicts.map((c) => describeConflict(c, names)),
    faults: plan.faults.map(describeFault),
    clients,
    /** Clients that published a key and wait for an admin's `members add` (ADR-0032), as of the last fetch. */
    pendingJoiners: await readPendingJoiners(local.index),
    /** The remote's failure itself, for the CLI's exit code (not part of the JSON). */
    remoteFailure: remoteError,
  };
}

/** A folder's status (`bm-log status --json` prints it). */
export type FolderStatus = Omit<Awaited<ReturnType<typeof readFolderStatus>>, 'remoteFailure'>;
