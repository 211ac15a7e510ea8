/**
 * The MCP `diff` tool's result stays small (ADR-0028): at most the cap of lines over all its
 * diffs, the rest counted, hunks cut at the cap, and no unified-text copy of the hunks.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FileDiff } from '../../src/api/diff-versions.js';
import { computeDiffResult } from '../../src/mcp/mcp-server.js';

const hunk = fc.record({
  oldStart: fc.nat(),
  oldLines: fc.nat(),
  newStart: fc.nat(),
  newLines: fc.nat(),
  lines: fc.array(
    fc.string().map((s) => `+${s}`),
    { maxLength: 30 },
  ),
});
const diff: fc.Arbitrary<FileDiff> = fc.record({
  from: fc.string(),
  to: fc.string(),
  fromVersion: fc.constant(null),
  toVersion: fc.constant(null),
  binary: fc.constant(false),
  same: fc.constant(false),
  hunks: fc.array(hunk, { maxLength: 5 }),
  text: fc.string(),
});

describe('computeDiffResult', () => {
  it('keeps at most `max` lines, in order, and counts every line it leaves out', () => {
    fc.assert(
      fc.property(fc.array(diff, { maxLength: 4 }), fc.integer({ min: 0, max: 60 }), (diffs, max) => {
        const r = computeDiffResult(diffs, max) as { diffs: { hunks: { lines: string[] }[]; text?: string }[]; omittedLines: number };
        const all = diffs.flatMap((d) => d.hunks.flatMap((h) => h.lines));
        const kept = r.diffs.flatMap((d) => d.hunks.flatMap((h) => h.lines));
        expect(kept.length).toBeLessThanOrEqual(max);
        expect(kept).toEqual(all.slice(0, kept.length));
        expect(kept.length + r.omittedLines).toBe(all.length);
        expect(r.diffs.every((d) => d.text === undefined)).toBe(true);
      }),
    );
  });
});
