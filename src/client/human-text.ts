/**
 * How names and commands appear in human-readable output (`--json` keeps the exact strings).
 * A file name can hold anything but '/' and NUL: a newline or an escape sequence printed raw
 * breaks the output or drives the terminal, and two names that differ only in Unicode
 * normalization (NFC `café` and NFD `cafe` + U+0301) or in invisible characters look the
 * same. `displayName` escapes what could mislead; `shellCommand` prints a command that runs
 * when pasted into bash or zsh, whatever the names it carries (ADR-0018). Pure.
 */

/** Characters shown as escapes: controls, invisible formatting, separators other than ' ', lone surrogates, '\'. */
const ALWAYS_ESCAPED = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\\]|(?! )\p{Zs}/u;
/** In a name that is not NFC, the combining marks too: that is where NFC and NFD twins differ. */
const MARK = /\p{M}/u;

/** A character that must not be shown (or pasted) as itself. */
function isHidden(ch: string, notNfc: boolean): boolean {
  return ALWAYS_ESCAPED.test(ch) || (notNfc && MARK.test(ch));
}

const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\t': '\\t', '\r': '\\r', '\\': '\\\\' };

function hex(cp: number, width: number): string {
  return cp.toString(16).padStart(width, '0');
}

/** One character as `displayName` writes it escaped. */
function escapeChar(c: string): string {
  const cp = c.codePointAt(0)!;
  return SHORT_ESCAPES[c] ?? (cp < 0x100 ? `\\x${hex(cp, 2)}` : `\\u{${cp.toString(16)}}`);
}

/**
 * A name as humans should see it: unchanged when it is plain (NFC, printable, no space at
 * either end), else with each misleading character written `\n`, `\t`, `\\`, `\xHH` or
 * `\u{H...}`. Two different names never display the same.
 */
export function displayName(name: string): string {
  const chars = [...name]; // code points; a lone surrogate stays one unit
  const notNfc = name !== name.normalize('NFC');
  // A mark with no visible base before it (first, after a space or an escape) would combine
  // with what is printed before it, an escape's last letter included: escaped too.
  const flags: boolean[] = [];
  for (const [i, c] of chars.entries()) {
    const bare = MARK.test(c) && (i === 0 || chars[i - 1] === ' ' || flags[i - 1] === true);
    flags.push(isHidden(c, notNfc) || bare || (c === ' ' && (i === 0 || i === chars.length - 1)));
  }
  if (!flags.includes(true)) return name;
  return chars.map((c, i) => (flags[i] ? escapeChar(c) : c)).join('');
}

/** Characters a shell word may hold unquoted. */
const PLAIN_WORD = /^[A-Za-z0-9_./:@%+=,-]+$/;

/**
 * One shell word for bash and zsh: as is when plain, in single quotes when it only needs
 * quoting, as $'...' (ANSI-C quoting) when it holds characters that must not be pasted raw
 * (those `displayName` escapes, and '`'): the command never holds a raw control character
 * or backtick.
 */
export function shellQuote(word: string): string {
  if (PLAIN_WORD.test(word)) return word;
  const chars = [...word];
  const notNfc = word !== word.normalize('NFC');
  // A backtick too: bm-log prints commands between backticks.
  const escapedHere = (c: string) => c === '`' || isHidden(c, notNfc);
  if (!chars.some(escapedHere)) return `'${word.replace(/'/g, `'\\''`)}'`;
  const body = chars
    .map((c) => {
      if (c === "'") return "\\'";
      if (!escapedHere(c)) return c;
      const cp = c.codePointAt(0)!;
      // \xHH is a byte in bash: only for ASCII; \u and \U write the UTF-8 of a code point.
      return SHORT_ESCAPES[c] ?? (cp < 0x80 ? `\\x${hex(cp, 2)}` : cp <= 0xffff ? `\\u${hex(cp, 4)}` : `\\U${hex(cp, 8)}`);
    })
    .join('');
  return `$'${body}'`;
}

/** `bm-log` and its arguments as one line to paste into a shell. */
export function shellCommand(args: readonly string[]): string {
  return ['bm-log', ...args.map(shellQuote)].join(' ');
}

/**
 * A line for a terminal that may hold names bm-log did not format itself (an error's message,
 * a planner's note): control and formatting characters escaped (newlines kept where
 * `keepNewlines`, for a stack trace), and in any word that is not NFC its combining marks,
 * so NFC and NFD twins differ there too. Nothing else changes; every human line and error
 * goes through it (Output), on top of `displayName` for the names bm-log prints itself.
 */
export function escapeForTerminal(text: string, options: { keepNewlines?: boolean } = {}): string {
  return text
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, (c) => (c === '\n' && options.keepNewlines === true ? c : escapeChar(c)))
    .replace(/\S+/gu, (word) =>
      word === word.normalize('NFC') ? word : [...word].map((c) => (MARK.test(c) ? escapeChar(c) : c)).join(''),
    );
}
