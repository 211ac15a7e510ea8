// Test oracle: src/merge/text-content.ts as it was at main 919b4f0, before the merge was made faster
// (issue 22's bench). Frozen on purpose: oracle.property.test.ts checks that src/merge writes the same bytes.
/**
 * What counts as text for merging (ADR-0020): valid UTF-8 (a byte-order mark is allowed and is
 * just the first characters of the first line), no NUL byte, and at most the policy's size.
 * Everything else is binary and is never merged: a conflict stays a conflict.
 */

/** Why bytes are not mergeable text; null when they are. */
export type TextProblem = 'too-large' | 'has-nul' | 'not-utf8';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Pure: why `bytes` may not be merged as text (null: they may). */
export function computeTextProblem(bytes: Uint8Array, maxBytes: number): TextProblem | null {
  if (bytes.byteLength > maxBytes) return 'too-large';
  if (bytes.includes(0)) return 'has-nul';
  try {
    strictUtf8.decode(bytes);
  } catch {
    return 'not-utf8';
  }
  return null;
}
