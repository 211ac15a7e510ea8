/**
 * `bm-log mcp` driven over stdio by the MCP SDK's own client, as a child process (issue 26,
 * ADR-0028): real client folders, a directory remote, LevelDB. An agent lists the tools,
 * reads a note with its version, writes with that version (which reaches another client),
 * is refused with the current version named when it writes with the old one, and resolves a
 * conflict.
 */
import { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, useWorlds } from '../cli/support/cli.js';

const { pair } = useWorlds();
const open: McpClient[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

/** An MCP client connected to `bm-log mcp --dir DIR [...extra]`. */
async function connect(dir: string, ...extra: string[]): Promise<McpClient> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'mcp', '--dir', dir, ...extra],
    env: { ...(process.env as Record<string, string>) },
    stderr: 'pipe',
  });
  const client = new McpClient({ name: 'bm-log-test', version: '1.0.0' });
  await client.connect(transport);
  open.push(client);
  return client;
}

interface ToolOut {
  readonly isError?: boolean;
  readonly structuredContent?: Record<string, unknown>;
  readonly content: readonly { type: string; text?: string }[];
}

async function call(c: McpClient, name: string, args: Record<string, unknown> = {}): Promise<ToolOut> {
  return (await c.callTool({ name, arguments: args })) as unknown as ToolOut;
}

async function ok(c: McpClient, name: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const r = await call(c, name, args);
  expect(r.isError ?? false, JSON.stringify(r.content)).toBe(false);
  return r.structuredContent!;
}

describe('bm-log mcp over stdio', () => {
  it('lists its tools; read, write with the version read, refused with the old one naming the current, resolve', async () => {
    const { a, b } = await pair({ 'plan.md': 'one\n' });
    const c = await connect(a.dir, '--as', 'claude');
    const tools = (await c.listTools()).tools.map((t) => t.name).sort();
    expect(tools).toEqual([
      'conflicts',
      'delete',
      'diff',
      'history',
      'list',
      'read',
      'resolve',
      'restore',
      'show',
      'status',
      'sync',
      'verify',
      'write',
    ]);

    const read = await ok(c, 'read', { path: 'plan.md' });
    expect(read).toMatchObject({ path: 'plan.md', text: 'one\n', conflict: false });
    const v1 = read['version'] as string;
    const written = await ok(c, 'write', { path: 'plan.md', expectedVersion: v1, text: 'agent\n' });
    expect(written['conflict']).toBe(false);
    const v2 = written['version'] as string;
    expect(v2).not.toBe(v1);
    await b.syncOk();
    expect(await b.read('plan.md')).toBe('agent\n');
    // The agent is a client of its own: the log names it.
    expect((await b.log('plan.md'))[0]).toMatchObject({ clientName: 'claude', version: v2 });

    const stale = await call(c, 'write', { path: 'plan.md', expectedVersion: v1, text: 'stale\n', onStale: 'refuse' });
    expect(stale.isError).toBe(true);
    expect(stale.structuredContent?.['error']).toMatchObject({ code: 'stale-version', currentVersions: [v2] });
    expect(stale.content[0]?.text).toContain(v2);
    expect(stale.content[0]?.text).toMatch(/next: read the path again/);
    await b.syncOk();
    expect(await b.read('plan.md')).toBe('agent\n');

    // The first version, by its id: content and record.
    const shown = await ok(c, 'show', { version: v1.slice(-8) });
    expect(shown).toMatchObject({ version: v1, path: 'plan.md', text: 'one\n', size: 4 });
    expect(shown['bytes']).toBeUndefined();

    // Bob edits; the agent writes against the version it had read without saying what a stale
    // write does: the default (a person's rule) tries the merge, and keeps both as a conflict.
    await b.write('plan.md', 'bob\n');
    await b.syncOk();
    const kept = await ok(c, 'write', { path: 'plan.md', expectedVersion: v2, text: 'agent again\n' });
    expect(kept).toMatchObject({ conflict: true, merged: false, notMerged: { reason: 'overlap' } });
    // diff of the conflict: each version against their common ancestor (v2), as small hunks.
    const d = (await ok(c, 'diff', { path: 'plan.md' })) as { diffs: { fromVersion: string; hunks: { lines: string[] }[] }[] };
    expect(d.diffs.map((x) => x.fromVersion)).toEqual([v2, v2]);
    expect(d.diffs.map((x) => x.hunks.flatMap((h) => h.lines).filter((l) => l.startsWith('+'))).sort()).toEqual([
      ['+agent again'],
      ['+bob'],
    ]);
    const conflicts = (await ok(c, 'conflicts'))['conflicts'] as { path: string; versions: { version: string; by: string }[] }[];
    expect(conflicts.map((x) => x.path)).toEqual(['plan.md']);
    expect(conflicts[0]!.versions.map((v) => v.by).sort()).toEqual(['bob', 'claude']);
    const resolved = await ok(c, 'resolve', { path: 'plan.md', keep: kept['version'] });
    expect(resolved['heads']).toHaveLength(1);
    expect((await ok(c, 'conflicts'))['conflicts']).toEqual([]);
    await b.syncOk();
    expect(await b.read('plan.md')).toBe('agent again\n');
    expect(await b.conflicts()).toEqual([]);
  }, 180_000);

  it('serves notes and history as resources; errors say what to do next', async () => {
    const { a } = await pair({ 'notes/plan.md': 'one\n' });
    const c = await connect(a.dir);
    const listed = (await c.listResources()).resources.map((r) => r.uri);
    expect(listed).toEqual(['bm-log://note/notes/plan.md']);
    const note = await c.readResource({ uri: 'bm-log://note/notes/plan.md' });
    expect(note.contents[0]).toMatchObject({ text: 'one\n' });
    const history = await c.readResource({ uri: 'bm-log://history/notes/plan.md' });
    const text = (history.contents[0] as { text?: string } | undefined)?.text;
    const versions = JSON.parse(String(text)) as { versions: { by: string }[] };
    expect(versions.versions.map((v) => v.by)).toEqual(['alice']);
    const missing = await call(c, 'read', { path: 'notes/none.md' });
    expect(missing.isError).toBe(true);
    expect(missing.structuredContent?.['error']).toMatchObject({ code: 'not-found', next: expect.stringMatching(/expectedVersion null/) });
    const hostile = await call(c, 'write', { path: '../outside.md', expectedVersion: null, text: 'x' });
    expect(hostile.isError).toBe(true);
    expect(hostile.structuredContent?.['error']).toMatchObject({ code: expect.stringMatching(/bad-path|usage/) });
    const created = await ok(c, 'write', { path: 'notes/new.md', expectedVersion: null, text: 'new\n' });
    expect(await a.read('notes/new.md')).toBe('new\n');
    expect(created['heads']).toEqual([created['version']]);
    const v1 = (await ok(c, 'read', { path: 'notes/plan.md' }))['version'];
    const v2 = (await ok(c, 'write', { path: 'notes/plan.md', expectedVersion: v1, text: 'one\ntwo\n' }))['version'];
    const then = (await ok(c, 'list', { at: v1 }))['files'] as { path: string; version: string }[];
    expect(then.find((f) => f.path === 'notes/plan.md')?.version).toBe(v1);
    const d = await ok(c, 'diff', { from: v1, to: v2 });
    expect(d).toMatchObject({
      diffs: [{ fromVersion: v1, toVersion: v2, same: false, hunks: [{ lines: [' one', '+two'] }] }],
      omittedLines: 0,
    });
    expect(JSON.stringify(d)).not.toContain('@@');
    const half = await call(c, 'diff', { from: v1 });
    expect(half.structuredContent?.['error']).toMatchObject({ code: 'usage', next: expect.stringMatching(/path/) });
  }, 180_000);
});
