import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { BmError, ErrorCode } from '../errors.js';
import { readContent } from '../events/packs.js';
import { readSessionFallback } from '../reconcile/snapshot-reads.js';
import { writeChunk } from '../events/store/lent-chunks.js';
import type { ContentRef } from '../events/schema.js';
import { TMP_PREFIX } from '../local/local-fs.js';
import type { ClientSession } from '../client/client-session.js';
import { displayName } from '../client/human-text.js';
import { logCommand, planRestoreNow, type RestoreTarget } from './restore-note.js';
import { readRestoreDestination } from './restore-destination.js';

/*
 * `restore --to FILE` (ADR-0026; the API's `restoreTo`): one file's bytes as of a point,
 * written to a new file elsewhere (or inside the folder, as a new file the next sync uploads);
 * nothing is published and nothing is overwritten.
 */

/** A version's bytes written to a new `file` (never over an existing one), checked against its hash first. */
async function writeBlobTo(s: ClientSession, content: ContentRef, file: string): Promise<void> {
  const hash = createHash('sha256');
  const src = await readContent(s.store, content, undefined, await readSessionFallback(s)); // from a snapshot when gone (ADR-0034)
  // Named as bm-log's temp files are: when FILE is inside a synced folder, a sync running
  // meanwhile ignores it (the built-in ignore rule `.bm-tmp-*`).
  const tmp = path.join(path.dirname(file), `${TMP_PREFIX}${process.pid}-${path.basename(file)}`);
  const fh = await fs.open(tmp, 'wx', content.mode & 0o777 || 0o644);
  let open = true;
  try {
    // The chunks are lent: each is written before the next is read into its buffer.
    for await (const chunk of src) {
      hash.update(chunk);
      await writeChunk(fh, chunk);
    }
    await fh.sync();
    await fh.close();
    open = false;
    if (hash.digest('hex') !== content.hash) {
      throw new BmError(ErrorCode.blobCorrupt, `blob ${content.hash} does not match its hash`, 'nothing was written; run `bm-log verify`');
    }
    await fs.link(tmp, file).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST')
        throw new BmError(ErrorCode.usage, `${file} already exists`, 'choose another --to file; nothing was overwritten');
      throw e;
    });
  } finally {
    if (open) await fh.close();
    await fs.rm(tmp, { force: true });
  }
}

/** What `restoreTo` wrote (or, in a dry run, would write). */
export interface RestoreToResult {
  readonly restored: string;
  /** The file as the caller named it (made absolute). */
  readonly to: string;
  /** The path the next sync uploads it as, when it is inside the synced folder; else null. */
  readonly syncsAs: string | null;
  readonly hash: string;
  readonly dryRun: boolean;
}

/** Writes the bytes of `t` (one file) as of `at` to the new file `to`; publishes nothing. */
export async function executeRestoreTo(
  s: ClientSession,
  t: RestoreTarget,
  at: string,
  to: string,
  dryRun = false,
): Promise<RestoreToResult> {
  const requests = (await planRestoreNow(s, t, at)).requests;
  const only = requests[0]!;
  if (t.isFolder || requests.length !== 1) throw new BmError(ErrorCode.usage, '--to restores one file', 'name a file, not a folder');
  if (only.content === null) {
    throw new BmError(
      ErrorCode.notFound,
      `${displayName(t.rel)} did not exist (or was deleted) at ${at}`,
      `pick another point from \`${logCommand(t.rel)}\``,
    );
  }
  const { file, syncsAs } = await readRestoreDestination(s.root, to);
  if (!dryRun) await writeBlobTo(s, only.content, file);
  // As the caller named it; `file` is the same file with symlinks resolved.
  return { restored: t.rel, to: path.resolve(to), syncsAs, hash: only.content.hash, dryRun };
}
