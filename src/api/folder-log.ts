import { BmError, ErrorCode } from '../errors.js';
import { openCountedHistory } from '../reconcile/member-state.js';
import type { VersionRecord } from '../projections/version-record.js';
import { type ChangeKind, computeChangeKind, computeRecordedMove, type MoveNote } from '../client/change-kind.js';
import { clientNames, loadProjection } from '../client/client-queries.js';
import type { LocalSession } from '../client/client-session.js';
import { describeVersion } from '../client/describe-records.js';
import { mustTimeSpec } from '../client/time-spec.js';

/*
 * The events of a folder, newest first, as `bm-log log` shows them and the API's `log`
 * returns them (issue 26, ADR-0028): filtered by path (following a file's recorded moves
 * back), folder, client and time, each with what it did to its path. From this client's own
 * records; nothing is fetched.
 */

/** Which events `log` returns. */
export interface LogOptions {
  /** Only this client's events: its id (any case) or its name. */
  readonly client?: string;
  /** Only events at or after this time (`2h`, `yesterday`, `2026-11-20T17:00`, as `bm-log log --since`). */
  readonly since?: string;
  /** Only events before this time (same forms). */
  readonly until?: string;
  /** At most this many events (the newest). */
  readonly limit?: number;
}

/** One event of the log: the version's record, what it did to its path, and the move it is half of. */
export type LogEvent = ReturnType<typeof describeVersion> & {
  readonly path: string;
  readonly seq: number;
  readonly change: ChangeKind;
  readonly move: MoveNote | null;
};

/** How many earlier names `log PATH` follows back (a chain of renames). */
const MAX_EARLIER_NAMES = 64;

/** The one client id `client` names (an id, any case, or a name); a usage error for none or several. */
function mustClientId(names: ReadonlyMap<string, string>, c: string): string {
  const ids = [...names].filter(([id, name]) => id === c.toUpperCase() || name === c).map(([id]) => id);
  if (ids.length !== 1) {
    throw new BmError(
      ErrorCode.usage,
      `${ids.length === 0 ? 'no' : 'more than one'} client matches ${JSON.stringify(c)}`,
      'see `bm-log status` for client ids and names',
    );
  }
  return ids[0]!;
}

interface LogFilter {
  /** A path, or a folder ending in `/`. */
  readonly want: string | undefined;
  /** A path's earlier names (moves followed back), shown with it. */
  readonly names?: ReadonlySet<string>;
  readonly client: string | undefined;
  readonly since: number | undefined;
  readonly until: number | undefined;
  readonly limit: number | undefined;
}

/** The versions the filter keeps, newest first (ties: the greater id first). Pure. */
function computeLogVersions(versions: readonly VersionRecord[], f: LogFilter): VersionRecord[] {
  const { want, since, until } = f;
  return versions
    .filter((v) => want === undefined || v.path === want || f.names?.has(v.path) || (want.endsWith('/') && v.path.startsWith(want)))
    .filter((v) => f.client === undefined || v.client === f.client)
    .filter((v) => (since === undefined || Date.parse(v.time) >= since) && (until === undefined || Date.parse(v.time) < until))
    .sort((a, b) => (a.time === b.time ? (a.id < b.id ? 1 : -1) : a.time < b.time ? 1 : -1))
    .slice(0, f.limit ?? Infinity);
}

/** The versions of each path, and every version by id: what computeChangeKind compares against. */
function indexVersions(versions: readonly VersionRecord[]) {
  const history = new Map<string, VersionRecord[]>();
  const byId = new Map<string, VersionRecord>();
  for (const v of versions) {
    byId.set(v.id, v);
    const same = history.get(v.path);
    if (same) same.push(v);
    else history.set(v.path, [v]);
  }
  return { history, byId };
}

/** Pure: the version `id` of one path's `history` and every version it descends from through `replaces`. */
export function computeAncestry(history: readonly VersionRecord[], id: string): VersionRecord[] {
  const byId = new Map(history.map((v) => [v.id as string, v]));
  const out = new Map<string, VersionRecord>();
  const stack = [id];
  while (stack.length > 0) {
    const v = byId.get(stack.pop()!);
    if (v === undefined || out.has(v.id)) continue;
    out.set(v.id, v);
    stack.push(...v.replaces);
  }
  return [...out.values()];
}

/**
 * For `log PATH`: the path's versions and, following the recorded moves back (ADR-0020), the
 * versions of the names it had before, up to the version each move continued. `names` holds the
 * path and its earlier names.
 */
export async function readPathHistory(
  s: Pick<LocalSession, 'index'>,
  p: string,
): Promise<{ versions: VersionRecord[]; names: Set<string> }> {
  const history = openCountedHistory(s.index); // only what counts in a members vault (ADR-0032)
  const versions = [...(await history(p))];
  const names = new Set([p]);
  let newest = versions;
  while (names.size < MAX_EARLIER_NAMES) {
    const earlier = newest.flatMap((v) => (v.from !== undefined && !names.has(v.from.path) ? [v.from] : []));
    if (earlier.length === 0) break;
    newest = [];
    for (const from of earlier) {
      names.add(from.path);
      newest.push(...computeAncestry(await history(from.path), from.version));
    }
    versions.push(...newest);
  }
  return { versions, names };
}

/**
 * The events of `path` (a file, following its moves back; a folder ending in `/`; or every
 * path), newest first, filtered as `o` asks; times are read against `now`.
 */
export async function listLog(s: LocalSession, path: string | undefined, o: LogOptions, now = Date.now()): Promise<LogEvent[]> {
  const since = o.since === undefined ? undefined : mustTimeSpec(o.since, 'since', now);
  const until = o.until === undefined ? undefined : mustTimeSpec(o.until, 'until', now);
  const want = path?.replace(/^\.\//, '');
  const single = want !== undefined && !want.endsWith('/');
  const { versions, names: earlier } = single
    ? await readPathHistory(s, want)
    : { versions: (await loadProjection(s)).versions, names: undefined };
  const names = await clientNames(s);
  const client = o.client === undefined ? undefined : mustClientId(names, o.client);
  const list = computeLogVersions(versions, { want, client, since, until, limit: o.limit, ...(earlier ? { names: earlier } : {}) });
  const { history, byId } = indexVersions(versions);
  return list.map((v) => {
    const move = computeRecordedMove(v);
    return { path: v.path, ...describeVersion(v, names), seq: v.seq, change: computeChangeKind(v, move, history, byId), move };
  });
}
