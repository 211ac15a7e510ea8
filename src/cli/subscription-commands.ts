import { BmError, ErrorCode } from '../errors.js';
import { mustSyncPath } from '../events/sync-path.js';
import { writeClientConfig, type ClientConfig } from '../local/state-dir.js';
import { withClient } from '../client/client-queries.js';
import { ExitCode } from './exit-codes.js';
import { displayName } from '../client/human-text.js';
import type { FolderOptions } from './options.js';
import type { Output } from './output.js';
import { runSyncCommand } from './sync-command.js';

/** `FOLDER`, `./FOLDER` or `FOLDER/` as the prefix the config lists (`FOLDER/`); a usage error for a bad path. */
function folderPrefix(folder: string): string {
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

/** `bm-log subscribe FOLDER`: sync FOLDER again (after unsubscribe), now. */
export async function runSubscribeCommand(folder: string, o: FolderOptions, out: Output): Promise<number> {
  const prefix = folderPrefix(folder);
  await withClient(o.dir, async (s) => {
    await writeClientConfig(s.root, planSubscribe(s.config, prefix));
  });
  if (!o.json) out.line(`subscribed to ${displayName(prefix)}; syncing it now`);
  return runSyncCommand({ dir: o.dir, json: o.json === true }, out);
}

/**
 * `bm-log unsubscribe FOLDER`: stop syncing FOLDER here and remove its files locally (never
 * for anyone else). Refused while a file in it has changes not synced yet.
 */
export async function runUnsubscribeCommand(folder: string, o: FolderOptions, out: Output): Promise<number> {
  const prefix = folderPrefix(folder);
  return withClient(o.dir, async (s) => {
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
    out.result(o.json, { unsubscribed: prefix, removedLocally: removed, kept }, () => [
      `unsubscribed from ${displayName(prefix)}: removed ${removed.length} file(s) here; nothing was deleted for anyone else`,
      ...kept.map((k) => `  kept ${displayName(k)} (changed while unsubscribing)`),
    ]);
    return ExitCode.ok;
  });
}
