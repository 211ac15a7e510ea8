import { z } from 'zod/v4';
import { ErrorCode } from '../errors.js';
import { NoticeReason } from '../reconcile/plan.js';
import { ConflictKind } from '../reconcile/conflict-notes.js';
import { JSON_FORMAT } from './json-format.js';
import { ChangeKind } from './log-lines.js';

// The `--json` documents, format 1, as zod schemas (ADR-0026): `npm run schemas` writes them as
// JSON Schema to docs/json/, and json-schemas.e2e validates every command's real output
// against those files. Objects are closed (a field the schema does not name fails the test),
// so a new field is documented here before it ships.

const id = z
  .string()
  .regex(/^[0-9A-HJKMNP-TV-Z]{26}$/)
  .describe('a ULID');
const hash = z
  .string()
  .regex(/^[0-9a-f]{64}$/)
  .describe('lowercase hex SHA-256');
const time = z.string().describe('an ISO 8601 time (the writer’s clock)');
const count = z.number().int().nonnegative();
const seqMap = z.record(z.string(), count).describe('client id -> segment seq');

const fingerprint = z
  .string()
  .regex(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}$/)
  .describe('a key fingerprint');
const role = z.enum(['admin', 'writer', 'reader']);
const memberRow = z.object({
  client: id,
  name: z.string(),
  fingerprint: fingerprint.nullable(),
  role: z.enum(['admin', 'writer', 'reader', 'removed']).nullable().describe('null: pending'),
  self: z.boolean(),
});

/** The format field every document starts with. */
const format = z.literal(JSON_FORMAT).describe('the version of this document’s format');

function doc<T extends z.core.$ZodLooseShape>(title: string, description: string, shape: T) {
  return z.object({ format, ...shape }).meta({ title, description });
}

/** What a merge merged (ADR-0020): the heads in canonical order, their common ancestor, the algorithm. */
const mergeRecord = z.object({ base: id.nullable(), parents: z.array(id), algo: z.string() });
const moveFrom = z.object({ path: z.string(), version: id });

const version = z.object({
  version: id,
  type: z.enum(['put', 'tombstone', 'resolve']),
  client: id,
  clientName: z.string().nullable(),
  time,
  hash: hash.nullable().describe('null for a delete'),
  size: count.nullable(),
  replaces: z.array(id),
  seen: seqMap.describe('what the writer had seen: other clients’ log heads'),
  snapshot: z.string().nullable(),
  merge: mergeRecord.optional().describe('present on a merge (ADR-0020)'),
  from: moveFrom.optional().describe('a moved file’s new name: the version of the old name it continues (ADR-0020)'),
  to: z.string().optional().describe('a moved file’s old name: the name it went on at (ADR-0020)'),
});

const conflict = z.object({
  path: z.string(),
  kind: z.enum(Object.values(ConflictKind) as [string, ...string[]]),
  detail: z.string(),
  winner: id.nullable(),
  heads: z.array(version),
  copies: z.array(z.string()),
  notMerged: z.string().optional().describe('why the versions were not merged (ADR-0020)'),
  notMergedDetail: z.string().nullable().optional(),
});

const op = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('upload'),
    path: z.string(),
    hash,
    size: count,
    replaces: z.array(id),
    from: moveFrom.optional().describe('the old name of a moved file (ADR-0020)'),
  }),
  z.object({ kind: z.literal('tombstone'), path: z.string(), replaces: z.array(id), to: z.string().optional() }),
  z.object({ kind: z.literal('follow'), path: z.string(), to: z.string(), hash, size: count, replaces: z.array(id), edit: id }),
  z.object({ kind: z.literal('resolve'), path: z.string(), replaces: z.array(id), hash: hash.nullable() }),
  z.object({ kind: z.enum(['download', 'writeCopy']), path: z.string(), version: id, hash: hash.nullable(), size: count.nullable() }),
  z.object({ kind: z.literal('deleteLocal'), path: z.string(), hash, deletedBy: id.nullable() }),
  z.object({ kind: z.literal('removeCopy'), path: z.string(), hash }),
  z.object({ kind: z.enum(['record', 'forget']), path: z.string() }),
  z.object({ kind: z.literal('merge'), path: z.string(), hash, size: count, replaces: z.array(id), ...mergeRecord.shape }),
]);
const opKinds = [
  'merge',
  'follow',
  'upload',
  'tombstone',
  'resolve',
  'download',
  'deleteLocal',
  'writeCopy',
  'removeCopy',
  'record',
  'forget',
] as const;

const fault = z.object({ client: id, seq: count, object: z.string(), code: z.string(), message: z.string() });
const ownCheckpoint = z.object({ client: id, seq: count, bytes: count, paths: count, versions: count, claims: count });

const syncReport = z.object({
  dryRun: z.boolean(),
  plan: z.array(op).describe('the first round’s plan'),
  applied: z.array(op).describe('every operation carried out'),
  appliedCounts: z.object(Object.fromEntries(opKinds.map((k) => [k, count])) as Record<(typeof opKinds)[number], typeof count>),
  skipped: z.array(
    z.object({
      path: z.string(),
      op: z.enum(opKinds),
      detail: z.string(),
      code: z.enum(Object.values(ErrorCode) as [string, ...string[]]).optional(),
    }),
  ),
  conflicts: z.array(conflict),
  notices: z.array(
    z.object({ path: z.string(), reason: z.enum(Object.values(NoticeReason) as [string, ...string[]]).optional(), detail: z.string() }),
  ),
  faults: z.array(fault),
  restored: z.array(z.string()).describe('files put back on the remote from this folder'),
  rounds: count,
  clean: z.boolean(),
  lazy: z.boolean(),
  staged: z.boolean(),
  eventsPublished: count,
  segmentsPublished: count,
  ackPublished: z.boolean(),
  joinedFromCheckpoint: z.boolean(),
  checkpoint: ownCheckpoint.nullable(),
  blobsUploaded: count,
  bytesUploaded: count,
  bytesDownloaded: count,
  fetchRequests: count,
  pendingJoiners: z
    .array(z.object({ client: id, name: z.string(), fingerprint: z.string() }))
    .describe('clients that ask to join, each shown by the first sync that saw its key (`members` lists them all)'),
});

const initInfo = z.object({
  root: z.string(),
  client: id,
  name: z.string(),
  vault: id,
  remote: z.string(),
  newRemote: z.boolean(),
  encrypted: z.boolean(),
  capabilities: z.object({ createOnlyEnforced: z.boolean(), versioning: z.boolean(), snapshots: z.boolean() }),
  fingerprint: z.string().describe('this client’s key fingerprint, for the admin who admits it'),
  pending: z.boolean().describe('true when the vault has members and this client waits for an admin’s `members add`'),
});

const syncDoc = doc('bm-log sync --json', 'a sync’s report (also resolve, subscribe)', syncReport.shape);

/** Every document, by the name of its schema file (`docs/json/NAME.schema.json`), with the commands that print it. */
export const JSON_DOCUMENTS = {
  init: {
    commands: ['init'],
    schema: z
      .union([
        doc('init --no-sync', 'the new client', initInfo.shape),
        doc('init', 'the new client and its first sync', { init: initInfo, sync: syncReport }),
      ])
      .meta({ title: 'bm-log init --json' }),
  },
  sync: { commands: ['sync', 'resolve', 'subscribe'], schema: syncDoc },
  status: {
    commands: ['status'],
    schema: doc('bm-log status --json', 'this client, the remote, pending changes, conflicts, other clients', {
      root: z.string(),
      client: z.object({ id, name: z.string() }),
      remote: z.string(),
      remoteAvailable: z.boolean(),
      remoteError: z.object({ code: z.string(), message: z.string(), hint: z.string() }).nullable(),
      vault: id,
      lastSyncAt: time.nullable(),
      subscriptions: z.array(z.string()),
      unsubscribed: z.array(z.string()),
      pendingLocal: z.array(op),
      pendingRemote: z.array(op),
      conflicts: z.array(conflict),
      faults: z.array(fault),
      clients: z.array(z.object({ id, name: z.string(), self: z.boolean(), lastSeq: count, lastSeen: time.nullable() })),
      pendingJoiners: z
        .array(z.object({ client: id, name: z.string(), fingerprint: z.string() }))
        .describe('clients that published a key and wait for an admin’s `members add`, as of the last fetch'),
    }),
  },
  conflicts: { commands: ['conflicts'], schema: doc('bm-log conflicts --json', 'the open conflicts', { conflicts: z.array(conflict) }) },
  unsubscribe: {
    commands: ['unsubscribe'],
    schema: doc('bm-log unsubscribe --json', 'the folder no longer synced here', {
      unsubscribed: z.string(),
      removedLocally: z.array(z.string()),
      kept: z.array(z.string()),
    }),
  },
  log: {
    commands: ['log', 'history'],
    schema: doc('bm-log log --json', 'the events, newest first', {
      events: z.array(
        z.object({
          path: z.string(),
          ...version.shape,
          seq: count,
          change: z.enum(Object.values(ChangeKind) as [string, ...string[]]),
          move: z.object({ from: z.string(), to: z.string() }).nullable(),
        }),
      ),
    }),
  },
  diff: {
    commands: ['diff'],
    schema: doc('bm-log diff --json', 'unified diffs: each pair of sides with its hunks and text', {
      diffs: z.array(
        z.object({
          from: z.string(),
          to: z.string(),
          fromVersion: id.nullable(),
          toVersion: id.nullable(),
          binary: z.boolean(),
          same: z.boolean(),
          hunks: z.array(z.object({ oldStart: count, oldLines: count, newStart: count, newLines: count, lines: z.array(z.string()) })),
          text: z.string(),
        }),
      ),
    }),
  },
  show: {
    commands: ['show'],
    schema: doc('bm-log show --json', 'a version and its bytes: UTF-8 text, or base64 when they are not valid UTF-8', {
      version: id,
      path: z.string(),
      client: id,
      time,
      hash,
      size: count,
      mode: count,
      encoding: z.enum(['utf8', 'base64']),
      content: z.string(),
    }),
  },
  ls: {
    commands: ['ls'],
    schema: doc('bm-log ls --json', 'the tree now or at a point', {
      at: z.string().nullable(),
      files: z.array(z.object({ path: z.string(), size: count, hash: hash.nullable(), version: id, client: id, time })),
    }),
  },
  restore: {
    commands: ['restore'],
    schema: z
      .union([
        doc('restore --to', 'one file’s old bytes written to a new file', {
          restored: z.string(),
          to: z.string(),
          syncsAs: z.string().nullable().describe('inside the synced folder: the path the next sync uploads it as'),
          hash,
          dryRun: z.boolean(),
        }),
        doc('restore --dry-run', 'what would change', {
          dryRun: z.literal(true),
          changes: z.array(z.object({ path: z.string(), hash: hash.nullable() })),
        }),
        doc('restore', 'what was restored and published', {
          restored: z.array(z.object({ path: z.string(), hash: hash.nullable() })),
          eventsPublished: count,
          skipped: syncReport.shape.skipped,
        }),
      ])
      .meta({ title: 'bm-log restore --json' }),
  },
  verify: {
    commands: ['verify'],
    schema: doc('bm-log verify --json', 'every log and blob on the remote, checked', {
      ok: z.boolean(),
      segments: count,
      blobs: count,
      clients: count,
      findings: z.array(z.object({ object: z.string(), code: z.string(), message: z.string() })),
      repaired: z.array(z.string()),
    }),
  },
  doctor: {
    commands: ['doctor'],
    schema: doc('bm-log doctor --json', 'what the remote supports', {
      remote: z.string(),
      createOnlyEnforced: z.boolean(),
      versioning: z.boolean(),
      snapshots: z.boolean(),
    }),
  },
  gc: {
    commands: ['gc'],
    schema: doc('bm-log gc --json', 'what a garbage collection collected, condemned and deleted', {
      dryRun: z.boolean(),
      retention: z.string(),
      grace: z.string(),
      passes: z.array(
        z.object({
          active: z.array(id),
          frontier: seqMap,
          collected: z.array(z.object({ path: z.string(), versions: z.array(id) })),
          condemned: z.array(hash),
          deletable: z.array(z.object({ hash, key: z.string(), condemnedBy: z.string(), condemnedAt: time })),
          deleted: z.array(hash),
          condemnedPacks: z.array(z.string()),
          deletedPacks: z.array(z.string()),
          lateDeletes: z.array(hash),
          blobsListed: count,
          blobsReferenced: count,
          packsListed: count,
          packsReferenced: count,
          publishedSeq: count.nullable(),
          requests: count,
        }),
      ),
      checkpoint: ownCheckpoint.nullable(),
    }),
  },
  checkpoint: {
    commands: ['checkpoint'],
    schema: doc('bm-log checkpoint --json', 'the checkpoint written, or null when there was nothing new', {
      checkpoint: ownCheckpoint.nullable(),
    }),
  },
  clients: {
    commands: ['clients'],
    schema: doc('bm-log clients --json', 'every client', {
      clients: z.array(
        z.object({
          id,
          name: z.string(),
          self: z.boolean(),
          lastSeq: count,
          lastSeen: time.nullable(),
          acked: count,
          acks: seqMap,
          retired: z.boolean(),
          checkpoint: count.nullable(),
        }),
      ),
    }),
  },
  retire: {
    commands: ['retire'],
    schema: doc('bm-log retire --json', 'the client retired', {
      client: id,
      name: z.string(),
      alreadyRetired: z.boolean(),
      seq: count.nullable(),
    }),
  },
  config: {
    commands: ['config', 'config show', 'config merge'],
    schema: doc('bm-log config --json', 'the vault-wide settings in effect, and the config event `config merge` published (ADR-0037)', {
      merge: z.object({
        enabled: z.boolean(),
        maxBytes: count,
        patterns: z.array(z.string()).describe('gitignore syntax: the paths that may merge'),
        markdownPatterns: z.array(z.string()).describe('gitignore syntax: the merging paths whose front matter merges key by key'),
      }),
      from: z.object({ client: id, seq: count, id }).nullable().describe('the config event in effect; null: the defaults'),
      published: z.object({ id, seq: count }).nullable().describe('the config event this command published; null: none'),
    }),
  },
  members: {
    commands: ['members', 'members list'],
    schema: doc(
      'bm-log members --json',
      'the vault root, its members with key fingerprints and roles, pending clients, removed members (ADR-0021)',
      {
        root: z.object({ client: id, name: z.string(), fingerprint: fingerprint }).nullable(),
        members: z.array(memberRow),
        pending: z.array(memberRow),
        removed: z.array(memberRow),
        rejected: z.array(z.object({ at: z.string().describe('writer/seq/index of the member event'), reason: z.string() })),
      },
    ),
  },
  'members-init': {
    commands: ['members init'],
    schema: doc('bm-log members init --json', 'this client as the root admin, and the clients it admitted as writers', {
      root: z.object({ client: id, name: z.string(), fingerprint: fingerprint }),
      admitted: z.array(id),
    }),
  },
  'members-change': {
    commands: ['members add', 'members remove', 'members role'],
    schema: doc('bm-log members add|remove|role --json', 'the member event published, and whether it counted', {
      action: z.enum(['add', 'remove', 'role']),
      client: id,
      name: z.string(),
      fingerprint: fingerprint,
      role: role.nullable(),
      upTo: count.describe('how much of the member’s log the change leaves as it was'),
      seq: count,
      counted: z.boolean(),
      rejected: z.string().nullable(),
    }),
  },
  'members-invite': {
    commands: ['members invite'],
    schema: doc('bm-log members invite --json', 'a one-line token a new member joins with (`init --join TOKEN`)', {
      name: z.string(),
      token: z.string(),
      rootFingerprint: fingerprint,
    }),
  },
  service: {
    commands: ['service print'],
    schema: doc('bm-log service print --json', 'the files that run bm-log in the background, and how to turn them on', {
      kind: z.enum(['systemd', 'launchd']),
      folder: z.string(),
      files: z.array(z.object({ name: z.string(), installTo: z.string(), text: z.string() })),
      steps: z.array(z.string()),
    }),
  },
  error: {
    commands: ['any command that fails'],
    schema: doc('bm-log error --json', 'the document every command prints instead when it fails', {
      error: z.object({
        code: z.enum(Object.values(ErrorCode) as [string, ...string[]]),
        message: z.string(),
        hint: z.string(),
        exit: z.number().int().min(1).max(5),
      }),
    }),
  },
} as const;

export type JsonDocumentName = keyof typeof JSON_DOCUMENTS;

/** The JSON Schema (draft 2020-12) text of document `name`, as docs/json/NAME.schema.json holds it. Pure. */
export function renderJsonSchema(name: JsonDocumentName): string {
  const { schema, commands } = JSON_DOCUMENTS[name];
  const json = z.toJSONSchema(schema, { io: 'output', target: 'draft-2020-12' });
  return `${JSON.stringify({ ...json, $comment: `printed by: ${commands.map((c) => ['bm-log', c, '--json'].join(' ')).join(', ')}` }, null, 2)}\n`;
}
