import type { IdFactory } from '../events/ids.js';
import type { ObjectStore } from '../events/store/object-store.js';
import type { SnapshotPort } from '../events/store/snapshot-port.js';
import type { CheckpointEvery } from './own-checkpoint.js';
import type { Plan, PlanInput } from './plan-sync.js';
import type { LocalTree, ProgressSink, SyncIdentity, SyncIndex } from './ports.js';

/**
 * Everything one sync runs with (ADR-0023): the ports (`store`, `index`, `tree`), who syncs,
 * the scope, and the knobs and hooks the CLI and the tests set. It sits beside ports.ts, not
 * in it, because it names the planner's types (`onPlan`), and the planner imports the ports.
 */
export interface SyncContext {
  readonly store: ObjectStore;
  readonly index: SyncIndex;
  readonly tree: LocalTree;
  readonly identity: SyncIdentity;
  readonly subscriptions: readonly string[];
  readonly isIgnored: (path: string) => boolean;
  readonly now: () => Date;
  readonly newId: IdFactory;
  /** Parallel transfers. */
  readonly concurrency?: number;
  /**
   * Small contents uploaded together go into one pack object (ADR-0022). Default false (the
   * engine's own tests and the blob-race proofs work on blobs); the client session (CLI, API)
   * sets it. Off, every content is a blob of its own and segments stay format 1 (ADR-0019 §1).
   */
  readonly packs?: boolean;
  /**
   * A round's operations are carried out and committed in chunks of about this many
   * (default 4,000; all of one path's in one chunk): a first sync of 100,000 files held every
   * event, segment and manifest row of the whole upload at once (ADR-0010).
   */
  readonly chunkOps?: number;
  /**
   * The remote's bucket snapshots, where it has them (the CLI sets it from the store, ADR-0034):
   * the fetch takes or keeps the baseline every segment of the run records, and reads back from
   * it what it had seen that vanished since.
   */
  readonly snapshots?: SnapshotPort | undefined;
  /** Told what the sync is doing (phases, hashing, transfers; see `SyncProgress`), for a progress display. */
  readonly onProgress?: ProgressSink;
  /** A client that has fetched nothing yet starts from the newest checkpoint (default true). */
  readonly joinFromCheckpoint?: boolean;
  /** Writer rule (i) of ADR-0007: publish within this long of the fetch (default 30 min). */
  readonly publishDeadlineMs?: number;
  /** When a sync checkpoints its own log (ADR-0014; default `CHECKPOINT_EVERY`): tests lower it. */
  readonly checkpointEvery?: CheckpointEvery;
  /**
   * Called with every plan and what it was made from (the simulation re-plans focused and lazy
   * plans in full to check them): 'stage' when it plans one stage of a first sync in stages
   * (ADR-0011), whose other paths it neither holds nor plans.
   */
  readonly onPlan?: (input: PlanInput, plan: Plan, part: 'all' | 'stage') => void | Promise<void>;
  /** Paths per stage of a first sync in stages (ADR-0011; default 2,000). */
  readonly stagePaths?: number;
  /**
   * Names the rules that decide what is in scope (ignore rules, subscriptions): equal keys
   * mean equal `isIgnored` and `subscriptions`. Without one the clean-state shortcut
   * (ADR-0008) is off and every sync folds and plans.
   */
  readonly scopeKey?: string;
  /**
   * Told how much the sync will hold in memory once it knows: 'small' when it starts lazily
   * (ADR-0009), 'large' when it folds everything (from the start, or after all). The CLI
   * sizes V8's young generation by it (ADR-0010); nothing else depends on it.
   */
  readonly onWorkingSet?: (size: 'small' | 'large') => void;
  /**
   * Called before the first stage of a first sync in stages (ADR-0011), after its scan, and
   * after each stage, once the stage's paths are let go: the CLI has V8 collect its garbage
   * there. Nothing else depends on it.
   */
  readonly onStageBoundary?: () => void;
}
