import { describe, expect, it } from 'vitest';
import type { ContentHash } from '../../src/events/ids.js';
import type { GcEvent } from '../../src/events/schema.js';
import { planGc, type GcInput } from '../../src/gc/plan-gc.js';
import { computeCondemnedRefs, computeNamingBan } from '../../src/projections/blob-condemnation.js';
import { computeHeads } from '../../src/projections/project-paths.js';
import { computeAckFrontier, isAckDue } from '../../src/projections/project-vault.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { hashOf, LogBuilder } from './support/log-builder.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-11-01T00:00:00.000Z');

function gcEvent(b: LogBuilder, over: Partial<GcEvent>): GcEvent {
  return { type: 'gc', id: b.id(), retentionMs: 0, graceMs: 1000, frontier: {}, collected: [], condemned: [], deleted: [], ...over };
}

function input(b: LogBuilder, over: Partial<GcInput> = {}): GcInput {
  return {
    state: b.state(),
    keyed: b.clients,
    blobs: new Set<ContentHash>(),
    nowMs: T0 + 40 * DAY,
    retentionMs: 30 * DAY,
    graceMs: 3_600_000,
    ...over,
  };
}

/** alice writes a.md and deletes it; bob acknowledges what it sees when it publishes. */
function deletedFile(b: LogBuilder, bobAcks: boolean) {
  const [alice, bob] = b.clients as [never, never];
  const put = b.put('a.md', 'old bytes');
  b.segment(alice, [put], T0);
  const tomb = b.tombstone('a.md', [put.id]);
  b.segment(alice, [tomb], T0 + DAY);
  b.segment(bob, [], T0 + DAY + 1, bobAcks ? { [alice]: 2 } : { [alice]: 1 });
  return { put, tomb };
}

describe('computeAckFrontier and acknowledgements', () => {
  it('is, per client, the lowest acknowledgement among the active clients', () => {
    const b = LogBuilder.withClients(3);
    const [a, c, d] = b.clients as [never, never, never];
    b.segment(a, [b.put('x', '1')], T0);
    b.segment(a, [b.put('y', '2')], T0);
    b.segment(c, [], T0, { [a]: 2 });
    b.segment(d, [], T0, { [a]: 1 });
    const { vault } = b.state();
    expect(computeAckFrontier(vault.latest, new Set([a, c, d])).get(a)).toBe(1);
    expect(computeAckFrontier(vault.latest, new Set([a, c])).get(a)).toBe(2);
    // A client that never published acknowledges nothing.
    const e = '01ZZZZZZZZZZZZZZZZZZZZZZZZ' as never;
    expect(computeAckFrontier(vault.latest, new Set([a, c, e])).get(a)).toBe(0);
  });

  it('makes an acknowledgement due for folded events only, never for acknowledgements', () => {
    const b = LogBuilder.withClients(2);
    const [a, c] = b.clients as [never, never];
    b.segment(a, [b.put('x', '1')], T0);
    expect(isAckDue(b.state().vault, c)).toBe(true);
    b.segment(c, [], T0);
    expect(isAckDue(b.state().vault, c)).toBe(false);
    // a sees c's acknowledgement: nothing due for a (no ping-pong).
    expect(isAckDue(b.state().vault, a)).toBe(false);
  });
});

describe('planGc: tombstones', () => {
  it('collects a delete every active client acknowledged, once older than the retention', () => {
    const b = LogBuilder.withClients(2);
    const { put, tomb } = deletedFile(b, true);
    expect(planGc(input(b)).collect).toEqual([{ path: 'a.md', versions: [put.id, tomb.id].sort() }]);
    expect(planGc(input(b, { nowMs: T0 + 20 * DAY })).collect).toEqual([]);
  });

  it('keeps a delete some active client has not acknowledged, until that client is retired', () => {
    const b = LogBuilder.withClients(2);
    deletedFile(b, false);
    expect(planGc(input(b)).collect).toEqual([]);
    const [alice, bob] = b.clients as [never, never];
    b.segment(alice, [{ type: 'retire', id: b.id(), client: bob }], T0 + 2 * DAY);
    expect(planGc(input(b)).collect.map((c) => c.path)).toEqual(['a.md']);
  });

  it('never collects a path with a live head, and a collected path has no heads', () => {
    const b = LogBuilder.withClients(2);
    const [alice, bob] = b.clients as [never, never];
    const { put, tomb } = deletedFile(b, true);
    b.segment(bob, [b.put('b.md', 'live')], T0 + 2 * DAY);
    b.segment(alice, [], T0 + 2 * DAY);
    const plan = planGc(input(b));
    expect(plan.collect.map((c) => c.path)).toEqual(['a.md']);
    b.segment(alice, [gcEvent(b, { collected: [{ path: 'a.md' as SyncPath, versions: [put.id, tomb.id] }] })], T0 + 3 * DAY);
    const st = b.state().paths;
    expect(computeHeads(st.get('a.md' as SyncPath)!)).toEqual([]);
    expect(computeHeads(st.get('b.md' as SyncPath)!)).toHaveLength(1);
    // A new version at a collected path is a head again (recreated), not collected.
    const again = b.put('a.md', 'new', []);
    b.segment(bob, [again], T0 + 4 * DAY);
    expect(computeHeads(b.state().paths.get('a.md' as SyncPath)!).map((h) => h.id)).toEqual([again.id]);
  });
});

describe('planGc: blobs', () => {
  it('condemns only blobs no version needs: heads, retention, unacknowledged and not-yet-replaced-for-everyone versions keep theirs', () => {
    const b = LogBuilder.withClients(2);
    const [alice, bob] = b.clients as [never, never];
    const v1 = b.put('a.md', 'v1');
    b.segment(alice, [v1], T0);
    const v2 = b.put('a.md', 'v2', [v1.id]);
    b.segment(alice, [v2], T0 + 1);
    const blobs = new Set([hashOf('v1'), hashOf('v2'), hashOf('orphan')]);
    // bob has acknowledged only alice/1: v1 may still be a head for bob.
    b.segment(bob, [], T0 + 2, { [alice]: 1 });
    expect(planGc(input(b, { blobs })).condemn).toEqual([hashOf('orphan')]);
    b.segment(bob, [], T0 + 3, { [alice]: 2 });
    expect(planGc(input(b, { blobs })).condemn).toEqual([hashOf('v1'), hashOf('orphan')].sort());
    // Inside the retention window v1 stays.
    expect(planGc(input(b, { blobs, nowMs: T0 + DAY })).condemn).toEqual([hashOf('orphan')]);
  });

  it('deletes a condemned blob only after its grace, only while still unreferenced, and not after a deletion record closed that condemnation', () => {
    const b = LogBuilder.withClients(2);
    const [alice, bob] = b.clients as [never, never];
    b.segment(alice, [b.put('keep.md', 'keep')], T0);
    b.segment(bob, [], T0);
    const orphan = hashOf('orphan');
    const blobs = new Set([orphan, hashOf('keep')]);
    const tc = T0 + 40 * DAY;
    b.segment(alice, [gcEvent(b, { condemned: [orphan], graceMs: 1000 })], tc);
    expect(planGc(input(b, { blobs, nowMs: tc + 999 })).delete).toEqual([]);
    expect(planGc(input(b, { blobs, nowMs: tc + 999 })).condemn).toEqual([]);
    const due = planGc(input(b, { blobs, nowMs: tc + 1000 })).delete;
    expect(due.map((d) => [d.hash, d.deadlineMs])).toEqual([[orphan, tc + 1500]]);
    // bob names the blob in an event alice's gc had not seen: the condemnation is void.
    const voided = b.fork();
    voided.segment(bob, [voided.put('o.md', 'orphan')], tc + 10, { [alice]: 1 });
    expect(planGc(input(voided, { blobs, nowMs: tc + 1000 })).delete).toEqual([]);
    // A run records the deletion: no later run deletes on that condemnation again, and a blob
    // with these bytes uploaded again is condemned afresh.
    b.segment(bob, [gcEvent(b, { deleted: [orphan] })], tc + 1200);
    expect(planGc(input(b, { blobs, nowMs: tc + 5000 })).delete).toEqual([]);
    expect(planGc(input(b, { blobs, nowMs: tc + 5000 })).condemn).toEqual([orphan]);
  });

  it('bans naming a blob condemned more than grace/2 ago until a deletion record is older than the grace', () => {
    const b = LogBuilder.withClients(2);
    const [alice, bob] = b.clients as [never, never];
    const orphan = hashOf('orphan');
    const tc = T0;
    b.segment(alice, [gcEvent(b, { condemned: [orphan], graceMs: 1000 })], tc);
    const ban = (now: number) => {
      const s = b.state();
      return computeNamingBan(orphan, now, s.vault, computeCondemnedRefs(s.paths, s.vault)) !== undefined;
    };
    expect(ban(tc + 500)).toBe(false);
    expect(ban(tc + 501)).toBe(true);
    b.segment(bob, [gcEvent(b, { deleted: [orphan] })], tc + 1100);
    expect(ban(tc + 2100)).toBe(true);
    expect(ban(tc + 2101)).toBe(false);
    // A condemnation with grace 0 (the unprotected mode) bans nothing.
    const c = LogBuilder.withClients(1);
    c.segment(c.clients[0]!, [gcEvent(c, { condemned: [orphan], graceMs: 0 })], tc);
    const s = c.state();
    expect(computeNamingBan(orphan, tc + 10_000, s.vault, computeCondemnedRefs(s.paths, s.vault))).toBeUndefined();
  });
});
