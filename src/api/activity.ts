import { readdir } from 'node:fs/promises';
import * as path from 'node:path';
import type { ClientId } from '../events/ids.js';
import { computeHeads, type Projection } from '../projections/project-paths.js';
import type { VersionRecord } from '../projections/version-record.js';
import type { LocalSession } from '../client/client-session.js';
import { clientNames, loadProjection } from '../client/client-queries.js';
import { describeVersion } from '../client/describe-records.js';
import { computeChangeKind, computeRecordedMove, type ChangeKind } from '../client/change-kind.js';
import { computeClientRows, type ClientRow } from '../gc/retire-client.js';
import { readClientConfig, stateDirPath } from '../local/state-dir.js';

/*
 * The web view's reads of a client's own records (ADR-0030), beside the API's history and
 * conflicts: the activity of every path, the deleted files, the clients with how far each
 * log is acknowledged, and a small "pulse" that changes whenever any of these would. No
 * remote request: they show the log as of this client's last sync (`sync --watch` keeps it
 * current). Pure parts are `compute*`.
 */

/** One event of the timeline: a version with what it did and who wrote it. */
export type ActivityEvent = ReturnType<typeof describeVersion> & {
  readonly path: string;
  readonly seq: number;
  readonly change: ChangeKind;
  /** True when the writer is an agent client of this folder (`openFolder(dir, { as })`, `bm-log mcp --as`). */
  readonly agent: boolean;
  /** The `seen` frontier with client names, for people. */
  readonly seenNames: readonly { readonly client: string; readonly name: string | null; readonly seq: number }[];
};

/** Pure: the events of `versions`, newest first (ties: the greater id first), at most `limit`. */
export function computeActivity(
  versions: readonly VersionRecord[],
  names: ReadonlyMap<string, string>,
  agents: ReadonlySet<string>,
  limit: number,
): ActivityEvent[] {
  const history = new Map<string, VersionRecord[]>();
  const byId = new Map<string, VersionRecord>();
  for (const v of versions) {
    byId.set(v.id, v);
    history.set(v.path, [...(history.get(v.path) ?? []), v]);
  }
  const newest = [...versions].sort((a, b) => (a.time === b.time ? (a.id < b.id ? 1 : -1) : a.time < b.time ? 1 : -1)).slice(0, limit);
  return newest.map((v) => ({
    path: v.path,
    ...describeVersion(v, names),
    seq: v.seq,
    change: computeChangeKind(v, computeRecordedMove(v), history, byId),
    agent: agents.has(v.client),
    seenNames: Object.entries(v.seen).map(([client, seq]) => ({ client, name: names.get(client) ?? null, seq })),
  }));
}

/** A path whose every head is a delete: who deleted it, and its last version with content (to restore). */
export interface DeletedFile {
  readonly path: string;
  readonly deleted: ReturnType<typeof describeVersion>;
  readonly lastContent: ReturnType<typeof describeVersion> | null;
}

/** Pure: the deleted paths of a projection, in path order. */
export function computeDeletedFiles(projection: Projection, names: ReadonlyMap<string, string>): DeletedFile[] {
  const out: DeletedFile[] = [];
  for (const [p, st] of projection) {
    const heads = computeHeads(st);
    if (heads.length === 0 || heads.some((h) => h.content !== null)) continue;
    const withContent = [...st.versions.values()].filter((v) => v.content !== null).sort((a, b) => (a.id < b.id ? 1 : -1));
    const last = withContent[0];
    out.push({
      path: p,
      deleted: describeVersion(heads[0]!, names),
      lastContent: last === undefined ? null : describeVersion(last, names),
    });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The ids of the agent clients kept in this folder's `.bm-log/agents/` (ADR-0028). */
export async function readAgentIds(root: string): Promise<Set<string>> {
  const dir = path.join(stateDirPath(root), 'agents');
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const ids = new Set<string>();
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const config = await readClientConfig(path.join(dir, e.name)).catch(() => undefined);
    if (config !== undefined) ids.add(config.clientId);
  }
  return ids;
}

/** The timeline of every path, newest first. */
export async function listActivity(s: LocalSession, limit: number): Promise<ActivityEvent[]> {
  const { versions } = await loadProjection(s);
  return computeActivity(versions, await clientNames(s), await readAgentIds(s.root), limit);
}

/** The deleted files, each with the version to bring it back from. */
export async function listDeleted(s: LocalSession): Promise<DeletedFile[]> {
  const { projection } = await loadProjection(s);
  return computeDeletedFiles(projection, await clientNames(s));
}

/** A client as the web view lists it: its row of `bm-log clients`, and whether it is an agent of this folder. */
export type ClientInfo = ClientRow & { readonly agent: boolean };

/** Every client this client knows of, from its own records (as of its last sync). */
export async function listClients(s: LocalSession): Promise<ClientInfo[]> {
  const { state } = await loadProjection(s);
  const names = await clientNames(s);
  const keyed = new Set([...(await s.index.getPinnedKeys()).keys()]);
  const agents = await readAgentIds(s.root);
  const rows = computeClientRows({ state, keyed, names }, s.config.clientId as ClientId);
  return rows.map((r) => ({ ...r, agent: agents.has(r.id) }));
}

/**
 * Changes whenever the log this client holds or its last sync changes: the web view polls it.
 * Cheap (a few index rows, no fold), so polling holds the folder only for a moment.
 */
export interface FolderPulse {
  /** Each client's fetched position, as `client:seq` joined: it moves with every fetched or published segment. */
  readonly cursors: string;
  readonly lastSyncAt: string | null;
}

export async function readPulse(s: LocalSession): Promise<FolderPulse> {
  const cursors = [...(await s.index.getCursors())].map(([c, cur]) => `${c}:${cur.seq}`).sort();
  return { cursors: cursors.join(','), lastSyncAt: (await s.index.getMeta<string>('lastSyncAt')) ?? null };
}
