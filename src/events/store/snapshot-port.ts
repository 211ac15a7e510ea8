import type { ObjectStore } from './object-store.js';

/**
 * Bucket snapshots, where the remote has them (Tigris; ADR-0034): the second, optional port
 * beside `ObjectStore`. A snapshot is a read-only view of the whole bucket as it was when it
 * was taken; objects created later are not in it, objects deleted later still are.
 *
 * Contract: `take` returns a version that `get` accepts from then on (undefined when the bucket
 * turns out to take none, e.g. created without snapshots enabled), and a view that holds
 * every object whose create had completed before `take` was called (so a snapshot taken
 * after a fetch's reads holds everything that fetch read). `get` returns undefined for a key
 * the view does not hold. Failures that may succeed on retry throw remote-unavailable.
 */
export interface SnapshotPort {
  /** Takes a snapshot of the bucket now; its version (undefined: the bucket took none). */
  take(): Promise<string | undefined>;
  /** An object's bytes as of snapshot `version`, undefined when it was not there. */
  get(version: string, key: string): Promise<Uint8Array | undefined>;
}

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
