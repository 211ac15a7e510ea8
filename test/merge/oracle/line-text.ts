// Test oracle: src/merge/line-text.ts as it was at main 919b4f0, before the merge was made faster
// (issue 22's bench). Frozen on purpose: oracle.property.test.ts checks that src/merge writes the same bytes.
/**
 * Line endings and the final newline, handled apart from the lines themselves (ADR-0020), so
 * that one side converting a note to CRLF, or an editor adding the missing final newline, is a
 * change of its own and not a change of every (or the last) line.
 */

/** How a text ends its lines: all LF, all CRLF, no line break at all, or a mix. */
export type EolForm = 'lf' | 'crlf' | 'none' | 'mixed';

/** A text as lines without their terminators, plus whether the last line had one. */
export interface LineText {
  readonly lines: readonly string[];
  readonly finalNewline: boolean;
}

/** Pure: the line-ending form of `text`. A lone CR (not before LF) is content, not a line break. */
export function computeEolForm(text: string): EolForm {
  let lf = 0;
  let crlf = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) {
    lf++;
    if (i > 0 && text.charCodeAt(i - 1) === 13) crlf++;
  }
  if (lf === 0) return 'none';
  if (crlf === 0) return 'lf';
  return crlf === lf ? 'crlf' : 'mixed';
}

/** Pure: CRLF text with every CRLF turned into LF (exactly reversed by `computeCrlf`). */
export const computeLf = (crlfText: string): string => crlfText.replaceAll('\r\n', '\n');

/** Pure: LF text with every LF turned into CRLF. */
export const computeCrlf = (lfText: string): string => lfText.replaceAll('\n', '\r\n');

/** Pure: `text` split at LF. The empty text has no lines; "x\n" is one line with a final newline. */
export function computeLineText(text: string): LineText {
  if (text === '') return { lines: [], finalNewline: false };
  const finalNewline = text.endsWith('\n');
  const lines = (finalNewline ? text.slice(0, -1) : text).split('\n');
  return { lines, finalNewline };
}

/** Pure: the inverse of `computeLineText`. */
export function renderLineText(t: LineText): string {
  if (t.lines.length === 0) return t.finalNewline ? '\n' : '';
  return t.lines.join('\n') + (t.finalNewline ? '\n' : '');
}
