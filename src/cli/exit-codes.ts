import { ErrorCode, integrityCodes } from '../errors.js';

/**
 * The CLI's exit codes (documented in the README). One place maps error codes to them.
 */
export const ExitCode = {
  /** Success; open conflicts, if any, are listed in the output. */
  ok: 0,
  /** An unexpected failure (a bug): please report it. */
  internal: 1,
  /** Wrong command line, or this folder / remote is not configured right. */
  usage: 2,
  /**
   * A failure that is safe to retry (remote unreachable, folder busy, disk full, a file in
   * use), or a sync that completed but skipped files (each listed with why): not in sync yet.
   */
  retry: 3,
  /** Refused by a safety guard (max-delete, empty folder); nothing was changed. */
  safety: 4,
  /** Integrity failure: a bad signature, a tampered or missing blob, a broken log. */
  integrity: 5,
  /** The vault uses a format newer than this bm-log reads (ADR-0019): upgrade bm-log. */
  upgrade: 6,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export function computeExitCode(code: ErrorCode): ExitCode {
  if (integrityCodes.has(code)) return ExitCode.integrity;
  switch (code) {
    case ErrorCode.usage:
    case ErrorCode.config:
    case ErrorCode.notAClient:
    case ErrorCode.notFound:
      return ExitCode.usage;
    case ErrorCode.alreadyRunning:
    case ErrorCode.remoteUnavailable:
    case ErrorCode.localIo:
    case ErrorCode.diskFull:
    case ErrorCode.objectExists:
    case ErrorCode.staleFetch:
      return ExitCode.retry;
    case ErrorCode.safetyGuard:
    case ErrorCode.staleVersion:
      return ExitCode.safety;
    case ErrorCode.unknownVersion:
      return ExitCode.upgrade;
    default:
      return ExitCode.internal;
  }
}

/**
 * The exit code of a sync that completed (sync, init, resolve, subscribe, restore): integrity
 * when the log had a fault or a download met a tampered or missing blob; retry when any
 * operation was skipped (a file that could not be written, read or deleted, changed meanwhile,
 * or held back for a GC): those files are not in sync, and a skip that recurs every sync is
 * no success; ok otherwise (open conflicts are listed, not failures). ADR-0016.
 */
export function computeSyncExitCode(report: {
  readonly faults: readonly { readonly error: { readonly code: ErrorCode } }[];
  readonly skipped: readonly { readonly code?: ErrorCode }[];
}): ExitCode {
  return computeFaultsExitCode(report.faults, report.skipped) ?? (report.skipped.length > 0 ? ExitCode.retry : ExitCode.ok);
}

/**
 * The exit code log faults and skips call for, if any: integrity for any integrity fault (a
 * fault of unknown kind counts as one), else upgrade when some log uses a newer format (ADR-0019).
 */
export function computeFaultsExitCode(
  faults: readonly { readonly error: { readonly code: ErrorCode } }[],
  skipped: readonly { readonly code?: ErrorCode }[] = [],
): ExitCode | undefined {
  const newer = faults.filter((f) => f.error.code === ErrorCode.unknownVersion).length;
  if (faults.length > newer || skipped.some((sk) => sk.code !== undefined && integrityCodes.has(sk.code))) return ExitCode.integrity;
  return newer > 0 ? ExitCode.upgrade : undefined;
}
