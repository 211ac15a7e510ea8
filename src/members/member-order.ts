import type { LocatedMemberEvent } from './member-schema.js';

/**
 * The one order in which every client folds the member events it holds (ADR-0021): a
 * topological order of "had seen" (a precedes b when b's writer had folded a's segment: the
 * same log at an earlier position, or `b.seen[a.writer] >= a.seq`), ties broken by event id,
 * then position. It is a function of the set of events alone, never of their arrival order.
 *
 * `seen` is the writer's claim; a hostile writer can claim to have seen segments that do not
 * exist yet, and so make a cycle. When no event is ready, the smallest remaining one goes next:
 * still a function of the set.
 */
export function computeMemberOrder(events: readonly LocatedMemberEvent[]): LocatedMemberEvent[] {
  const unique = [...dedupeByLocation(events).values()].sort(compareTie);
  const n = unique.length;
  const waitingOn = new Array<number>(n).fill(0);
  const successors: number[][] = unique.map(() => []);
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      if (a !== b && precedes(unique[a]!, unique[b]!)) {
        successors[a]!.push(b);
        waitingOn[b]! += 1;
      }
    }
  }
  const placed = new Array<boolean>(n).fill(false);
  const out: LocatedMemberEvent[] = [];
  while (out.length < n) {
    let next = -1;
    for (let i = 0; i < n && next < 0; i++) if (!placed[i] && waitingOn[i] === 0) next = i;
    if (next < 0) next = placed.indexOf(false); // a cycle of claimed `seen`: smallest first
    placed[next] = true;
    out.push(unique[next]!);
    for (const s of successors[next]!) waitingOn[s]! -= 1;
  }
  return out;
}

/** True when `b`'s writer had folded `a` when it wrote `b`. */
export function precedes(a: LocatedMemberEvent, b: LocatedMemberEvent): boolean {
  if (a.writer === b.writer) return a.seq < b.seq || (a.seq === b.seq && a.index < b.index);
  return computeSeenOf(b, a.writer) >= a.seq;
}

/**
 * How far `e`'s writer had folded `client`'s log; of its own log, up to `e`'s segment, so a
 * change of its own role (upTo = its seq) applies from its next segment on.
 */
export function computeSeenOf(e: LocatedMemberEvent, client: string): number {
  if (client === e.writer) return e.seq;
  return Object.hasOwn(e.seen, client) ? (e.seen[client] ?? 0) : 0;
}

/** The key of an event's place: one writer, segment and index hold one event. */
export function locationKey(e: LocatedMemberEvent): string {
  return `${e.writer}/${e.seq}/${e.index}`;
}

/** The same segment folded twice is one event (idempotence); a canonical pick if they differ. */
function dedupeByLocation(events: readonly LocatedMemberEvent[]): Map<string, LocatedMemberEvent> {
  const byKey = new Map<string, LocatedMemberEvent>();
  for (const e of events) {
    const key = locationKey(e);
    const known = byKey.get(key);
    if (known === undefined || canonical(e) < canonical(known)) byKey.set(key, e);
  }
  return byKey;
}

function canonical(e: LocatedMemberEvent): string {
  const seen = Object.entries(e.seen).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const ev = Object.entries(e.event).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([seen, ev]);
}

function compareTie(a: LocatedMemberEvent, b: LocatedMemberEvent): number {
  return cmp(a.event.id, b.event.id) || cmp(a.writer, b.writer) || a.seq - b.seq || a.index - b.index;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
