import { setTimeout as sleep } from 'node:timers/promises';
import { BmError, ErrorCode, isBmError } from '../errors.js';
import { connectRemote, openLocal, type ClientSession, type LocalSession } from '../client/client-session.js';

/*
 * Sharing one folder between bm-log processes (ADR-0028): the folder's lock (its LevelDB
 * index) is held for one operation, or one round of `sync --watch`, never for a process's
 * lifetime. A process that finds it held waits, polling, up to a deadline, then fails with
 * `already-running` saying who to wait for.
 */

/** How long an operation waits for the folder by default: longer than any sync round of a note folder. */
export const DEFAULT_LOCK_WAIT_MS = 60_000;
const FIRST_POLL_MS = 25;
const MAX_POLL_MS = 500;

/** Opens with `open`, waiting while another bm-log process holds the folder, at most `waitMs`. */
async function openWaiting<S>(open: () => Promise<S>, waitMs: number): Promise<S> {
  const deadline = Date.now() + waitMs;
  let poll = FIRST_POLL_MS;
  for (;;) {
    try {
      return await open();
    } catch (e) {
      if (!isBmError(e, ErrorCode.alreadyRunning)) throw e;
      if (Date.now() + poll > deadline) {
        throw new BmError(
          ErrorCode.alreadyRunning,
          `another bm-log process held this folder for more than ${Math.round(waitMs / 1000)} s; nothing was done`,
          'retry when it is done (a long first sync, or a stuck process: check `ps`), or wait longer (lockWaitMs)',
          { ...e.details, waitedMs: waitMs },
          { cause: e },
        );
      }
      await sleep(poll);
      poll = Math.min(poll * 2, MAX_POLL_MS);
    }
  }
}

/** Runs `fn` on the folder's local half, waiting for the folder; always releases it. */
export async function withLocalWaiting<T>(root: string, waitMs: number, fn: (s: LocalSession) => Promise<T>): Promise<T> {
  const s = await openWaiting(() => openLocal(root), waitMs);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

/** Runs `fn` on the whole client (remote included), waiting for the folder; always releases it. */
export async function withClientWaiting<T>(root: string, waitMs: number, fn: (s: ClientSession) => Promise<T>): Promise<T> {
  return withLocalWaiting(root, waitMs, async (local) => {
    const s = await connectRemote(local);
    try {
      return await fn(s);
    } finally {
      // The index is the local session's: withLocalWaiting closes it.
      await s.store.close();
    }
  });
}
