import type { VersionRecord } from '../projections/version-record.js';

// What an event did to its path (`bm-log log`, the web view's timeline). Pure.

/** What an event did to its path, as `log` names it. */
export const ChangeKind = {
  created: 'created',
  edited: 'edited',
  deleted: 'deleted',
  restored: 'restored',
  resolved: 'resolved',
  moved: 'moved',
} as const;
export type ChangeKind = (typeof ChangeKind)[keyof typeof ChangeKind];

/** A rename, as a move event recorded it (ADR-0020): the put `from` an old name, or the tombstone `to` a new one. */
export interface MoveNote {
  readonly from: string;
  readonly to: string;
}

/** Pure: the move `v` is half of, as recorded in it (format 2), or null. */
export function computeRecordedMove(v: VersionRecord): MoveNote | null {
  if (v.type === 'put' && v.from !== undefined) return { from: v.from.path, to: v.path };
  if (v.type === 'tombstone' && v.to !== undefined) return { from: v.path, to: v.to };
  return null;
}

/**
 * The kind of change of `v`, among the versions `byId` knows: a move when it is half of a
 * rename; for a put, `created` when it replaces nothing live (nothing, or only deletes)
 * unless its content is an earlier version's, `restored` when its content is that of an
 * earlier version of the path other than the ones it replaces, else `edited`.
 */
export function computeChangeKind(
  v: VersionRecord,
  move: MoveNote | null,
  history: ReadonlyMap<string, readonly VersionRecord[]>,
  byId: ReadonlyMap<string, VersionRecord>,
): ChangeKind {
  if (move) return ChangeKind.moved;
  if (v.type === 'tombstone') return ChangeKind.deleted;
  if (v.type === 'resolve') return ChangeKind.resolved;
  const hash = v.content?.hash;
  const replaced = v.replaces.map((id) => byId.get(id));
  const earlier = (history.get(v.path) ?? []).filter((o) => o.id < v.id && !v.replaces.includes(o.id));
  if (hash !== undefined && earlier.some((o) => o.content?.hash === hash) && !replaced.some((r) => r?.content?.hash === hash))
    return ChangeKind.restored;
  return replaced.some((r) => r === undefined || r.content !== null) ? ChangeKind.edited : ChangeKind.created;
}
