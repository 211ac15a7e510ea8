/**
 * Line endings and the final newline, handled apart from the lines themselves (ADR-0020), so
 * that one side converting a note to CRLF, or an editor adding the missing final newline, is a
 * change of its own and not a change of every (or the last) line. Texts are UTF-8 bytes here:
 * CR and LF bytes never occur inside a multi-byte character, so this is the same as on the text.
 */

/** How a text ends its lines: all LF, all CRLF, no line break at all, or a mix. */
export type EolForm = 'lf' | 'crlf' | 'none' | 'mixed';

const LF = 10;
const CR = 13;

/** Pure: the line-ending form of `text`. A lone CR (not before LF) is content, not a line break. */
export function computeEolForm(text: Uint8Array): EolForm {
  let lf = 0;
  let crlf = 0;
  const noCr = text.indexOf(CR) < 0; // the common case, found natively
  for (let i = text.indexOf(LF); i >= 0; i = text.indexOf(LF, i + 1)) {
    lf++;
    if (!noCr && i > 0 && text[i - 1] === CR) crlf++;
  }
  if (lf === 0) return 'none';
  if (crlf === 0) return 'lf';
  return crlf === lf ? 'crlf' : 'mixed';
}

/** Pure: CRLF text with every CRLF turned into LF (exactly reversed by `computeCrlf`). */
export function computeLf(crlfText: Uint8Array): Uint8Array {
  const out = new Uint8Array(crlfText.length);
  let n = 0;
  for (let i = 0; i < crlfText.length; i++) {
    const c = crlfText[i] as number;
    if (c !== CR || crlfText[i + 1] !== LF) out[n++] = c;
  }
  return out.subarray(0, n);
}

/** Pure: LF text with every LF turned into CRLF. */
export function computeCrlf(lfText: Uint8Array): Uint8Array {
  let lf = 0;
  for (let i = lfText.indexOf(LF); i >= 0; i = lfText.indexOf(LF, i + 1)) lf++;
  const out = new Uint8Array(lfText.length + lf);
  let n = 0;
  for (let i = 0; i < lfText.length; i++) {
    const c = lfText[i] as number;
    if (c === LF) out[n++] = CR;
    out[n++] = c;
  }
  return out;
}

/**
 * Pure: the line-ending form of a three-way merge, or null when the heads changed it in two
 * different ways. A head that changed nothing (or has no line break, so no form) leaves the
 * other's; a text without line breaks counts as LF.
 */
export function computeMergedEol(base: EolForm, a: EolForm, b: EolForm): 'lf' | 'crlf' | null {
  const changed = new Set([a, b].filter((f): f is 'lf' | 'crlf' => (f === 'lf' || f === 'crlf') && f !== base));
  if (changed.size > 1) return null;
  const [only] = changed;
  if (only !== undefined) return only;
  return base === 'crlf' ? 'crlf' : 'lf';
}

/** Pure: a two-valued attribute merged three-way: a head that kept the base's value takes the other's. */
export const computeMergedFlag = (base: boolean, a: boolean, b: boolean): boolean => (a === base ? b : a);
