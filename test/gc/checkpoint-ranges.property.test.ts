import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EncodedPaths, encodeWriterCheckpointParts } from '../../src/events/checkpoint-parts.js';
import { computeCheckpointBody, type WriterCheckpointBody, type WriterPath } from '../../src/events/checkpoint-schema.js';
import { encodeWriterCheckpoint } from '../../src/events/codec.js';
import type { ClientId, VersionId } from '../../src/events/ids.js';
import type { SegmentBody } from '../../src/events/schema.js';
import { sha256Hex } from '../../src/events/signing.js';
import { compareUtf8, type SyncPath } from '../../src/events/sync-path.js';
import {
  computeWriterCheckpoint,
  type CheckpointCoverage,
  type OwnCheckpointInput,
} from '../../src/projections/compute-writer-checkpoint.js';
import { isCovered } from '../../src/projections/project-vault.js';
import type { PathState } from '../../src/projections/project-paths.js';
import { computeCheckpointInRanges, type CheckpointSources } from '../../src/reconcile/own-checkpoint-ranges.js';
import { key, play, stepArb } from './support/checkpoint-model.js';
import { LogBuilder } from './support/log-builder.js';

// A sync computes its writer checkpoint a range of paths at a time and encodes it as it goes
// (ADR-0029): the bytes must be those of the checkpoint computed from the whole fold and
// encoded at once (ADR-0014's format and rules, unchanged).

/** The index a sync reads ranges from, over a fold: paths in UTF-8 byte order, as LevelDB keys them. */
function sourcesOf(paths: ReadonlyMap<SyncPath, PathState>, own: readonly SegmentBody[]): CheckpointSources {
  const sorted = [...paths.keys()].sort(compareUtf8);
  const inRange = (p: string, from?: string, to?: string) =>
    (from === undefined || compareUtf8(p, from) >= 0) && (to === undefined || compareUtf8(p, to) < 0);
  return {
    own: async function* () {
      yield* own;
    },
    paths: async function* () {
      yield* sorted;
    },
    readRange: async (from, to) => new Map([...paths].filter(([p]) => inRange(p, from, to))),
    readStates: async (list) =>
      new Map([...list].flatMap((p) => (paths.has(p as SyncPath) ? [[p as SyncPath, paths.get(p as SyncPath)!]] : []))),
  };
}

/** The checkpoint of `client` at its latest segment, from the fold its segment has read, and its previous checkpoint. */
function inputAt(b: LogBuilder, client: ClientId, previous: WriterCheckpointBody | undefined, others: Map<string, CheckpointCoverage>) {
  const mine = b.segments.filter((s) => s.client === client);
  const segment = mine.at(-1)!;
  const state = b.state(b.segments.filter((s) => isCovered(s.client, s.seq, segment)));
  const input: OwnCheckpointInput = {
    vault: b.vault,
    client,
    segment,
    hash: sha256Hex(`${client}/${segment.seq}`),
    time: segment.time,
    previous,
    own: mine.filter((s) => s.seq > (previous?.seq ?? 0)),
    paths: state.paths,
    vaultState: state.vault,
    keyed: b.clients,
    coverage: others,
  };
  return input;
}

/** Both ways give the same bytes; returns the whole-fold body. */
async function expectSameBytes(input: OwnCheckpointInput, rangePaths: number): Promise<WriterCheckpointBody> {
  const body = computeWriterCheckpoint(input);
  const whole = encodeWriterCheckpoint(body, key.privateKey).bytes;
  const facts = { ...input, seq: input.segment.seq };
  const ranged = await computeCheckpointInRanges(facts, sourcesOf(input.paths, input.own), key.privateKey, rangePaths);
  expect(ranged).toBeDefined();
  expect(Buffer.from(ranged!.bytes).equals(Buffer.from(whole))).toBe(true);
  const versions = body.paths.reduce((n, p) => n + p.versions.length, 0);
  const claims = body.paths.reduce((n, p) => n + p.replaced.length, 0) + body.collected.reduce((n, c) => n + c.versions.length, 0);
  expect(ranged).toMatchObject({ paths: body.paths.length, versions, claims });
  return body;
}

/** Paths whose byte order and UTF-16 order agree, some prefixes of others, some not ASCII. */
const POOL = ['a', 'a b', 'a.md', 'a/b', 'a/b/c.md', 'A', 'b', 'é', 'é/x', 'z', '中文.md', 'ÿ', 'aa'] as const;

type Op = { writer: number; path: number; kind: 'put' | 'tombstone'; replace: number } | { writer: number; kind: 'checkpoint' };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      writer: fc.nat(2),
      path: fc.nat(POOL.length - 1),
      kind: fc.constantFrom('put' as const, 'tombstone' as const),
      replace: fc.nat(15),
    }),
  },
  { weight: 1, arbitrary: fc.record({ writer: fc.nat(2), kind: fc.constant('checkpoint' as const) }) },
);

describe('a writer checkpoint computed in ranges (ADR-0029)', () => {
  it('gives the bytes of the whole-fold checkpoint: random edits by three writers over many paths, with previous checkpoints', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 5 }), async (ops, rangePaths) => {
        const b = LogBuilder.withClients(3);
        const latest = new Map<ClientId, WriterCheckpointBody>();
        const coverageFor = (c: ClientId) =>
          new Map([...latest].filter(([w]) => w !== c).map(([w, cp]) => [w as string, { seq: cp.seq, seen: cp.segment.seen }]));
        let t = Date.parse('2026-12-01T00:00:00Z');
        for (const op of ops) {
          const client = b.clients[op.writer]!;
          t += 1000;
          if (op.kind === 'checkpoint') {
            b.segment(client, [], t); // the acknowledgement it stands on
            latest.set(client, await expectSameBytes(inputAt(b, client, latest.get(client), coverageFor(client)), rangePaths));
            continue;
          }
          const path = POOL[op.path]!;
          const known = [
            ...(b
              .state()
              .paths.get(path as SyncPath)
              ?.versions.keys() ?? []),
          ].filter((_, i) => (op.replace >> i) & 1);
          b.segment(
            client,
            [op.kind === 'put' ? b.put(path, `${path}@${t}`, known as VersionId[]) : b.tombstone(path, known as VersionId[])],
            t,
          );
        }
        for (const client of b.clients) {
          if (!b.segments.some((s) => s.client === client)) continue;
          b.segment(client, [], (t += 1000));
          await expectSameBytes(inputAt(b, client, latest.get(client), coverageFor(client)), rangePaths);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('gives the bytes of the whole-fold checkpoint on the checkpoint model (collections, condemnations, retirements, lagging reads)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 3 }), async (steps, rangePaths) => {
        const p = play(steps);
        for (const client of p.b.clients) {
          const previous = p.checkpoints.get(client)?.at(-1);
          const coverage = new Map<string, CheckpointCoverage>();
          for (const [c, list] of p.checkpoints)
            if (c !== client) coverage.set(c, { seq: list.at(-1)!.seq, seen: list.at(-1)!.segment.seen });
          p.b.segment(client, [], Date.parse('2027-01-01T00:00:00Z'));
          await expectSameBytes(inputAt(p.b, client, previous, coverage), rangePaths);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('leaves a vault whose paths the index orders otherwise than the checkpoint to the whole fold (a character at or above U+D800)', async () => {
    const b = LogBuilder.withClients(1);
    const client = b.clients[0]!;
    b.segment(client, [b.put('\uE000.md', 'x'), b.put('😀.md', 'y')], Date.parse('2026-12-01T00:00:00Z'));
    const input = inputAt(b, client, undefined, new Map());
    const ranged = await computeCheckpointInRanges({ ...input, seq: 1 }, sourcesOf(input.paths, input.own), key.privateKey, 1);
    expect(ranged).toBeUndefined();
    expect(computeWriterCheckpoint(input).paths.map((e) => e.path)).toEqual(['😀.md', '\uE000.md']); // UTF-16 order
  });

  it('encodes paths in parts to the bytes of the whole body, whatever the size of the list header (0 to 65,536 paths)', () => {
    const b = LogBuilder.withClients(1);
    const client = b.clients[0]!;
    const segment = b.segment(client, [], Date.parse('2026-12-01T00:00:00Z'));
    const input = inputAt(b, client, undefined, new Map());
    const { paths: _none, ...rest } = computeWriterCheckpoint({ ...input, segment });
    for (const n of [0, 1, 15, 16, 65_535, 65_536]) {
      const paths: WriterPath[] = Array.from({ length: n }, (_, i) => ({
        path: `p${String(i).padStart(6, '0')}` as SyncPath,
        versions: [],
        replaced: [{ id: '01V0000000000000000000000A' as VersionId, seq: 1 }],
      }));
      const parts = new EncodedPaths();
      for (let i = 0; i < n; i += 7000) parts.add(paths.slice(i, i + 7000), rest.seq);
      const whole = encodeWriterCheckpoint(computeCheckpointBody(rest, paths), key.privateKey).bytes;
      expect(Buffer.from(encodeWriterCheckpointParts(rest, parts, key.privateKey)).equals(Buffer.from(whole)), `${n} paths`).toBe(true);
    }
  });
});
