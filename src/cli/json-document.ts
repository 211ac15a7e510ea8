import { stampFormat } from './json-format.js';

/** Pieces of the printed document are gathered up to about this many characters. */
const PIECE_CHARS = 1 << 16;

/**
 * The text of `JSON.stringify(data, null, 2) + '\n'`, where the string value `marker` (found
 * once in `data`) stands for an array of `items`, in pieces of about 64 KiB: a document
 * listing 100,000 ops is printed without holding its items or its text whole. The text is
 * exactly what `JSON.stringify` gives for `data` (with the format field first, json-format.ts)
 * with the array in place of the marker.
 */
export function* renderJsonWithList(data: unknown, marker: string, items: Iterable<unknown>): Generator<string> {
  const text = `${JSON.stringify(stampFormat(data), null, 2)}\n`;
  const quoted = JSON.stringify(marker);
  const at = text.indexOf(quoted);
  if (at < 0 || text.indexOf(quoted, at + 1) >= 0)
    throw new Error('renderJsonWithList: the marker must stand exactly once in the document');
  const indent = /^ */.exec(text.slice(text.lastIndexOf('\n', at) + 1))![0];
  const inner = `${indent}  `;
  let piece = `${text.slice(0, at)}[`;
  let first = true;
  for (const item of items) {
    piece += `${first ? '' : ','}\n${inner}${JSON.stringify(item, null, 2).replaceAll('\n', `\n${inner}`)}`;
    first = false;
    if (piece.length >= PIECE_CHARS) {
      yield piece;
      piece = '';
    }
  }
  yield `${piece}${first ? '' : `\n${indent}`}]${text.slice(at + quoted.length)}`;
}
