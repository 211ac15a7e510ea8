import { BmError, ErrorCode } from '../errors.js';

/*
 * Notes travel as text when they are UTF-8 (most are), else as base64, both ways.
 */

/** `bytes` as `{ text }` when they are valid UTF-8, else `{ base64 }`. */
export function computeNoteBody(bytes: Uint8Array): { text: string } | { base64: string } {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { base64: Buffer.from(bytes).toString('base64') };
  }
}

/** The bytes a write carries: exactly one of `text` and `base64`. */
export function mustNoteBytes(a: { text?: string | undefined; base64?: string | undefined }): Uint8Array {
  if ((a.text === undefined) === (a.base64 === undefined)) {
    throw new BmError(
      ErrorCode.usage,
      'a write carries exactly one of text and base64',
      'pass the new content as text (or base64 for binary files)',
    );
  }
  return a.text !== undefined ? new TextEncoder().encode(a.text) : Buffer.from(a.base64!, 'base64');
}
