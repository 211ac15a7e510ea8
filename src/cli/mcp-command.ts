import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { openFolder } from '../api/open-folder.js';
import { createMcpServer } from '../mcp/mcp-server.js';
import { ExitCode } from './exit-codes.js';
import type { DirOption } from './options.js';

/** `bm-log mcp` flags. */
export interface McpFlags extends DirOption {
  /** Act as the agent client of this name (its own id and key), made on first use (ADR-0028). */
  readonly as?: string | undefined;
}

/**
 * `bm-log mcp [--as NAME]`: a Model Context Protocol server over stdin/stdout for one folder,
 * until stdin ends or a signal comes. stdout carries only the protocol; nothing else is
 * printed there. The folder is held only while a tool call runs (ADR-0028), so `sync --watch`
 * and the CLI keep working beside it.
 */
export async function runMcpCommand(o: McpFlags, version: string): Promise<number> {
  const folder = await openFolder(o.dir ?? process.cwd(), o.as === undefined ? {} : { as: o.as });
  const server = createMcpServer(folder, version);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = resolve;
    process.stdin.once('end', resolve);
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.connect(transport);
  await closed;
  await server.close();
  return ExitCode.ok;
}
