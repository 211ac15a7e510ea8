import type { ObjectStore } from '../../src/events/store/object-store.js';
import type { SnapshotPort } from '../../src/events/store/snapshot-port.js';

/**
 * Snapshots of a `MemoryStore`-like map, for the engine's in-process tests and the simulation:
 * a real implementation of the port over memory (each snapshot copies the map), not an
 * emulation of Tigris's HTTP headers.
 */
export class MemorySnapshots implements SnapshotPort {
  private readonly views = new Map<string, ReadonlyMap<string, Uint8Array>>();
  /** Snapshots taken (a test counts them). */
  taken = 0;

  constructor(private readonly store: Pick<ObjectStore, 'description'> & { readonly objects: ReadonlyMap<string, Uint8Array> }) {}

  async take(): Promise<string | undefined> {
    const version = String(++this.taken);
    this.views.set(version, new Map(this.store.objects));
    return version;
  }

  async get(version: string, key: string): Promise<Uint8Array | undefined> {
    return this.views.get(version)?.get(key);
  }
}
