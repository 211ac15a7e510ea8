import { BmError, ErrorCode, StaleVersionError } from '../errors.js';
import type { VersionId } from '../events/ids.js';
import { computeHeads, type PathState } from '../projections/project-paths.js';
import type { ExpectedVersion, RestoreRequest, RestoreStep } from './sync/report.js';

/*
 * A write or delete through the API (issue 26, ADR-0028) names the version its writer had
 * read. This decides, against the path's heads after the sync's fetch, what it publishes.
 */

/**
 * True when `expected` is what the path holds now: its one head (a file that exists), or,
 * for `null`, no head with content (a path that does not exist or was deleted). Pure.
 */
export function isCurrentVersion(expected: VersionId | null, st: PathState | undefined): boolean {
  const heads = st ? computeHeads(st) : [];
  if (expected === null) return heads.every((h) => h.content === null);
  return heads.length === 1 && heads[0]!.id === expected;
}

/**
 * Pure: what a write of `request.content` (null: a delete) that had read `expected` publishes.
 * Current: a put (or tombstone) replacing every head, like any edit of an up-to-date file.
 * Stale, `refuse`: throws StaleVersionError naming the current heads; nothing is published.
 * Stale, `conflict`: a put (or tombstone) replacing only the version its writer read, exactly
 * what a person's edit of a stale file publishes, so it stands beside the current version and
 * nothing is overwritten: the sync's merge stage then merges the two where the merge applies,
 * else they are a conflict (the API's `onStale: 'merge'`, ADR-0033). An expected id that is no version of the path is a
 * usage error (it would replace nothing, silently).
 */
export function planExpectedWrite(request: RestoreRequest, expected: ExpectedVersion, st: PathState | undefined): RestoreStep {
  const heads = st ? computeHeads(st) : [];
  if (expected.version !== null && st?.versions.has(expected.version) !== true) {
    throw new BmError(
      ErrorCode.notFound,
      `${request.path} has no version ${expected.version}`,
      'read the path first and pass the version that read returned (null for a new file)',
      { path: request.path, expected: expected.version },
    );
  }
  let replaces: VersionId[];
  if (isCurrentVersion(expected.version, st)) {
    replaces = heads.map((h) => h.id);
  } else if (expected.onStale === 'refuse') {
    throw new StaleVersionError(
      request.path,
      expected.version,
      heads.filter((h) => h.content !== null || heads.length > 1).map((h) => h.id),
    );
  } else {
    replaces = expected.version === null ? [] : [expected.version];
  }
  if (request.content === null) {
    if (heads.length === 0) throw new BmError(ErrorCode.notFound, `${request.path} does not exist`, 'nothing to delete');
    return { kind: 'tombstone', replaces };
  }
  return { kind: 'put', replaces, content: request.content };
}
