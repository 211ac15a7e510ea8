import { BmError, ErrorCode } from '../errors.js';
import type { ClientId, VersionId } from '../events/ids.js';
import { computeAckFrontier, computeActiveClients } from '../projections/project-vault.js';
import { executeFetchLog, publishOwnSegment, type OpenLog } from '../reconcile/sync-log.js';
import type { GcContext } from './execute-gc.js';

/** One row of `bm-log clients`. */
export interface ClientRow {
  readonly id: ClientId;
  readonly name: string;
  readonly self: boolean;
  /** Seq of its latest segment (0: it never published). */
  readonly lastSeq: number;
  /** Writer's time of its latest segment. */
  readonly lastSeen: string | null;
  /** How far its log is acknowledged by every active client. */
  readonly acked: number;
  /** What it acknowledges of each other log (its latest segment's `seen`). */
  readonly acks: Readonly<Record<string, number>>;
  readonly retired: boolean;
  /** Seq of its latest checkpoint of its own log (ADR-0014), or null when it wrote none. */
  readonly checkpoint: number | null;
}

/** Pure: the clients table of a fetched log, with each client's latest checkpoint seq (from a listing). */
export function computeClientRows(
  log: Pick<OpenLog, 'state' | 'keyed' | 'names'>,
  self: ClientId,
  checkpoints: ReadonlyMap<string, number> = new Map(),
): ClientRow[] {
  const vault = log.state.vault;
  const active = computeActiveClients(log.keyed, vault.retired);
  const frontier = computeAckFrontier(vault.latest, active);
  const ids = new Set<ClientId>([...log.keyed, ...vault.latest.keys()]);
  return [...ids].sort().map((id) => {
    const latest = vault.latest.get(id);
    return {
      id,
      name: log.names.get(id) ?? id.slice(-6),
      self: id === self,
      lastSeq: latest?.seq ?? 0,
      lastSeen: latest?.time ?? null,
      acked: frontier.get(id) ?? 0,
      acks: latest?.seen ?? {},
      retired: vault.retired.has(id),
      checkpoint: checkpoints.get(id) ?? null,
    };
  });
}

/** The one client `target` names: its exact id, or its exact name when no other client has it. */
export function mustClientMatch(log: OpenLog, target: string): ClientId {
  const byId = [...log.keyed].find((c) => c === target.toUpperCase());
  if (byId !== undefined) return byId;
  const byName = [...log.keyed].filter((c) => log.names.get(c) === target);
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1)
    throw new BmError(
      ErrorCode.usage,
      `${byName.length} clients are named ${JSON.stringify(target)}: ${byName.join(', ')}`,
      'name the client by its id (see `bm-log clients`)',
    );
  throw new BmError(
    ErrorCode.notFound,
    `no client has the id or name ${JSON.stringify(target)}`,
    'see `bm-log clients` for ids and names (exact match)',
  );
}

/**
 * Publishes a `retire` event for `target` (an exact client id or name) in this client's log:
 * from then on GC no longer waits for its acknowledgements. Nothing is published when it is
 * retired already.
 */
export async function executeRetire(
  ctx: GcContext,
  target: string,
): Promise<{ client: ClientId; name: string; alreadyRetired: boolean; seq: number | null }> {
  const log = await executeFetchLog(ctx, { dryRun: false });
  const client = mustClientMatch(log, target);
  const name = log.names.get(client) ?? client;
  if (log.state.vault.retired.has(client)) return { client, name, alreadyRetired: true, seq: null };
  const seg = await publishOwnSegment(ctx, log, [{ type: 'retire', id: ctx.newId() as VersionId, client }], log.baseline);
  return { client, name, alreadyRetired: false, seq: seg.body.seq };
}
