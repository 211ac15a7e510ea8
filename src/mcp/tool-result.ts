import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { BmError, StaleVersionError } from '../errors.js';

/*
 * What an MCP tool hands back (ADR-0028): small structured data (also as its JSON text, for
 * clients that read only text), or an error that says what happened and what to do next.
 */

/** A tool's successful result: `data` as structured content and as JSON text. */
export function computeToolResult(data: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(data) }], structuredContent: data };
}

/**
 * A failed call as a tool error the agent can act on: code, message, the next step and, for a
 * stale write, the current version(s). An unexpected failure says so; no stack is sent.
 */
export function computeToolError(e: unknown): CallToolResult {
  const err =
    e instanceof BmError
      ? e
      : new BmError(
          'internal',
          `unexpected failure: ${e instanceof Error ? e.message : String(e)}`,
          'report this to the bm-log maintainers',
        );
  const error: Record<string, unknown> = { code: err.code, message: err.message, next: err.hint };
  if (e instanceof StaleVersionError) error['currentVersions'] = [...e.current];
  return {
    isError: true,
    content: [{ type: 'text', text: `${err.code}: ${err.message}\nnext: ${err.hint}` }],
    structuredContent: { error },
  };
}
