import { BmError } from '../../src/errors.js';

/** An unexpected error as a test world reports it: a BmError with its code and hint, else its stack. */
export function describeUnexpectedError(e: unknown): string {
  if (e instanceof BmError) return `${e.code}: ${e.message} (${e.hint})\n${e.stack ?? ''}`;
  return e instanceof Error ? (e.stack ?? e.message) : String(e);
}
