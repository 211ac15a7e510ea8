import { counterIdFactory, type ClientId, type ContentHash, type VaultId, type VersionId } from '../../../src/events/ids.js';
import type { Event, SegmentBody } from '../../../src/events/schema.js';
import { sha256Hex } from '../../../src/events/signing.js';
import type { SyncPath } from '../../../src/events/sync-path.js';
import { createLogState, projectLogSegment, type LogState } from '../../../src/projections/project-log.js';

/**
 * Builds segment bodies of several clients by hand (unsigned: the folds never look at
 * signatures), for tests of the pure GC and checkpoint code. Each client's `seen` is, by
 * default, everything published before its segment.
 */
export class LogBuilder {
  readonly vault = '01VA000000000000000000000V' as VaultId;
  readonly segments: SegmentBody[] = [];
  private ids = counterIdFactory('01V');
  private readonly seqs = new Map<ClientId, number>();

  constructor(readonly clients: readonly ClientId[]) {}

  static withClients(n: number): LogBuilder {
    const ids = counterIdFactory('01CQ');
    return new LogBuilder(Array.from({ length: n }, () => ids() as ClientId));
  }

  /** A copy that shares the id counter, so both branches mint distinct ids. */
  fork(): LogBuilder {
    const f = new LogBuilder(this.clients);
    f.segments.push(...this.segments);
    for (const [c, s] of this.seqs) f.seqs.set(c, s);
    f.ids = this.ids;
    return f;
  }

  id(): VersionId {
    return this.ids() as VersionId;
  }

  /** The latest seq of every client, as a `seen` frontier (optionally without `self`). */
  frontier(self?: ClientId): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [c, s] of this.seqs) if (c !== self) out[c] = s;
    return out;
  }

  /** Appends a segment of `client` with `events`; `time` is ms since the epoch. */
  segment(client: ClientId, events: Event[], time: number, seen: Record<string, number> = this.frontier(client)): SegmentBody {
    const seq = (this.seqs.get(client) ?? 0) + 1;
    this.seqs.set(client, seq);
    const body: SegmentBody = {
      v: 1,
      vault: this.vault,
      client,
      seq,
      prev: seq === 1 ? null : (sha256Hex(`${client}${seq - 1}`) as ContentHash),
      time: new Date(time).toISOString(),
      seen,
      snapshot: null,
      events,
    };
    this.segments.push(body);
    return body;
  }

  put(path: string, bytes: string, replaces: VersionId[] = []): Event & { type: 'put' } {
    return {
      type: 'put',
      id: this.id(),
      path: path as SyncPath,
      replaces,
      content: { hash: sha256Hex(bytes) as ContentHash, size: bytes.length, mode: 0o644 },
    };
  }

  tombstone(path: string, replaces: VersionId[]): Event & { type: 'tombstone' } {
    return { type: 'tombstone', id: this.id(), path: path as SyncPath, replaces };
  }

  state(segments: readonly SegmentBody[] = this.segments): LogState {
    const s = createLogState();
    for (const b of segments) projectLogSegment(s, b);
    return s;
  }
}

export const hashOf = (bytes: string) => sha256Hex(bytes) as ContentHash;
