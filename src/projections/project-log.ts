import type { SegmentBody } from '../events/schema.js';
import { computeCountedSegment } from '../members/counted-events.js';
import type { MemberState } from '../members/project-members.js';
import { projectSegment, type Projection } from './project-paths.js';
import { createVaultState, evolveVault, type VaultState } from './project-vault.js';

/**
 * Everything the fold of the log gives: the paths (heads, history, collected versions) and
 * the vault-wide state (acknowledgements, retired clients, blob collection). Built from the
 * verified segments, or from a checkpoint plus the segments after its frontier
 * (project-checkpoint.ts), with the same result for the live state.
 */
export interface LogState {
  readonly paths: Projection;
  readonly vault: VaultState;
  /**
   * In a vault with a root (ADR-0021): the member list this fold counts events by; every
   * segment folded here passes `mayApply` first. Absent: an open vault, every event counts.
   */
  members?: MemberState;
}

export function createLogState(): LogState {
  return { paths: new Map(), vault: createVaultState() };
}

/** Folds one verified segment into `state` (mutated) and returns it. */
export function projectLogSegment(state: LogState, body: SegmentBody): LogState {
  const counted = state.members === undefined ? body : computeCountedSegment(body, state.members);
  projectSegment(counted, state.paths);
  evolveVault(state.vault, counted);
  return state;
}
