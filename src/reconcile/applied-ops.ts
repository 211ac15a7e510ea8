import type { PlanOp, PlanOpKind } from './plan-sync.js';

/** Every op kind at 0. */
export function zeroCounts(): Record<PlanOpKind, number> {
  return {
    upload: 0,
    tombstone: 0,
    resolve: 0,
    merge: 0,
    follow: 0,
    download: 0,
    deleteLocal: 0,
    writeCopy: 0,
    removeCopy: 0,
    record: 0,
    forget: 0,
  };
}

/**
 * The ops a sync carried out, for its report: every op counted by kind, and the ops themselves
 * kept, all of them or up to `keep` (`SyncOptions.keepApplied`).
 *
 * A first sync of 100,000 files carries out 100,000 ops; kept whole, with each op's file,
 * they were ~33 MB of the sync's heap at its end, most of the live set of a staged first
 * sync (ADR-0011). When bounded, every local delete is still kept (each is printed with the
 * command that restores it), `record` and `forget` (bookkeeping nobody is shown) are only
 * counted, and the other ops are kept up to `keep`; `omitted` counts the rest.
 */
export class AppliedOps {
  readonly counts = zeroCounts();
  readonly kept: PlanOp[] = [];
  omitted = 0;
  private shown = 0;

  /** `onOp` sees every op pushed, kept or not. */
  constructor(
    private readonly keep: number = Infinity,
    private readonly onOp?: (op: PlanOp) => void,
  ) {}

  push(op: PlanOp): void {
    this.counts[op.kind]++;
    this.onOp?.(op);
    if (this.keep === Infinity || op.kind === 'deleteLocal') {
      this.kept.push(op);
    } else if (op.kind === 'record' || op.kind === 'forget' || this.shown >= this.keep) {
      this.omitted++;
    } else {
      this.shown++;
      this.kept.push(op);
    }
  }
}

/** `ops` counted by kind. */
export function countKinds(ops: Iterable<PlanOp>): Record<PlanOpKind, number> {
  const counts = zeroCounts();
  for (const op of ops) counts[op.kind]++;
  return counts;
}
