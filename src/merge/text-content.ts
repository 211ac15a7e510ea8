/**
 * What counts as text for merging (ADR-0020): valid UTF-8 (a byte-order mark is allowed and is
 * just the first characters of the first line), no NUL byte, and at most the policy's size.
 * Everything else is binary and is never merged: a conflict stays a conflict.
 */
import { isUtf8 } from 'node:buffer';

/** Why bytes are not mergeable text; null when they are. */
export type TextProblem = 'too-large' | 'has-nul' | 'not-utf8';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Pure: why `bytes` may not be merged as text (null: they may). */
export function computeTextProblem(bytes: Uint8Array, maxBytes: number): TextProblem | null {
  if (bytes.byteLength > maxBytes) return 'too-large';
  if (bytes.includes(0)) return 'has-nul';
  return isUtf8(bytes) ? null : 'not-utf8';
}

/**
 * Pure: whether `bytes` are text a merge may read (valid UTF-8, no NUL): `computeText` is not
 * null, without decoding (node's `isUtf8` accepts exactly what the strict decoder does).
 */
export const isMergeableText = (bytes: Uint8Array): boolean => !bytes.includes(0) && isUtf8(bytes);

/** Pure: the text of `bytes`, or null when they are not valid UTF-8 or hold a NUL. */
export function computeText(bytes: Uint8Array): string | null {
  if (bytes.includes(0)) return null;
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}
