import type { LogState } from '../projections/project-log.js';
import type { Projection } from '../projections/project-paths.js';
import { readLogState } from '../reconcile/sync-log.js';
import type { VersionRecord } from '../projections/version-record.js';
import { openClient, openLocal, type ClientSession, type LocalSession } from './client-session.js';

/** Runs `fn` on an open session and always closes it (releasing the folder lock). */
async function using<S extends { close(): Promise<void> }, T>(s: S, fn: (s: S) => Promise<T>): Promise<T> {
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

/**
 * The folder's local half only: for commands that read this client's own records (conflicts,
 * log, ls), which then work while the remote is unreachable.
 */
export async function withLocal<T>(dir: string | undefined, fn: (s: LocalSession) => Promise<T>): Promise<T> {
  return using(await openLocal(dir), fn);
}

/** The whole client folder, remote included. */
export async function withClient<T>(dir: string | undefined, fn: (s: ClientSession) => Promise<T>): Promise<T> {
  return using(await openClient(dir), fn);
}

/**
 * Every verified event this client holds, folded (from its checkpoint, when it joined from
 * one). `versions` is every version the projection knows; `state` adds the vault-wide state.
 */
export async function loadProjection(
  s: Pick<ClientSession, 'index'>,
): Promise<{ projection: Projection; versions: VersionRecord[]; lastSeen: Map<string, string>; state: LogState }> {
  const { state } = await readLogState(s.index);
  const versions: VersionRecord[] = [];
  for (const st of state.paths.values()) versions.push(...st.versions.values());
  const lastSeen = new Map<string, string>();
  for (const [c, seg] of state.vault.latest) lastSeen.set(c, seg.time);
  return { projection: state.paths, versions, lastSeen, state };
}

export async function clientNames(s: Pick<ClientSession, 'index'>): Promise<Map<string, string>> {
  const pinned = await s.index.getPinnedKeys();
  return new Map([...pinned].map(([c, k]) => [c, k.name]));
}
