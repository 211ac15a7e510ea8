import { ErrorCode, type BmError } from '../errors.js';
import type { ProgressSink } from '../reconcile/ports.js';
import { escapeForTerminal } from '../client/human-text.js';
import { createProgressDisplay, type ProgressDisplay } from './progress-display.js';
import { stampFormat } from './json-format.js';

/**
 * Where the CLI writes. Human text by default; with --json exactly one JSON document on
 * stdout. Errors go to stderr (and, with --json, also as the document's `error`).
 * bm-log prints no colour, so NO_COLOR is honoured trivially; the progress line is drawn
 * only when stderr is a terminal, and cleared before anything else is written.
 */
export interface Output {
  /** Raw output: text, or bytes written as they are (`bm-log show`). */
  stdout(s: string | Uint8Array): void;
  stderr(s: string): void;
  line(s: string): void;
  /** Prints `data` as JSON (with the format field, json-format.ts) when `json`, else the human lines. */
  result(json: boolean | undefined, data: unknown, human: () => readonly string[]): void;
  /** Prints the `--json` document given as pieces of its text (too long to hold whole). */
  document(pieces: Iterable<string>): void;
  error(e: BmError): void;
  /**
   * A progress display on stderr for a long command (ADR-0025), or undefined when stderr is
   * not a terminal. It shows until `endProgress`; output written meanwhile clears it first.
   */
  startProgress(): ProgressSink | undefined;
  endProgress(): void;
  readonly isTty: boolean;
}

export function createOutput(): Output {
  const isTty = process.stderr.isTTY === true;
  let display: ProgressDisplay | undefined;
  const clearProgress = () => display?.pause();
  return {
    isTty,
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => {
      clearProgress();
      process.stderr.write(s);
    },
    // Human lines and errors never carry a raw control character (a name's newline or
    // escape sequence); names in them are shown by displayName already (ADR-0018).
    line: (s) => {
      clearProgress();
      process.stdout.write(`${escapeForTerminal(s)}\n`);
    },
    result: (json, data, human) => {
      clearProgress();
      if (json) process.stdout.write(`${JSON.stringify(stampFormat(data), null, 2)}\n`);
      else for (const l of human()) process.stdout.write(`${escapeForTerminal(l)}\n`);
    },
    document: (pieces) => {
      clearProgress();
      for (const piece of pieces) process.stdout.write(piece);
    },
    error: (e) => {
      clearProgress();
      const keepNewlines = e.code === ErrorCode.internal; // a stack trace
      const next = e.hint ? `  next: ${escapeForTerminal(e.hint)}\n` : '';
      process.stderr.write(`bm-log: error [${e.code}]: ${escapeForTerminal(e.message, { keepNewlines })}\n${next}`);
    },
    startProgress: () => {
      display ??= createProgressDisplay(process.stderr);
      return display?.sink;
    },
    endProgress: clearProgress,
  };
}
