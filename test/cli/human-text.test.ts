/**
 * Names as humans see them, and commands they paste (src/client/human-text.ts, ADR-0018):
 * displayed names are unambiguous and never carry a control character; a quoted word is
 * exactly the word again in bash.
 */
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { displayName, escapeForTerminal, shellCommand, shellQuote } from '../../src/client/human-text.js';

/** Inverse of displayName's escapes (a test oracle: decoding must give the name back). */
function decodeDisplay(s: string): string {
  return s.replace(/\\(n|t|r|\\|x[0-9a-f]{2}|u\{[0-9a-f]+\})/g, (_, e: string) => {
    if (e === 'n') return '\n';
    if (e === 't') return '\t';
    if (e === 'r') return '\r';
    if (e === '\\') return '\\';
    return String.fromCodePoint(parseInt(e.startsWith('x') ? e.slice(1) : e.slice(2, -1), 16));
  });
}

const HIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;
/** Names with the characters that matter here: controls, marks, invisible and odd spaces, quotes, backslashes. */
const nameChars = fc.oneof(
  fc.constantFrom(
    'a',
    'é',
    'e',
    '\u0301',
    '\u0308',
    ' ',
    '\u00a0',
    '\u200b',
    '\u202e',
    '\ufeff',
    '\n',
    '\t',
    '\x1b',
    '\x7f',
    '\u0085',
    '\\',
    "'",
    '"',
    '$',
    '`',
    '!',
    '-',
    '.',
    '/',
    '😀',
  ),
  fc.fullUnicode(),
);
const names = fc.array(nameChars, { minLength: 1, maxLength: 12 }).map((cs) => cs.join(''));

describe('displayName', () => {
  it('is decodable: the displayed text gives the exact name back, so two names never display alike', () => {
    fc.assert(
      fc.property(fc.oneof(names, fc.string({ unit: 'binary' })), (n) => {
        expect(decodeDisplay(displayName(n))).toBe(n);
      }),
      { numRuns: 2000 },
    );
  });

  it('never carries a control, formatting or separator character, nor a lone surrogate', () => {
    fc.assert(
      fc.property(fc.oneof(names, fc.string({ unit: 'binary' })), (n) => {
        expect(displayName(n)).not.toMatch(HIDDEN);
      }),
      { numRuns: 2000 },
    );
  });

  it('never shows a combining mark that could join an escape or a space (it would hide what it follows)', () => {
    fc.assert(
      fc.property(names, (n) => {
        const tokens = displayName(n).match(/\\(?:n|t|r|\\|x[0-9a-f]{2}|u\{[0-9a-f]+\})|[^]/gu) ?? [];
        for (const [i, t] of tokens.entries())
          if (/^\p{M}$/u.test(t)) expect(i > 0 && [...tokens[i - 1]!].length === 1 && !/^[\\ ]/.test(tokens[i - 1]!)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('leaves a plain NFC name as it is', () => {
    for (const n of ['notes/plan.md', 'café.md', 'read me.md', 'Ünïcødé/日本語.txt', "it's.md"]) expect(displayName(n)).toBe(n);
  });

  it('tells NFC and NFD twins apart, and shows newlines, escapes and invisible characters', () => {
    expect(displayName('caf\u00e9.md')).toBe('café.md');
    expect(displayName('cafe\u0301.md')).toBe('cafe\\u{301}.md');
    expect(displayName('a\nb.md')).toBe('a\\nb.md');
    expect(displayName('evil\x1b[31m.md')).toBe('evil\\x1b[31m.md');
    expect(displayName('zero\u200bwidth')).toBe('zero\\u{200b}width');
    expect(displayName('back\\slash')).toBe('back\\\\slash');
    expect(displayName(' lead and trail ')).toBe('\\x20lead and trail\\x20');
  });
});

describe('escapeForTerminal (every human line and error)', () => {
  it('escapes controls and the marks of non-NFC words; leaves the rest, and what displayName wrote, alone', () => {
    expect(escapeForTerminal('kept cafe\u0301.md and café.md apart\x1b[2J')).toBe('kept cafe\\u{301}.md and café.md apart\\x1b[2J');
    fc.assert(
      fc.property(names, (n) => {
        expect(escapeForTerminal(displayName(n))).toBe(displayName(n));
      }),
    );
    expect(escapeForTerminal('line one\nline two', { keepNewlines: true })).toBe('line one\nline two');
  });
});

describe('shellQuote', () => {
  it('bash reads each quoted word back as exactly the word', () => {
    // Every word a file name can be (no NUL; well-formed UTF-16, as names on disk are).
    const words = fc
      .array(fc.oneof(names, fc.string()), { minLength: 1, maxLength: 60 })
      .map((ws) => ws.filter((w) => w.length > 0 && !w.includes('\0') && !/\p{Cs}/u.test(w)));
    fc.assert(
      fc.property(words, (ws) => {
        if (ws.length === 0) return;
        const out = execFileSync('bash', ['-c', `printf '%s\\0' ${ws.map(shellQuote).join(' ')}`], {
          env: { ...process.env, LC_ALL: 'C.UTF-8' },
        });
        expect(out.toString('utf8').split('\0').slice(0, -1)).toEqual(ws);
      }),
      { numRuns: 40 },
    );
  });

  it('a command line never holds a raw control character (it pastes as one line) nor a backtick (it is printed between two)', () => {
    fc.assert(
      fc.property(names, (n) => {
        expect(shellCommand(['restore', n, '--at', '01J0000000000000000000000A'])).not.toMatch(/[\p{Cc}\p{Zl}\p{Zp}`]/u);
      }),
    );
  });

  it('quotes only what needs it', () => {
    expect(shellQuote('notes/plan.md')).toBe('notes/plan.md');
    expect(shellQuote('read me.md')).toBe("'read me.md'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('a\nb')).toBe("$'a\\nb'");
  });
});
