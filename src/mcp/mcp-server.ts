import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { BmError, ErrorCode } from '../errors.js';
import type { BmFolder } from '../api/open-folder.js';
import type { VersionInfo } from '../api/folder-queries.js';
import type { FileDiff } from '../api/diff-versions.js';
import { computeNoteBody, mustNoteBytes } from './note-text.js';
import { computeToolError, computeToolResult } from './tool-result.js';

/*
 * `bm-log mcp`: the library API (src/api) as Model Context Protocol tools and resources for
 * one folder (ADR-0028). Every write names the version it replaces; a stale one merges with the
 * current version or stands beside it as a conflict (ADR-0033), or, asked for, is refused naming
 * the current version. Results are small.
 */

/** At most this many files in one `list` result (the rest are counted). */
const MAX_LISTED_FILES = 500;
/** At most this many diff lines in one `diff` result (the rest are counted). */
const MAX_DIFF_LINES = 400;

const path = z.string().min(1).describe('a path relative to the folder root, e.g. notes/plan.md');
const onStale = z
  .enum(['merge', 'refuse', 'conflict'])
  .optional()
  .describe(
    "if expectedVersion is no longer current: 'merge' (the default: merged with the current version where the changes are " +
      "apart, else kept beside it as a conflict; the result says which and why) or 'refuse' (nothing written, the error names " +
      "the current version: read it again and redo your change). 'conflict' is the former name of 'merge'.",
  );

/** Runs a tool body; a thrown error becomes a tool error with its next step. */
async function run(fn: () => Promise<Record<string, unknown>>): Promise<CallToolResult> {
  try {
    return computeToolResult(await fn());
  } catch (e) {
    return computeToolError(e);
  }
}

/** A version as tools list it: small. */
function shortVersion(v: Omit<VersionInfo, 'path'>) {
  return { version: v.version, type: v.type, by: v.clientName ?? v.client, time: v.time, hash: v.hash, size: v.size };
}

function registerNoteTools(server: McpServer, folder: BmFolder): void {
  server.registerTool(
    'read',
    {
      description: 'Read a note: its content and the version it is. Pass that version as expectedVersion when you write it back.',
      inputSchema: { path },
    },
    ({ path: p }) =>
      run(async () => {
        const r = await folder.read(p);
        return {
          path: r.path,
          version: r.version,
          hash: r.hash,
          conflict: r.heads.length > 1,
          heads: [...r.heads],
          ...computeNoteBody(r.bytes),
        };
      }),
  );
  server.registerTool(
    'write',
    {
      description:
        'Write a note (text, or base64 for binary). expectedVersion is the version you read (null to create a new file); ' +
        "if someone changed it since, onStale decides: 'merge' (default; the result says merged, or conflict with why it did " +
        "not merge) or 'refuse' (nothing written; the error names the current version: read it again and redo your change).",
      inputSchema: {
        path,
        expectedVersion: z.string().nullable().describe('the version from read, or null for a new file'),
        text: z.string().optional(),
        base64: z.string().optional(),
        onStale,
      },
    },
    (a) =>
      run(async () => ({
        ...(await folder.write(a.path, mustNoteBytes(a), {
          expectedVersion: a.expectedVersion,
          ...(a.onStale ? { onStale: a.onStale } : {}),
        })),
      })),
  );
  server.registerTool(
    'delete',
    {
      description: 'Delete a note (recoverable: see history and restore). expectedVersion is the version you read.',
      inputSchema: { path, expectedVersion: z.string(), onStale },
    },
    (a) =>
      run(async () => ({
        ...(await folder.delete(a.path, { expectedVersion: a.expectedVersion, ...(a.onStale ? { onStale: a.onStale } : {}) })),
      })),
  );
  server.registerTool(
    'list',
    {
      description: 'The files of the folder now (or at a time or version), with their versions (from the last sync).',
      inputSchema: {
        folder: z.string().optional(),
        at: z.string().optional().describe('a version id from history, or a time (2h, yesterday, 2026-11-20T17:00)'),
      },
    },
    ({ folder: f, at }) =>
      run(async () => {
        const files = await folder.list(f, at === undefined ? {} : { at });
        return { files: files.slice(0, MAX_LISTED_FILES), omitted: Math.max(0, files.length - MAX_LISTED_FILES) };
      }),
  );
}

function registerHistoryTools(server: McpServer, folder: BmFolder): void {
  server.registerTool(
    'history',
    {
      description: 'The versions of a note (or of every note), newest first: who wrote each, when, and its version id.',
      inputSchema: { path: path.optional(), limit: z.number().int().min(1).max(1000).optional() },
    },
    (a) =>
      run(async () => ({
        versions: (await folder.history(a.path, { limit: a.limit ?? 20 })).map((v) => ({ path: v.path, ...shortVersion(v) })),
      })),
  );
  server.registerTool(
    'show',
    {
      description: 'Read any version of a note (a version id from history, or its last 8 characters): its content and record.',
      inputSchema: { version: z.string().min(1).describe('a version id from history, or its last 8 characters') },
    },
    (a) =>
      run(async () => {
        const { bytes, ...r } = await folder.show(a.version);
        return { ...r, ...computeNoteBody(bytes) };
      }),
  );
  server.registerTool(
    'restore',
    {
      description: 'Bring a note back to an earlier version (from history) as a new version; it syncs to everyone.',
      inputSchema: { path, version: z.string().describe('a version id from history, or its last 8 characters') },
    },
    (a) => run(async () => ({ ...(await folder.restore(a.path, { at: a.version })) })),
  );
  server.registerTool(
    'conflicts',
    { description: 'Open conflicts: for each path, its versions (the winner first) and the copies beside it.' },
    () =>
      run(async () => ({
        conflicts: (await folder.conflicts()).map((c) => ({
          path: c.path,
          kind: c.kind,
          versions: c.heads.map(shortVersion),
          copies: c.copies,
        })),
      })),
  );
  server.registerTool(
    'resolve',
    {
      description: 'End the conflict at a path, keeping one version (from conflicts), or the file as it is now when keep is omitted.',
      inputSchema: { path, keep: z.string().optional().describe('the version to keep (id or its last 8 characters)') },
    },
    (a) => run(async () => ({ ...(await folder.resolve(a.path, a.keep === undefined ? {} : { keep: a.keep })) })),
  );
}

/** Pure: diffs as the `diff` tool returns them: hunks without the text copy, at most `max` lines in all. */
export function computeDiffResult(diffs: readonly FileDiff[], max = MAX_DIFF_LINES): Record<string, unknown> {
  let room = max;
  let omittedLines = 0;
  const out = diffs.map(({ text: _text, hunks, ...d }) => {
    const kept = [];
    for (const h of hunks) {
      if (room <= 0) {
        omittedLines += h.lines.length;
        continue;
      }
      const lines = h.lines.slice(0, room);
      omittedLines += h.lines.length - lines.length;
      room -= lines.length;
      kept.push({ ...h, lines });
    }
    return { ...d, hunks: kept };
  });
  return { diffs: out, omittedLines };
}

function registerDiffTool(server: McpServer, folder: BmFolder): void {
  const version = z.string().optional().describe('a version id from history (or its last 8 characters)');
  server.registerTool(
    'diff',
    {
      description:
        'Line diff (unified hunks). With path only: the file in the folder against its synced version, or, for a conflict, ' +
        'each version against their common ancestor. With path and from/to: those versions of it. Without path: from and to ' +
        'are any two versions.',
      inputSchema: { path: path.optional(), from: version, to: version },
    },
    (a) =>
      run(async () => {
        if (a.path !== undefined) {
          return computeDiffResult(await folder.diff(a.path, { ...(a.from ? { from: a.from } : {}), ...(a.to ? { to: a.to } : {}) }));
        }
        if (a.from === undefined || a.to === undefined)
          throw new BmError(
            ErrorCode.usage,
            'diff needs a path, or both from and to',
            'pass path (and optionally from/to), or two versions',
          );
        return computeDiffResult(await folder.diffVersions(a.from, a.to));
      }),
  );
}

function registerFolderTools(server: McpServer, folder: BmFolder): void {
  server.registerTool(
    'status',
    { description: 'This client, the remote, its last sync, changes pending on each side, open conflicts, the other clients.' },
    () =>
      run(async () => {
        const st = await folder.status();
        const pendingLocal = st.pendingLocal.slice(0, MAX_LISTED_FILES);
        const pendingRemote = st.pendingRemote.slice(0, MAX_LISTED_FILES);
        return { ...st, pendingLocal, pendingRemote, conflicts: st.conflicts.map((c) => ({ path: c.path, kind: c.kind })) };
      }),
  );
  server.registerTool('sync', { description: 'Sync now: publish changes, fetch and apply everyone else’s.' }, () =>
    run(async () => ({ ...(await folder.sync()) })),
  );
  server.registerTool(
    'verify',
    { description: 'Re-check every log and blob on the remote (signatures, hashes); slow on large folders.' },
    () => run(async () => ({ ...(await folder.verify()) })),
  );
}

function registerResources(server: McpServer, folder: BmFolder): void {
  const notes = new ResourceTemplate('bm-log://note/{+path}', {
    list: async () => ({
      resources: (await folder.list()).slice(0, MAX_LISTED_FILES).map((f) => ({ uri: `bm-log://note/${f.path}`, name: f.path })),
    }),
  });
  server.registerResource('note', notes, { description: 'A note of the folder, as of its current version' }, async (uri, vars) => {
    const r = await folder.read(String(vars['path']));
    const body = computeNoteBody(r.bytes);
    const meta = { _meta: { version: r.version } };
    return { contents: ['text' in body ? { uri: uri.href, text: body.text, ...meta } : { uri: uri.href, blob: body.base64, ...meta }] };
  });
  const history = new ResourceTemplate('bm-log://history/{+path}', { list: undefined });
  server.registerResource('history', history, { description: "A note's versions, newest first (JSON)" }, async (uri, vars) => {
    const versions = (await folder.history(String(vars['path']), { limit: 100 })).map(shortVersion);
    return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ versions }) }] };
  });
}

/** The MCP server of one open folder (not connected to a transport yet). */
export function createMcpServer(folder: BmFolder, version: string): McpServer {
  const server = new McpServer({ name: 'bm-log', version });
  registerNoteTools(server, folder);
  registerHistoryTools(server, folder);
  registerFolderTools(server, folder);
  registerDiffTool(server, folder);
  registerResources(server, folder);
  return server;
}
