import type { WriterCheckpointBody } from '../events/checkpoint-schema.js';
import type { LogState } from '../projections/project-log.js';
import { computeWriterClaims, keyOfClaim, planCheckpointProofs, type CheckpointClaim } from '../projections/project-writer-checkpoint.js';

/** What a client found when it checked checkpoint claims against their writers' segments (keys of `keyOfClaim`). */
export interface ClaimVerdicts {
  readonly ok: readonly string[];
  readonly bad: readonly string[];
}

export const NO_VERDICTS: ClaimVerdicts = { ok: [], bad: [] };

/** The fold of writer checkpoints and log tails, with the versions whose ids two writers claim at a path. */
export interface CheckpointFold {
  readonly state: LogState;
  readonly contested: ReadonlySet<string>;
}

/** The result of `settleCheckpointClaims`. */
export interface SettledClaims {
  /** The fold without the claims found false. */
  readonly state: LogState;
  readonly verdicts: ClaimVerdicts;
  /** The claims found false, with those found before, and those left undecided (their segment is missing). */
  readonly bad: readonly CheckpointClaim[];
  /** Claims checked now (0: nothing new to check). */
  readonly checked: number;
}

/**
 * Checks every claim of the writer checkpoints `bodies` that `state` (their fold with the
 * log tails) depends on (`planCheckpointProofs`) and is not in `verdicts` yet: `prove` tells,
 * for each, whether its writer's own segment says it (reading it). A claim found false is
 * left out of the fold (`refold`), and the claims the new fold depends on are checked in
 * turn, until nothing is left to check. A claim `prove` cannot decide (its segment is not on
 * the remote: it may have vanished and be put back, ADR-0015) is left out of the fold like a
 * false one but kept in no verdict, so the next run checks it again. The same verdicts and
 * remote give the same state.
 */
export async function settleCheckpointClaims(
  fold: CheckpointFold,
  bodies: readonly WriterCheckpointBody[],
  verdicts: ClaimVerdicts,
  prove: (claims: readonly CheckpointClaim[]) => Promise<ReadonlyMap<string, boolean>>,
  refold: (excluded: ReadonlySet<string>) => Promise<CheckpointFold>,
): Promise<SettledClaims> {
  const ok = new Set(verdicts.ok);
  const bad = new Set(verdicts.bad);
  const undecided = new Set<string>();
  const badClaims: CheckpointClaim[] = [];
  let checked = 0;
  for (;;) {
    const claims = planCheckpointProofs(fold.state, bodies, new Set([...ok, ...bad, ...undecided]), fold.contested);
    if (claims.length === 0) break;
    const found = await prove(claims);
    checked += claims.length;
    let refute = false;
    for (const c of claims) {
      const k = keyOfClaim(c);
      const verdict = found.get(k);
      if (verdict === true) ok.add(k);
      else {
        (verdict === false ? bad : undecided).add(k);
        refute = true;
      }
    }
    if (refute) fold = await refold(new Set([...bad, ...undecided]));
  }
  const out = new Set([...bad, ...undecided]);
  if (out.size > 0) for (const body of bodies) for (const c of computeWriterClaims(body)) if (out.has(keyOfClaim(c))) badClaims.push(c);
  return { state: fold.state, verdicts: { ok: [...ok].sort(), bad: [...bad].sort() }, bad: badClaims, checked };
}
