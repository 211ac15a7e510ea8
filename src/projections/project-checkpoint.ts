import type { CheckpointBody } from '../events/checkpoint-schema.js';
import type { ClientId, ContentHash, VersionId } from '../events/ids.js';
import type { SyncPath } from '../events/sync-path.js';
import { createLogState, type LogState } from './project-log.js';
import type { PathState } from './project-paths.js';
import { addCondemnation, addDeletion, addNamer } from './project-vault.js';
import type { VersionRecord } from './version-record.js';

/**
 * Pure: the log state a format-1 checkpoint (ADR-0007) claims to stand for: the fold of every
 * segment up to its frontier. Format 1 is no longer adopted (ADR-0014); `verify` compares this
 * with the log, and an older client's index that joined from one is read with it until its
 * next sync fetches the whole log.
 */
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
      versions.set(h.id, {
        id: h.id,
        path: entry.path,
        type: h.type,
        client: ctx.client,
        seq: ctx.seq,
        time: ctx.time,
        replaces: h.replaces,
        content: h.content,
        seen: ctx.seen,
        snapshot: ctx.snapshot,
      });
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
