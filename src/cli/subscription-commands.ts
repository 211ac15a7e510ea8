import { computeFolderPrefixArg, executeSubscribe, executeUnsubscribe } from '../api/subscriptions.js';
import { withClient } from '../client/client-queries.js';
import { ExitCode } from './exit-codes.js';
import { displayName } from '../client/human-text.js';
import type { FolderOptions } from './options.js';
import type { Output } from './output.js';
import { runSyncCommand } from './sync-command.js';

/** `bm-log subscribe FOLDER`: sync FOLDER again (after unsubscribe), now. */
export async function runSubscribeCommand(folder: string, o: FolderOptions, out: Output): Promise<number> {
  computeFolderPrefixArg(folder); // a bad path is a usage error before the folder is opened
  const prefix = await withClient(o.dir, (s) => executeSubscribe(s, folder));
  if (!o.json) out.line(`subscribed to ${displayName(prefix)}; syncing it now`);
  return runSyncCommand({ dir: o.dir, json: o.json === true }, out);
}

/**
 * `bm-log unsubscribe FOLDER`: stop syncing FOLDER here and remove its files locally (never
 * for anyone else). Refused while a file in it has changes not synced yet.
 */
export async function runUnsubscribeCommand(folder: string, o: FolderOptions, out: Output): Promise<number> {
  computeFolderPrefixArg(folder); // a bad path is a usage error before the folder is opened
  return withClient(o.dir, async (s) => {
    const r = await executeUnsubscribe(s, folder);
    out.result(o.json, r, () => [
      `unsubscribed from ${displayName(r.unsubscribed)}: removed ${r.removedLocally.length} file(s) here; nothing was deleted for anyone else`,
      ...r.kept.map((k) => `  kept ${displayName(k)} (changed while unsubscribing)`),
    ]);
    return ExitCode.ok;
  });
}
