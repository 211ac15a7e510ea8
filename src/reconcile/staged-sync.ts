import { compareUtf8 } from '../events/sync-path.js';
import { ConflictKind, noticeOwner, type ConflictNote, type Notice, type Plan } from './plan-sync.js';

/**
 * A first sync in stages (ADR-0011): a client with no manifest row plans, executes and
 * commits the paths of one range at a time, and lets each range go before the next, instead
 * of folding and planning every path at once.
 */

/** Paths per stage by default: ~5 MB of states, rows and ops at a time. */
export const STAGE_PATHS = 2000;

/** The paths in [from, to) in `compareUtf8` order (open ends where undefined). */
export interface Stage {
  readonly from: string | undefined;
  readonly to: string | undefined;
}

/**
 * Cuts the union of the local paths and the paths the log names (`cloud`, in `compareUtf8`
 * order, each once) into ranges of `size` paths; at least one stage, the last open-ended.
 * Also returns the local paths sorted, for `takeLocalPaths`.
 */
export async function computeStages(
  local: Iterable<string>,
  cloud: AsyncIterable<string>,
  size: number,
): Promise<{ stages: Stage[]; local: string[] }> {
  const sorted = [...local].sort(compareUtf8);
  const stages: Stage[] = [];
  const it = cloud[Symbol.asyncIterator]();
  let c = await it.next();
  let from: string | undefined;
  let count = 0;
  for (let i = 0; ; ) {
    const l = sorted[i];
    const cv = c.done === true ? undefined : c.value;
    if (l === undefined && cv === undefined) break;
    const order = l === undefined ? 1 : cv === undefined ? -1 : compareUtf8(l, cv);
    const next = order <= 0 ? l! : cv!;
    if (order <= 0) i++;
    if (order >= 0) c = await it.next();
    if (count >= size) {
      stages.push({ from, to: next });
      from = next;
      count = 0;
    }
    count++;
  }
  stages.push({ from, to: undefined });
  return { stages, local: sorted };
}

/** True when `p` is in `stage`'s range. */
export function isInStage(p: string, stage: Stage): boolean {
  return (stage.from === undefined || compareUtf8(p, stage.from) >= 0) && (stage.to === undefined || compareUtf8(p, stage.to) < 0);
}

/**
 * The conflicts and notices of a sync in stages, as one plan of every path would list them:
 * each stage's last plan says what holds for the paths it planned (replacing what an earlier
 * stage said of them), and the list is in plan order, by the path each belongs to. Twins are
 * computed once at the end, over every path (`computeTwinConflicts`).
 */
export class StageNotes {
  private readonly byOwner = new Map<string, { conflicts: ConflictNote[]; notices: Notice[] }>();

  take(plan: Pick<Plan, 'conflicts' | 'notices'>, planned: Iterable<string>): void {
    for (const p of planned) this.byOwner.delete(p);
    const fresh = new Map<string, { conflicts: ConflictNote[]; notices: Notice[] }>();
    const entry = (owner: string) => {
      let e = fresh.get(owner);
      if (e === undefined) fresh.set(owner, (e = { conflicts: [], notices: [] }));
      return e;
    };
    for (const c of plan.conflicts) if (c.kind !== ConflictKind.twins) entry(c.path).conflicts.push(c);
    for (const n of plan.notices) entry(noticeOwner(n)).notices.push(n);
    for (const [owner, e] of fresh) this.byOwner.set(owner, e);
  }

  /** Every conflict, then `twins`. */
  conflicts(twins: readonly ConflictNote[]): ConflictNote[] {
    return [...this.sorted().flatMap((e) => e.conflicts), ...twins];
  }

  notices(): Notice[] {
    return this.sorted().flatMap((e) => e.notices);
  }

  private sorted(): { conflicts: ConflictNote[]; notices: Notice[] }[] {
    return [...this.byOwner].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
  }
}
