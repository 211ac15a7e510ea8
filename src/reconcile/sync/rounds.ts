import type { SyncPath } from '../../events/sync-path.js';
import type { CleanState } from '../clean-state.js';
import { computeRecordFocus } from '../clean-state.js';
import { computeScanChanges } from '../local-scan.js';
import type { Plan, PlanFocus } from '../plan-sync.js';
import type { ScanBase, ScanResult } from '../ports.js';
import type { Stage } from '../staged-sync.js';
import { releaseFetchedSegments } from '../sync-log.js';
import { executePlan, isLocalOp, type ExecuteEnv } from './execute-plan.js';
import { planRound, type RoundFocus } from './plan-round.js';
import { checkGuards, type SyncOptions } from './report.js';
import { StagedMode, type OpenedState, type SyncState } from './sync-state.js';

/*
 * The plan-and-execute loop (ADR-0023): scan, plan, guard, execute, and again until a plan is
 * empty (at most MAX_ROUNDS rounds). A first sync in stages runs the loop once per stage.
 */

const MAX_ROUNDS = 4;

/** What the rounds carry from one to the next (and from one stage to the next). */
export interface RoundsResult {
  /** The first plan (what a dry run prints). */
  firstPlan?: Plan | undefined;
  lastPlan?: Plan | undefined;
  lastScan?: ScanResult | undefined;
  /** The most rounds any stage took. */
  rounds: number;
}

interface Rounds extends RoundsResult {
  /** Paths the last execution wrote or deleted locally: a rescan lists their folders again. */
  touched: SyncPath[];
  /** The clean-state record, until the first plan has started from it. */
  record: CleanState | undefined;
}

/** What the loop runs with. */
export interface RoundsEnv {
  readonly opened: OpenedState;
  readonly exec: ExecuteEnv;
  readonly options: SyncOptions;
}

/** Runs the rounds: of every path, or (a first sync in stages) of each stage in turn. */
export async function runRounds(env: RoundsEnv, record: CleanState | undefined): Promise<RoundsResult> {
  const { state } = env.opened;
  const run: Rounds = { touched: [], record, rounds: 0 };
  const mode = state.mode;
  if (!(mode instanceof StagedMode)) {
    await runStageRounds(env, run, undefined);
    return run;
  }
  const progress = state.ctx.onProgress;
  progress?.({ kind: 'phase', phase: 'scan' });
  run.lastScan = await state.ctx.tree.scan(state.manifest, state.ctx.isIgnored, progress);
  const stages = await mode.computeStages(state.ctx, run.lastScan);
  progress?.({ kind: 'stages', count: stages.length });
  state.ctx.onStageBoundary?.();
  for (const [index, stage] of stages.entries()) {
    // A stage that folded everything planned every path: nothing is left for the others.
    if (state.mode !== mode) break;
    progress?.({ kind: 'stage', index });
    await runStageRounds(env, run, stage);
    if (state.mode === mode) {
      mode.closeStage(run.lastPlan!, run.lastScan!);
      state.ctx.onStageBoundary?.();
    }
  }
  return run;
}

/** The rounds of one stage (`stage` undefined: of every path). */
async function runStageRounds(env: RoundsEnv, run: Rounds, stage: Stage | undefined): Promise<void> {
  const { state } = env.opened;
  let stageFocus: PlanFocus | undefined;
  if (stage !== undefined) stageFocus = await (state.mode as StagedMode).openStage(stage, run.lastPlan?.ops ?? []);
  run.lastPlan = undefined;
  let rounds = 0;
  for (; rounds < MAX_ROUNDS; rounds++) {
    const scan = await scanRound(env, run);
    const first = run.lastPlan === undefined;
    // A stage's first plan also takes what the rescan after the stage before found changed
    // (the user may have changed files of any stage meanwhile).
    if (first && stageFocus !== undefined && run.lastScan !== undefined && scan !== run.lastScan) {
      stageFocus = { ...stageFocus, dirty: [...stageFocus.dirty, ...computeScanChanges(run.lastScan, scan)] };
    }
    const focus: RoundFocus | undefined = !first
      ? since(run.lastPlan!, run.lastScan!, scan)
      : stageFocus !== undefined
        ? { focus: stageFocus, stageStart: true }
        : wrap(computeRecordFocus(state.ctx, run.record, state.fetched, scan));
    state.ctx.onProgress?.({ kind: 'phase', phase: 'plan' });
    const plan = await planRound(state, scan, focus);
    forgetAfterFirstPlan(state, run);
    if (first) {
      if (run.firstPlan === undefined) env.exec.tally.notices.push(...scan.notices);
      run.firstPlan ??= plan;
      env.exec.tally.notices.push(...plan.notices);
    }
    // Every round: a delete the user makes while a sync runs meets the same guards.
    checkGuards(plan, state.mode.tracked(state), scan.files.size, env.options);
    run.lastPlan = plan;
    run.lastScan = scan;
    if (plan.ops.length === 0 || state.dryRun) break;
    if (!(await executeRound(env, run, plan, scan))) {
      rounds++;
      break;
    }
  }
  run.rounds = Math.max(run.rounds, rounds);
}

/**
 * The round's scan. After a round, only the folders its local writes and deletes touched are
 * listed again. (The first scan of a lazy sync goes by the witness alone: the manifest rows it
 * holds then, the conflict copies', are the ones that scan saw.)
 */
async function scanRound(env: RoundsEnv, run: Rounds): Promise<ScanResult> {
  const { state, firstScanBase } = env.opened;
  const { tree, isIgnored, onProgress: progress } = state.ctx;
  const last = run.lastScan;
  progress?.({ kind: 'phase', phase: 'scan' });
  const scan =
    last === undefined
      ? await tree.scan(firstScanBase, isIgnored, progress)
      : await tree.rescan(last, run.touched, scanBaseOf(env, run), isIgnored, progress);
  run.touched = [];
  return scan;
}

function scanBaseOf(env: RoundsEnv, run: Rounds): ScanBase {
  return env.opened.scanBase(() => run.lastScan);
}

/**
 * The record's witness (~8 MB at 100k files) is not needed after the first plan, nor are the
 * fetched segments, which are in the index now (a dry run stops after this plan): let them go.
 */
function forgetAfterFirstPlan(state: SyncState, run: Rounds): void {
  run.record = undefined;
  if (!state.dryRun) state.fetched = releaseFetchedSegments(state.fetched);
}

/**
 * Executes a round's plan and applies its commit to the manifest in memory. False when no
 * other round is needed: another round only shows what this one published (a fresh conflict's
 * winner and copies); without new events it would just retry what was skipped.
 */
async function executeRound(env: RoundsEnv, run: Rounds, plan: Plan, scan: ScanResult): Promise<boolean> {
  const { state } = env.opened;
  const { tally } = env.exec;
  const published = tally.eventsPublished;
  const skippedBefore = tally.skipped.length;
  const committed = await executePlan(env.exec, plan);
  run.touched = plan.ops.filter(isLocalOp).map((o) => o.path);
  state.applyCommit(committed);
  if (tally.eventsPublished !== published) return true;
  // Not executed, so nothing is retried: one more look (a rescan of the folders this round
  // touched, and a plan) only tells whether the folder is now clean, for the record.
  if (tally.skipped.length === skippedBefore) {
    const after = await state.ctx.tree.rescan(scan, run.touched, scanBaseOf(env, run), state.ctx.isIgnored);
    const check = await planRound(state, after, since(plan, scan, after));
    if (check.ops.length === 0) {
      run.lastPlan = check;
      run.lastScan = after;
      run.touched = [];
    }
  }
  return false;
}

function since(plan: Plan, scan: ScanResult, now: ScanResult): RoundFocus {
  return { focus: { previous: plan, dirty: computeScanChanges(scan, now) } };
}

function wrap(focus: PlanFocus | undefined): RoundFocus | undefined {
  return focus === undefined ? undefined : { focus };
}
