import { decodeTrustedSegment } from '../events/codec.js';
import { computeSegmentVersions, projectVersions, type Projection } from '../projections/project-paths.js';
import type { VersionRecord } from '../projections/version-record.js';
import { openClient, type ClientSession } from './client-session.js';

/** Opens the client folder, runs `fn`, always closes (releasing the folder lock). */
export async function withClient<T>(dir: string | undefined, fn: (s: ClientSession) => Promise<T>): Promise<T> {
  const s = await openClient(dir);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

/** Every verified event this client holds, folded. */
export async function loadProjection(s: ClientSession): Promise<{ projection: Projection; versions: VersionRecord[]; lastSeen: Map<string, string> }> {
  const projection: Projection = new Map();
  const versions: VersionRecord[] = [];
  const lastSeen = new Map<string, string>();
  for await (const rec of s.index.iterateSegments()) {
    const body = decodeTrustedSegment(rec.bytes);
    const vs = computeSegmentVersions(body);
    versions.push(...vs);
    projectVersions(vs, projection);
    lastSeen.set(body.client, body.time);
  }
  return { projection, versions, lastSeen };
}

export async function clientNames(s: ClientSession): Promise<Map<string, string>> {
  const pinned = await s.index.getPinnedKeys();
  return new Map([...pinned].map(([c, k]) => [c, k.name]));
}

