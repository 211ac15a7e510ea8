import type { ClientId, ContentHash, VaultId, VersionId } from '../events/ids.js';
import type { CheckpointBody } from '../events/schema.js';
import type { SyncPath } from '../events/sync-path.js';
import { computeCondemnedRefs, isCondemnationVoided } from './blob-condemnation.js';
import { createLogState, type LogState } from './project-log.js';
import { computeHeads, type PathState } from './project-paths.js';
import { addCondemnation, addDeletion, addNamer, computeAckFrontier, computeActiveClients } from './project-vault.js';
import type { VersionRecord } from './version-record.js';

/** Where a checkpoint stands: its writer, the writer's own seq, and every client's cursor. */
export interface CheckpointPosition {
  readonly vault: VaultId;
  readonly client: ClientId;
  readonly seq: number;
  readonly time: string;
  readonly frontier: ReadonlyMap<string, { readonly seq: number; readonly hash: string }>;
  /** Clients with a verified key: with the retired ones left out, whose acknowledgements count. */
  readonly keyed: Iterable<ClientId>;
}

/**
 * Pure: the checkpoint body of `state`, which must be the fold of exactly the segments up to
 * `position.frontier`. Keeps what the live state needs and nothing of the replaced history:
 * - each path's heads (after collection), and the ids replaced there that are not among its
 *   known versions (a segment after the frontier may still bring such a version, and it must
 *   not become a head); a head standing only by the replace-cycle rule is kept as replaced;
 * - every collected id, the retired clients, every client's latest segment (acknowledgements)
 *   and last segment with events;
 * - the blob collection state, each condemnation with whether an event before the frontier
 *   voided it (events after it void it as usual), and who named which blob in the versions
 *   left out that some active client had not acknowledged: an active client's later
 *   condemnation covers every version it had acknowledged, so only those can void it.
 * So `projectCheckpoint(body)` plus the fold of the later segments gives the same heads,
 * collected paths, retired clients and acknowledgements as the fold of every segment, and
 * the same blob collection state except that a condemnation published after the frontier by
 * a retired client may stay open where a full replay finds it voided (the safe direction: a
 * writer refrains from naming that blob). Property-tested.
 */
export function computeCheckpointBody(state: LogState, position: CheckpointPosition): CheckpointBody {
  const contexts: CheckpointBody['contexts'] = [];
  const contextIndex = new Map<string, number>();
  const contextOf = (v: VersionRecord): number => {
    const key = `${v.client}!${v.seq}`;
    let i = contextIndex.get(key);
    if (i === undefined) {
      i = contexts.length;
      contexts.push({ client: v.client, seq: v.seq, time: v.time, seen: v.seen as Record<string, number>, snapshot: v.snapshot });
      contextIndex.set(key, i);
    }
    return i;
  };
  const paths: CheckpointBody['paths'] = [];
  const collected: CheckpointBody['collected'] = [];
  for (const [path, st] of [...state.paths].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const heads = computeHeads(st);
    const headIds = new Set<VersionId>(heads.map((h) => h.id));
    const replaced = [...st.replaced].filter((id) => !st.versions.has(id) || headIds.has(id)).sort();
    if (heads.length > 0 || replaced.length > 0) {
      paths.push({ path, heads: heads.map((h) => ({ id: h.id, type: h.type, ctx: contextOf(h), replaces: [...h.replaces], content: h.content })), replaced });
    }
    if (st.collected !== undefined && st.collected.size > 0) collected.push({ path, versions: [...st.collected].sort() });
  }
  const refs = computeCondemnedRefs(state.paths, state.vault);
  const condemnations: CheckpointBody['condemnations'] = [];
  for (const byKey of state.vault.condemnations.values()) {
    for (const c of byKey.values()) condemnations.push({ hash: c.hash, client: c.client, seq: c.seq, time: c.time, graceMs: c.graceMs, seen: c.seen as Record<string, number>, voided: isCondemnationVoided(c, refs) });
  }
  const active = computeActiveClients(position.keyed, state.vault.retired);
  const acks = computeAckFrontier(state.vault.latest, active);
  const namerMap = new Map<ContentHash, Map<ClientId, number>>();
  const addNamerTo = (hash: ContentHash, client: ClientId, seq: number) => {
    if (seq <= (acks.get(client) ?? 0)) return;
    const inner = namerMap.get(hash) ?? new Map<ClientId, number>();
    if ((inner.get(client) ?? 0) < seq) inner.set(client, seq);
    namerMap.set(hash, inner);
  };
  for (const st of state.paths.values()) {
    // Heads are kept with their writer and seq: only the versions left out need a namer entry.
    const heads = new Set(computeHeads(st).map((h) => h.id));
    for (const v of st.versions.values()) if (v.content !== null && !heads.has(v.id)) addNamerTo(v.content.hash, v.client, v.seq);
  }
  for (const [hash, byClient] of state.vault.namers) for (const [client, seq] of byClient) addNamerTo(hash, client, seq);
  const namers: CheckpointBody['namers'] = [];
  for (const [hash, byClient] of [...namerMap].sort(([a], [b]) => (a < b ? -1 : 1))) for (const [client, seq] of [...byClient].sort()) namers.push({ hash, client, seq });
  const deletions: CheckpointBody['deletions'] = [];
  for (const byKey of state.vault.deletions.values()) for (const d of byKey.values()) deletions.push({ hash: d.hash, client: d.client, seq: d.seq, time: d.time, seen: d.seen as Record<string, number> });
  const frontier: CheckpointBody['frontier'] = {};
  for (const [c, cur] of [...position.frontier].sort(([a], [b]) => (a < b ? -1 : 1))) frontier[c] = { seq: cur.seq, hash: cur.hash };
  return {
    v: 1,
    vault: position.vault,
    client: position.client,
    seq: position.seq,
    time: position.time,
    frontier,
    contexts,
    paths,
    collected,
    retired: [...state.vault.retired].sort(),
    latest: [...state.vault.latest.values()].sort((a, b) => (a.client < b.client ? -1 : 1)).map((s) => ({ client: s.client, seq: s.seq, time: s.time, seen: s.seen as Record<string, number>, events: s.events })),
    lastEventful: Object.fromEntries([...state.vault.lastEventful].sort(([a], [b]) => (a < b ? -1 : 1))),
    condemnations,
    deletions,
    namers,
  };
}

/** Pure: the log state a checkpoint stands for (the fold of every segment up to its frontier). */
export function projectCheckpoint(body: CheckpointBody): LogState {
  const state = createLogState();
  const collectedByPath = new Map<string, readonly VersionId[]>();
  for (const c of body.collected) collectedByPath.set(c.path, c.versions);
  const withCollected = (path: string, st: PathState): PathState => {
    const ids = collectedByPath.get(path);
    return ids === undefined ? st : { ...st, collected: new Set(ids) };
  };
  for (const entry of body.paths) {
    const versions = new Map<VersionId, VersionRecord>();
    for (const h of entry.heads) {
      const ctx = body.contexts[h.ctx];
      if (ctx === undefined) throw new RangeError(`checkpoint head ${h.id} names missing context ${h.ctx}`);
      versions.set(h.id, { id: h.id, path: entry.path, type: h.type, client: ctx.client, seq: ctx.seq, time: ctx.time, replaces: h.replaces, content: h.content, seen: ctx.seen, snapshot: ctx.snapshot });
    }
    state.paths.set(entry.path, withCollected(entry.path, { versions, replaced: new Set(entry.replaced) }));
  }
  for (const c of body.collected) {
    if (!state.paths.has(c.path)) state.paths.set(c.path as SyncPath, withCollected(c.path, { versions: new Map(), replaced: new Set() }));
  }
  const vault = state.vault;
  for (const c of body.retired) vault.retired.add(c);
  for (const s of body.latest) vault.latest.set(s.client, { client: s.client, seq: s.seq, time: s.time, seen: s.seen, events: s.events });
  for (const [c, seq] of Object.entries(body.lastEventful)) vault.lastEventful.set(c as ClientId, seq);
  for (const c of body.condemnations) addCondemnation(vault, { ...c, hash: c.hash as ContentHash });
  for (const d of body.deletions) addDeletion(vault, { ...d, hash: d.hash as ContentHash });
  for (const n of body.namers) addNamer(vault, n.hash, n.client, n.seq);
  return state;
}
