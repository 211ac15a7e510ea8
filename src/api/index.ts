/**
 * bm-log as a library (issue 26, ADR-0028; docs/api.md): open a bm-log folder and read,
 * write and delete notes against the version their writer read, sync, list conflicts and
 * resolve them, read history and the log, restore, verify, collect garbage; make a folder a
 * client (`initFolder`). The CLI (`bm-log ...`) and the MCP server
 * (`bm-log mcp`) are shells over these functions.
 */
export { openFolder } from './open-folder.js';
export type { BmFolder, DiffOptions, OpenFolderOptions, ShowResult, SyncOptions, WriteOptions } from './open-folder.js';
export type { DiffHunk, FileDiff } from './diff-versions.js';
export type { ConflictInfo, SyncSummary, VersionInfo } from './folder-queries.js';
export type { FileInfo } from './version-queries.js';
export type { FolderStatus } from './folder-status.js';
export type { OnStale, ReadResult, WriteResult } from './note-io.js';
export type { RestoreResult } from './restore-note.js';
export type { VerifyResult } from './verify-folder.js';
export type { LogEvent, LogOptions } from './folder-log.js';
export type { ClientRow, GcOptions, GcPassResult, GcResult, OwnCheckpointReport } from './folder-gc.js';
export type { InvitationResult, MemberChangeResult, MembersInitResult, MembersView } from './folder-members.js';
export type { UnsubscribeResult } from './subscriptions.js';
export type { RestoreToResult } from './restore-to.js';
export { initFolder } from './init-folder.js';
export type { InitFolderOptions, InitFolderResult } from './init-folder.js';
export { openFolderViews } from './folder-views.js';
export type { FolderViews, MembersListing } from './folder-views.js';
export type { ActivityEvent, ClientInfo, DeletedFile, FolderPulse } from './activity.js';
export type { ConflictSides, VersionDiff } from './version-diff.js';
export { DEFAULT_LOCK_WAIT_MS } from './folder-lock.js';
export { DEFAULT_ON_STALE } from './note-io.js';
export { BmError, ErrorCode, StaleVersionError, isBmError } from '../errors.js';
