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
