import { randomBytes } from 'node:crypto';
import { BmError, ErrorCode, isBmError } from '../../errors.js';
import type { ObjectStore, StoreCapabilities } from './object-store.js';

/**
 * Extra calls a server-backed adapter offers the probe (S3Store implements them). Adapters
 * without them (memory, directory) enforce create-only themselves and have neither
 * versioning nor snapshots.
 */
export interface ServerCapabilityProbe {
  /** One create-only write relying on the server alone, with no client-side pre-check. */
  createOnlyServerSide(key: string, bytes: Uint8Array): Promise<'created' | 'refused'>;
  versioningEnabled(): Promise<boolean>;
  snapshotsAvailable(): Promise<boolean>;
}

export interface ProbeOptions {
  /** Random hex for the probe folder name; injectable for tests. */
  readonly randomId?: () => string;
}

/** Keys the probe writes live under this prefix, one random folder per probe. */
export const PROBE_PREFIX = 'probe/';

/**
 * Finds out what a remote supports with a few requests under `probe/<random>/`, removed
 * afterwards (also when the probe fails). Create-only enforcement is tested by writing one
 * key twice with different bytes, bypassing any client-side check: if the second write is
 * accepted the server does not enforce it (and the adapter must fall back to its racy
 * HEAD pre-check).
 */
export async function probeStore(store: ObjectStore, options: ProbeOptions = {}): Promise<StoreCapabilities> {
  const folder = `${PROBE_PREFIX}${(options.randomId ?? (() => randomBytes(8).toString('hex')))()}/`;
  const key = `${folder}create-only`;
  const server = hasServerProbe(store) ? store : undefined;
  const createOnce = server
    ? (bytes: Uint8Array) => server.createOnlyServerSide(key, bytes)
    : (bytes: Uint8Array) => createViaPort(store, key, bytes);
  try {
    if ((await createOnce(new TextEncoder().encode('probe first'))) !== 'created') {
      // A fresh random key that already exists: someone else's leftover; do not guess.
      throw new BmError(ErrorCode.internal, `${store.description}: the fresh probe key ${key} already existed`, 'run the probe again');
    }
    const second = await createOnce(new TextEncoder().encode('probe second'));
    return {
      createOnlyEnforced: second === 'refused',
      versioning: server ? await server.versioningEnabled() : false,
      snapshots: server ? await server.snapshotsAvailable() : false,
    };
  } finally {
    await store.delete(key).catch(() => undefined);
  }
}

async function createViaPort(store: ObjectStore, key: string, bytes: Uint8Array): Promise<'created' | 'refused'> {
  try {
    await store.putIfAbsent(key, bytes);
    return 'created';
  } catch (e) {
    if (isBmError(e, 'object-exists')) return 'refused';
    throw e;
  }
}

function hasServerProbe(store: ObjectStore): store is ObjectStore & ServerCapabilityProbe {
  const s = store as Partial<ServerCapabilityProbe>;
  return (
    typeof s.createOnlyServerSide === 'function' && typeof s.versioningEnabled === 'function' && typeof s.snapshotsAvailable === 'function'
  );
}
