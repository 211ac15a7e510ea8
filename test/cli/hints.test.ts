/**
 * Every `bm-log ...` command written literally in src/ (a hint between backticks) is either
 * one that first-hour.e2e pastes into bash and sees work, or a template with an UPPERCASE
 * placeholder for the user to fill in (URL, PATH...), or listed below with why it is neither.
 * Commands built from values (restore, resolve, log PATH, init --create) go through
 * shellCommand and are pasted by the e2e tests. A new literal hint must join one of these.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/cli.js';

/** Pasted and checked by first-hour.e2e (each from where bm-log ran, --dir added by localizeHint). */
const PASTED = new Set(['bm-log sync', 'bm-log sync --dry-run', 'bm-log conflicts', 'bm-log status', 'bm-log clients', 'bm-log verify']);
/** Mentions that are not commands to paste here, and why. */
const NOT_TO_PASTE: Readonly<Record<string, string>> = {
  'bm-log gc': 'names the command to run on another client (execute-gc: this one joined from a checkpoint)',
  'bm-log verify --repair': 'names the command to run on another client, one that still has the file (verify-remote)',
  'bm-log init': 'refers to the values given to init, not a command to run (state-dir)',
  'bm-log init --create':
    'names how to start over in a copy of the folder once a remote is lost for good (remote-presence); run where the remote looks empty it would create a vault',
  'bm-log config merge --help': "a usage error's pointer to the command's help text (vault-config); it prints help and changes nothing",
  'bm-log members': 'the read-only listing a refusal points to (vault-config: who the admins are); the CLI adds --dir when it prints it',
  'bm-log restore': 'names the command in a sentence about making a new version (verify-remote, a damaged pack), not a full command',
  'bm-log pack': "not a hint: the domain tag hashed into a pack's collect hash (packs.ts)",
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

/** Literal `bm-log ...` commands between backticks in code (not comments), up to an interpolation or the closing backtick. */
function literalHints(file: string): { where: string; command: string }[] {
  const out: { where: string; command: string }[] = [];
  for (const [i, line] of readFileSync(file, 'utf8').split('\n').entries()) {
    if (/^\s*(\*|\/\/|\/\*)/.test(line)) continue;
    for (const m of line.matchAll(/\\?`(bm-log [^`$\\]*)/g))
      out.push({ where: `${path.relative(REPO_ROOT, file)}:${i + 1}`, command: m[1]!.trim() });
  }
  return out;
}

describe('hints in src/', () => {
  it('every literal command is pasted by a test, is a template, or is listed with a reason', () => {
    const hints = sourceFiles(path.join(REPO_ROOT, 'src')).flatMap(literalHints);
    expect(hints.length).toBeGreaterThan(10);
    const unexplained = hints.filter(
      (h) => !PASTED.has(h.command) && !/\b[A-Z]{2,}\b/.test(h.command) && NOT_TO_PASTE[h.command] === undefined,
    );
    expect(unexplained).toEqual([]);
  });
});
