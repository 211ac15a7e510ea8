import { planSync, type Plan, type PlanFocus, type PlanInput } from '../plan-sync.js';
import { computeMerges, computeVaultMergePolicy } from './merge-stage.js';
import { computeFollows, computeMoves, type MoveSource } from './move-stage.js';
import { openUploadSource } from './execute-plan.js';
import type { SyncPath } from '../../events/sync-path.js';
import type { ScanResult } from '../ports.js';
import type { PlanScope, SyncState } from './sync-state.js';

/*
 * The plan stage (ADR-0023): one plan of the scan against the base and the projection, made
 * from what the sync's mode holds. A focused plan (ADR-0009) plans only what changed since the
 * plan before; the mode loads what it needs, or folds everything when it cannot hold it.
 */

/** What a plan starts from: the plan before and what changed since. */
export interface RoundFocus {
  readonly focus: PlanFocus;
  /**
   * A stage's first plan (ADR-0011): planned as if an earlier plan had found nothing to do
   * elsewhere. Once the sync has folded everything, such a plan plans every path instead.
   */
  readonly stageStart?: boolean;
}

/** Plans `local` from `focus` (undefined: everything), in the sync's current mode. */
export async function planRound(state: SyncState, local: ScanResult, focus: RoundFocus | undefined): Promise<Plan> {
  let scope = await state.mode.preparePlan(state, local, focus?.focus);
  if (scope === 'fold') {
    await state.foldEverything();
    scope = {};
  }
  let plan = await planWith(state, local, computePlanFocus(state, focus), scope);
  if (state.mode.needsFullPlan(state, plan)) {
    await state.foldEverything();
    scope = {};
    plan = await planWith(state, local, computePlanFocus(state, focus), scope);
  }
  return planMerges(state, local, plan, scope);
}

/**
 * The merge and move steps (ADR-0020): the paths the plan found with concurrent heads are merged
 * from their bytes (`computeMerges`), the files gone and new here paired as moves, edits that met
 * a move sent on to the new path; the paths with a new outcome are planned again, focused on them.
 */
async function planMerges(state: SyncState, local: ScanResult, plan: Plan, scope: PlanScope): Promise<Plan> {
  const policy = computeVaultMergePolicy(state.log.state.vault);
  const lazy = state.mode.kind !== 'full';
  const src = { store: state.ctx.store, projection: state.projection, policy };
  const moveSrc: MoveSource = { ...src, manifest: state.manifest, readLocal: (f) => openUploadSource(state.ctx.tree, f.path, f.size) };
  const dirty = [
    ...(await computeMerges(src, plan.conflicts, state.merges)),
    ...(await computeMoves(moveSrc, plan, state.moves)),
    ...(await computeFollows(moveSrc, plan, state.follows, (p) => loadPathState(state, p))),
  ];
  // A follow may have folded everything (`loadPathState`): the plan before saw only some paths, so plan all of them.
  if (lazy && state.mode.kind === 'full') return planWith(state, local, undefined, {});
  if (dirty.length === 0) return plan;
  const focus = { previous: plan, dirty };
  // The mode loads what this focus needs, as for any plan (a lazy sync's scope is the last plan's).
  let again = state.mode.kind === 'full' ? scope : await state.mode.preparePlan(state, local, focus);
  if (again === 'fold') {
    await state.foldEverything();
    again = {};
  }
  return planWith(state, local, focus, again);
}

/** The focus a plan takes: none for a stage's first plan once everything is folded. */
function computePlanFocus(state: SyncState, focus: RoundFocus | undefined): PlanFocus | undefined {
  return state.mode.kind === 'full' && focus?.stageStart === true ? undefined : focus?.focus;
}

async function planWith(state: SyncState, local: ScanResult, focus: PlanFocus | undefined, scope: PlanScope): Promise<Plan> {
  const input: PlanInput = {
    base: state.manifest,
    local,
    cloud: state.projection,
    options: state.planOptions,
    ...(focus === undefined ? {} : { focus }),
    ...(scope.cloudOnly === undefined ? {} : { cloudOnly: scope.cloudOnly }),
    merges: state.merges,
    moves: state.moves,
    follows: state.follows,
  };
  const plan = planSync(input);
  await state.ctx.onPlan?.(input, plan, state.mode.kind === 'staged' ? 'stage' : 'all');
  return plan;
}

/**
 * A path's state for the move stage: a lazy or staged sync holds only the paths its plans look
 * at, so a path it has not loaded (a move's new name) is had by folding everything (moves that
 * meet edits are rare; the rest of the sync then runs in full).
 */
async function loadPathState(state: SyncState, p: SyncPath) {
  const had = state.projection.get(p);
  if (had !== undefined || state.mode.kind === 'full') return had;
  await state.foldEverything();
  return state.projection.get(p);
}
