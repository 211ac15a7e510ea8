import * as path from 'node:path';
import { BmError, ErrorCode } from '../errors.js';
import { executeInit } from '../client/client-session.js';
import { findClientRoot, readClientConfig, stateDirPath } from '../local/state-dir.js';

/*
 * An agent as a client of its own (ADR-0028): its own id, key and name, so `bm-log log` tells
 * its edits from its person's, and its own copy of the folder's files, in
 * `.bm-log/agents/<name>/` of the person's folder. That copy is never synced by the person's
 * client (nothing inside a `.bm-log/` is) and nobody edits it by hand, so the agent's writes
 * reach the person's folder only through the person's own syncs, like a teammate's, under
 * the same conflict rules; and the two clients never wait for each other's lock.
 */

const AGENT_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The folder of the agent client `name` of the client folder `root`. */
export function computeAgentRoot(root: string, name: string): string {
  if (!AGENT_NAME_RE.test(name)) {
    throw new BmError(
      ErrorCode.usage,
      `${JSON.stringify(name)} is not an agent name`,
      'use 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit',
    );
  }
  return path.join(stateDirPath(root), 'agents', name);
}

/**
 * The agent client `name` of `root`, made on first use: it joins the vault `root` syncs with
 * (same remote), under its own new id and key. True in `created` when it was made now (its
 * first sync, which downloads the files, is the caller's).
 */
export async function ensureAgentClient(root: string, name: string): Promise<{ root: string; created: boolean }> {
  const dir = computeAgentRoot(root, name);
  if ((await findClientRoot(dir)) === dir) return { root: dir, created: false };
  const config = await readClientConfig(root);
  await executeInit(dir, { remote: config.remote, name, create: false, nestedIn: root });
  return { root: dir, created: true };
}
