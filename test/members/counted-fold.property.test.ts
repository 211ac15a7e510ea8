/**
 * The fold with members (ADR-0021), property-tested on generated histories: N clients write
 * segments holding member events (by admins, writers, readers, removed and never-admitted
 * clients alike, see member-histories.ts) and a file write each. Whatever order a client folds
 * them in, and however many times it sees a segment, it gets the same tree; and no write from
 * a place where its writer may not write (never admitted, beyond its removal's cut, a reader)
 * reaches the projection, while every write from a place where it may does.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ContentHash, VaultId, VersionId } from '../../src/events/ids.js';
import type { Event, SegmentBody } from '../../src/events/schema.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { projectMembersOf } from '../../src/members/counted-events.js';
import { mayApply } from '../../src/members/may-apply.js';
import type { MemberState } from '../../src/members/project-members.js';
import { computeHeads } from '../../src/projections/project-paths.js';
import { createLogState, projectLogSegment } from '../../src/projections/project-log.js';
import { clients, genesis, historyArb, shuffle, type History } from './member-histories.js';

const VAULT = '01VAVLT0000000000000000000' as VaultId;

/** Every segment of the history, each with its member events and one put of its own. */
function segmentsOf(h: History): SegmentBody[] {
  const out: SegmentBody[] = [];
  clients.forEach((client, w) => {
    for (let seq = 1; seq <= h.lengths[w]!; seq++) {
      const located = h.events.filter((e) => e.writer === client && e.seq === seq).sort((a, b) => a.index - b.index);
      const seen = located[0]?.seen ?? {};
      const write: Event = {
        type: 'put',
        id: `01PVT${String(w)}${String(seq).padStart(20, '0')}` as VersionId,
        path: `f${seq % 3}.md` as SyncPath,
        replaces: [],
        content: { hash: '0'.repeat(64) as ContentHash, size: 0, mode: 0o644 },
      };
      const body: SegmentBody = {
        v: 2,
        vault: VAULT,
        client,
        seq,
        prev: null,
        time: '2026-12-07T00:00:00.000Z',
        seen,
        snapshot: null,
        events: [...located.map((e) => e.event), write],
      };
      out.push(body);
    }
  });
  return out;
}

/** The tree a client holding `bodies` (in this order) projects: per path, its versions and heads. */
function projectTree(bodies: readonly SegmentBody[]): { tree: string; members: MemberState } {
  const members = projectMembersOf(genesis, bodies);
  const state = createLogState();
  state.members = members;
  for (const b of bodies) projectLogSegment(state, b);
  const paths = [...state.paths.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  const tree = paths.map(([p, st]) => [
    p,
    [...st.versions.keys()].sort(),
    computeHeads(st)
      .map((v) => v.id)
      .sort(),
  ]);
  return { tree: JSON.stringify(tree), members };
}

const arb = fc.record({ history: historyArb, seedA: fc.integer(), seedB: fc.integer(), dupes: fc.array(fc.nat(), { maxLength: 5 }) });

describe('the fold with members', () => {
  it('gives the same tree in any fetch order and with segments seen twice', () => {
    fc.assert(
      fc.property(arb, ({ history, seedA, seedB, dupes }) => {
        const bodies = segmentsOf(history);
        const a = projectTree(shuffle(bodies, seedA));
        const twice = dupes.map((i) => bodies[i % Math.max(1, bodies.length)]!).filter((b) => b !== undefined);
        const b = projectTree(shuffle([...bodies, ...twice], seedB));
        expect(b.tree).toBe(a.tree);
      }),
      { numRuns: 300 },
    );
  });

  it('lets through exactly the writes of places where their writer may write', () => {
    let voided = 0;
    fc.assert(
      fc.property(arb, ({ history, seedA }) => {
        const bodies = segmentsOf(history);
        const { tree, members } = projectTree(shuffle(bodies, seedA));
        const present = new Set((JSON.parse(tree) as [string, string[], string[]][]).flatMap(([, versions]) => versions));
        for (const body of bodies) {
          const write = body.events.at(-1)!;
          const allowed = mayApply('put', { client: body.client, seq: body.seq }, members);
          if (!allowed) voided += 1;
          expect(present.has(write.id), `${body.client}/${body.seq}`).toBe(allowed);
        }
      }),
      { numRuns: 300 },
    );
    // The generator makes histories where writes are voided (else the property says little).
    expect(voided).toBeGreaterThan(100);
  });
});
