import { BmError, ErrorCode } from '../errors.js';
import type { VersionRecord } from '../projections/version-record.js';
import { clientNames, loadProjection, withLocal } from './client-queries.js';
import { describeVersion } from './describe-records.js';
import { ExitCode } from './exit-codes.js';
import { readPathHistory } from './history-commands.js';
import { displayName } from './human-text.js';
import type { LogFlags } from './options.js';
import type { Output } from './output.js';

/** `--since`/`--until` as milliseconds; a usage error for anything but an ISO 8601 time. */
function parseTime(t: string | undefined, flag: string): number | undefined {
  if (t === undefined) return undefined;
  const ms = Date.parse(t);
  if (Number.isNaN(ms))
    throw new BmError(ErrorCode.usage, `${flag} ${JSON.stringify(t)} is not an ISO 8601 time`, 'for example: --since 2026-11-01T00:00:00Z');
  return ms;
}

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
  readonly client: string | undefined;
  readonly since: number | undefined;
  readonly until: number | undefined;
  readonly limit: number | undefined;
}

/** The versions the filter keeps, newest first (ties: the greater id first). Pure. */
function computeLogVersions(versions: readonly VersionRecord[], f: LogFilter): VersionRecord[] {
  const { want, since, until } = f;
  return versions
    .filter((v) => want === undefined || v.path === want || (want.endsWith('/') && v.path.startsWith(want)))
    .filter((v) => f.client === undefined || v.client === f.client)
    .filter((v) => (since === undefined || Date.parse(v.time) >= since) && (until === undefined || Date.parse(v.time) < until))
    .sort((a, b) => (a.time === b.time ? (a.id < b.id ? 1 : -1) : a.time < b.time ? 1 : -1))
    .slice(0, f.limit ?? Infinity);
}

type LogEvent = ReturnType<typeof describeVersion> & { path: string; seq: number; move: { from: string; to: string } | null };

function summarizeEvent(e: LogEvent): string {
  const content = e.hash ? `  sha256 ${e.hash}  ${e.size} B` : '';
  const replaces = e.replaces.length ? `  replaces ${e.replaces.join(',')}` : '';
  const move = e.move ? `  (move ${displayName(e.move.from)} -> ${displayName(e.move.to)})` : '';
  const who = displayName(e.clientName ?? e.client);
  const merge = e.merge ? `  merge of ${e.merge.parents.join(' + ')} (base ${e.merge.base ?? 'none'}, ${e.merge.algo})` : '';
  return `${e.time}  ${e.type.padEnd(9)} ${displayName(e.path)}  by ${who}  v ${e.version}${content}${replaces}${merge}  seen ${JSON.stringify(e.seen)}${move}`;
}

/** `bm-log log [PATH|FOLDER/] [--client C] [--since T] [--until T] [--limit N]`: the events, newest first. */
export async function runLogCommand(pathArg: string | undefined, o: LogFlags, out: Output): Promise<number> {
  const since = parseTime(o.since, '--since');
  const until = parseTime(o.until, '--until');
  return withLocal(o.dir, async (s) => {
    const want = pathArg?.replace(/^\.\//, '');
    const single = want !== undefined && !want.endsWith('/');
    const { versions, moves } = single
      ? await readPathHistory(s, want)
      : { versions: (await loadProjection(s)).versions, moves: new Map<string, { from: string; to: string }>() };
    const names = await clientNames(s);
    const client = o.client === undefined ? undefined : mustClientId(names, o.client);
    const list = computeLogVersions(versions, { want, client, since, until, limit: o.limit });
    const events: LogEvent[] = list.map((v) => ({ path: v.path, ...describeVersion(v, names), seq: v.seq, move: moves.get(v.id) ?? null }));
    out.result(o.json, { events }, () => (events.length === 0 ? ['no events'] : events.map(summarizeEvent)));
    return ExitCode.ok;
  });
}
