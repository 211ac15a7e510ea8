import { BmError, ErrorCode } from '../errors.js';
import { mustSyncPath } from '../events/sync-path.js';
import { writeClientConfig, type ClientConfig } from '../local/state-dir.js';
import type { ClientSession } from '../client/client-session.js';
import { displayName } from '../client/human-text.js';

/*
 * Which folders this client syncs (`bm-log subscribe` / `unsubscribe`; the API's
 * `subscribe`/`unsubscribe`; issue 26, ADR-0028). Unsubscribing removes the folder's files
 * here only (never for anyone else), and is refused while one has changes not synced yet.
 */

/** `FOLDER`, `./FOLDER` or `FOLDER/` as the prefix the config lists (`FOLDER/`); a usage error for a bad path. */
export function computeFolderPrefixArg(folder: string): string {
  const f = folder.replace(/^\.\//, '').replace(/\/+$/, '');
  mustSyncPath(f);
  return `${f}/`;
}

/** The config syncing `prefix` again. Pure. */
function planSubscribe(cfg: ClientConfig, prefix: string): ClientConfig {
  const subscriptions =
    cfg.subscriptions.length > 0 && !cfg.subscriptions.includes(prefix) ? [...cfg.subscriptions, prefix] : cfg.subscriptions;
  return { ...cfg, unsubscribed: cfg.unsubscribed.filter((u) => u !== prefix), subscriptions };
}

/** The config no longer syncing `prefix`. Pure. */
function planUnsubscribe(cfg: ClientConfig, prefix: string): ClientConfig {
  return {
    ...cfg,
    unsubscribed: [...new Set([...cfg.unsubscribed, prefix])],
    subscriptions: cfg.subscriptions.filter((x) => x !== prefix),
  };
}

/** Syncs `folder` here again (after unsubscribe) from the next sync on; returns the prefix the config lists. */
export async function executeSubscribe(s: ClientSession, folder: string): Promise<string> {
  const prefix = computeFolderPrefixArg(folder);
  await writeClientConfig(s.root, planSubscribe(s.config, prefix));
  return prefix;
}

/** What `unsubscribe` did: the prefix, the files removed here, and those kept (changed meanwhile). */
export interface UnsubscribeResult {
  readonly unsubscribed: string;
  readonly removedLocally: string[];
  readonly kept: string[];
}

/** Stops syncing `folder` here and removes its files locally; refused while one has changes not synced yet. */
export async function executeUnsubscribe(s: ClientSession, folder: string): Promise<UnsubscribeResult> {
  const prefix = computeFolderPrefixArg(folder);
  const manifest = await s.index.getManifest();
  const scan = await s.ctx.tree.scan(manifest, s.ctx.isIgnored);
  const under = [...scan.files.values()].filter((f) => f.path.startsWith(prefix));
  const pending = under.filter((f) => manifest.get(f.path)?.hash !== f.hash);
  if (pending.length > 0) {
    const named = pending
      .slice(0, 5)
      .map((f) => displayName(f.path))
      .join(', ');
    throw new BmError(
      ErrorCode.safetyGuard,
      `${pending.length} file(s) in ${displayName(prefix)} have changes not synced yet (${named})`,
      'run `bm-log sync` first; nothing was removed',
    );
  }
  const removed: string[] = [];
  const kept: string[] = [];
  for (const f of under) {
    if ((await s.ctx.tree.removeFile(f.path, f)) === 'done') removed.push(f.path);
    else kept.push(f.path);
  }
  await s.index.commitBatch({ manifestDel: [...manifest.keys()].filter((p) => p.startsWith(prefix) && !kept.includes(p)) });
  await writeClientConfig(s.root, planUnsubscribe(s.config, prefix));
  return { unsubscribed: prefix, removedLocally: removed, kept };
}
