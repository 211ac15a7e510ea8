import { listLog, type LogEvent } from '../api/folder-log.js';
import { withLocal } from '../client/client-queries.js';
import { mustTimeSpec } from '../client/time-spec.js';
import { ExitCode } from './exit-codes.js';
import { formatLogLine } from './log-lines.js';
import type { LogFlags } from './options.js';
import type { Output } from './output.js';

/** A merge's parents and base, on a line of its own under the event's (ADR-0020). */
function describeMerge(e: LogEvent): string[] {
  if (!e.merge) return [];
  return [`            merge of ${e.merge.parents.join(' + ')} (base ${e.merge.base ?? 'none'}, ${e.merge.algo})`];
}

/** `bm-log log [PATH|FOLDER/] [--client C] [--since T] [--until T] [--limit N]`: the events (the API's `log`), newest first. */
export async function runLogCommand(pathArg: string | undefined, o: LogFlags, out: Output): Promise<number> {
  const now = Date.now();
  // A bad --since or --until is a usage error naming the flag, before the folder is opened.
  for (const [flag, spec] of [
    ['--since', o.since],
    ['--until', o.until],
  ] as const)
    if (spec !== undefined) mustTimeSpec(spec, flag, now);
  return withLocal(o.dir, async (s) => {
    const options = { ...(o.client !== undefined ? { client: o.client } : {}), ...(o.limit !== undefined ? { limit: o.limit } : {}) };
    const times = { ...(o.since !== undefined ? { since: o.since } : {}), ...(o.until !== undefined ? { until: o.until } : {}) };
    const events = await listLog(s, pathArg, { ...options, ...times }, now);
    const lines = (e: LogEvent) => [formatLogLine({ ...e, who: e.clientName ?? e.client }, now), ...describeMerge(e)];
    out.result(o.json, { events }, () => (events.length === 0 ? ['no events'] : events.flatMap(lines)));
    return ExitCode.ok;
  });
}
