import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppliedOps, countKinds } from '../../src/reconcile/applied-ops.js';
import type { PlanOp, PlanOpKind } from '../../src/reconcile/plan-sync.js';

const KINDS: PlanOpKind[] = ['upload', 'tombstone', 'resolve', 'download', 'deleteLocal', 'writeCopy', 'removeCopy', 'record', 'forget'];
// Only `kind` and `path` matter to AppliedOps.
const op = (kind: PlanOpKind, i: number) => ({ kind, path: `p${i}` }) as unknown as PlanOp;
const arbOps = fc.array(fc.constantFrom(...KINDS), { maxLength: 60 }).map((ks) => ks.map(op));

describe('AppliedOps (the report of the ops a sync carried out)', () => {
  it('counts every op; keeps every local delete and, in order, the first `keep` ops anyone is shown', () => {
    fc.assert(
      fc.property(arbOps, fc.option(fc.nat(20), { nil: undefined }), (ops, keep) => {
        const a = new AppliedOps(keep);
        for (const o of ops) a.push(o);
        expect(a.counts).toEqual(countKinds(ops));
        expect(a.kept.length + a.omitted).toBe(ops.length);
        if (keep === undefined) {
          expect(a.kept).toEqual(ops);
          return;
        }
        const shown: readonly PlanOp[] = ops
          .filter((o) => o.kind !== 'record' && o.kind !== 'forget' && o.kind !== 'deleteLocal')
          .slice(0, keep);
        expect(a.kept).toEqual(ops.filter((o) => o.kind === 'deleteLocal' || shown.includes(o)));
      }),
    );
  });
});
