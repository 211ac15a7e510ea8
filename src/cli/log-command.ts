import { BmError, ErrorCode } from '../errors.js';
import type { VersionRecord } from '../projections/version-record.js';
import { clientNames, loadProjection, withLocal } from '../client/client-queries.js';
import { describeVersion } from '../client/describe-records.js';
import { ExitCode } from './exit-codes.js';
import { readPathHistory } from './history-commands.js';
import { type ChangeKind, computeChangeKind, computeRecordedMove, formatLogLine, type MoveNote } from './log-lines.js';
import type { LogFlags } from './options.js';
import type { Output } from './output.js';
import { mustTimeSpec } from '../client/time-spec.js';

/** The one client id `--client` names (an id, any case, or a name); a usage error for none or several. */
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

type LogEvent = ReturnType<typeof describeVersion> & { path: string; seq: number; change: ChangeKind; move: MoveNote | null };

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

/** A merge's parents and base, on a line of its own under the event's (ADR-0020). */
function describeMerge(e: LogEvent): string[] {
  if (!e.merge) return [];
  return [`            merge of ${e.merge.parents.join(' + ')} (base ${e.merge.base ?? 'none'}, ${e.merge.algo})`];
}

/** `bm-log log [PATH|FOLDER/] [--client C] [--since T] [--until T] [--limit N]`: the events, newest first. */
export async function runLogCommand(pathArg: string | undefined, o: LogFlags, out: Output): Promise<number> {
  const now = Date.now();
  const since = o.since === undefined ? undefined : mustTimeSpec(o.since, '--since', now);
  const until = o.until === undefined ? undefined : mustTimeSpec(o.until, '--until', now);
  return withLocal(o.dir, async (s) => {
    const want = pathArg?.replace(/^\.\//, '');
    const single = want !== undefined && !want.endsWith('/');
    const { versions, names: earlier } = single
      ? await readPathHistory(s, want)
      : { versions: (await loadProjection(s)).versions, names: undefined };
    const names = await clientNames(s);
    const client = o.client === undefined ? undefined : mustClientId(names, o.client);
    const list = computeLogVersions(versions, { want, client, since, until, limit: o.limit, ...(earlier ? { names: earlier } : {}) });
    const { history, byId } = indexVersions(versions);
    const events: LogEvent[] = list.map((v) => {
      const move = computeRecordedMove(v);
      return { path: v.path, ...describeVersion(v, names), seq: v.seq, change: computeChangeKind(v, move, history, byId), move };
    });
    const lines = (e: LogEvent) => [formatLogLine({ ...e, who: e.clientName ?? e.client }, now), ...describeMerge(e)];
    out.result(o.json, { events }, () => (events.length === 0 ? ['no events'] : events.flatMap(lines)));
    return ExitCode.ok;
  });
}
