/**
 * Markdown front matter (YAML between a leading `---` line and the next `---` line) merged key
 * by key (ADR-0020). The yaml package's Document API parses each side and locates its top-level
 * keys; the merged front matter is spliced from each side's own text for each key (the comment
 * lines directly above a key belong to it), so bytes nobody changed stay byte for byte (writing
 * the Document back would re-indent and re-quote untouched keys). A key whose text both sides
 * changed differently is a conflict. Front matter that is not a block map of unique scalar keys
 * at column 0 is not split: the caller merges the whole file line by line instead.
 */
import { createRequire } from 'node:module';

/*
 * yaml (CommonJS, ~80 modules) is loaded on the first front matter merged, not when the sync
 * engine loads: every sync, a no-op included, imports this module through the merge stage, and
 * loading yaml cost a no-op ~0.1 s of CPU (docs/performance.md, "The no-op at 100k, explained").
 */
type Yaml = typeof import('yaml');
let yamlModule: Yaml | undefined;
function loadYaml(): Yaml {
  yamlModule ??= createRequire(import.meta.url)('yaml') as Yaml;
  return yamlModule;
}

/** A text cut into front matter and body: text = "---\n" + yaml + "---\n" + body (UTF-8 bytes). */
export interface FrontMatterSplit {
  readonly yaml: string;
  readonly body: Uint8Array;
}

/** Front matter as the text before its first key, and each key's text, in order. */
interface KeyBlocks {
  readonly head: string;
  readonly keys: readonly string[];
  readonly text: ReadonlyMap<string, string>;
}

export type FrontMatterOutcome = { readonly kind: 'merged'; readonly yaml: string } | { readonly kind: 'conflict'; readonly key: string };

const FENCE = '---\n';
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Pure: `text` (UTF-8, LF line endings) cut at its front matter, or null when it has none. The
 * fences are ASCII, so byte offsets find them where the text's characters have them.
 */
export function computeFrontMatterSplit(text: Uint8Array): FrontMatterSplit | null {
  if (!hasFence(text, 0)) return null;
  const close = hasFence(text, 4) ? 4 : Buffer.from(text.buffer, text.byteOffset, text.byteLength).indexOf(`\n${FENCE}`, 3) + 1;
  if (close <= 0) return null;
  return { yaml: utf8.decode(text.subarray(4, close)), body: text.subarray(close + 4) };
}

const hasFence = (text: Uint8Array, at: number): boolean =>
  text[at] === 45 && text[at + 1] === 45 && text[at + 2] === 45 && text[at + 3] === 10; // "---\n"

/** Pure: the key blocks of front matter `yaml`, or null when it is not a plain block map. */
export function computeKeyBlocks(yaml: string): KeyBlocks | null {
  const { isMap, isScalar, parseDocument } = loadYaml();
  const doc = parseDocument(yaml);
  if (doc.errors.length > 0 || doc.warnings.length > 0 || !isMap(doc.contents) || doc.contents.flow === true) return null;
  const starts: { key: string; at: number }[] = [];
  for (const pair of doc.contents.items) {
    if (!isScalar(pair.key) || typeof pair.key.value !== 'string' || pair.key.range === undefined || pair.key.range === null) return null;
    const at = pair.key.range[0];
    if (at > 0 && yaml[at - 1] !== '\n') return null; // not at column 0
    starts.push({ key: pair.key.value, at: withCommentsAbove(yaml, at) });
  }
  if (starts.length === 0) return null;
  const text = new Map<string, string>();
  for (const [i, s] of starts.entries()) text.set(s.key, yaml.slice(s.at, starts[i + 1]?.at ?? yaml.length));
  return { head: yaml.slice(0, starts[0]?.at ?? 0), keys: starts.map((s) => s.key), text };
}

/** The start of the run of column-0 comment lines directly above the line at `at`. */
function withCommentsAbove(yaml: string, at: number): number {
  let start = at;
  while (start > 0) {
    const prev = yaml.lastIndexOf('\n', start - 2) + 1;
    if (yaml[prev] !== '#') break;
    start = prev;
  }
  return start;
}

/** Pure: a three-way choice; undefined is "absent". Null when both sides changed it differently. */
function pick(o: string | undefined, a: string | undefined, b: string | undefined): { value: string | undefined } | null {
  if (a === o) return { value: b };
  if (b === o || b === a) return { value: a };
  return null;
}

/** Pure: front matter `a` and `b` merged key by key from `o`. */
export function computeFrontMatterMerge(o: KeyBlocks, a: KeyBlocks, b: KeyBlocks): FrontMatterOutcome {
  const head = pick(o.head, a.head, b.head);
  if (head === null) return { kind: 'conflict', key: '(comments before the first key)' };
  const values = new Map<string, string>();
  for (const key of [...new Set([...a.keys, ...b.keys, ...o.keys])]) {
    const chosen = pick(o.text.get(key), a.text.get(key), b.text.get(key));
    if (chosen === null) return { kind: 'conflict', key };
    if (chosen.value !== undefined) values.set(key, chosen.value);
  }
  const order = computeKeyOrder(o.keys, a.keys, b.keys);
  if (order === null) return { kind: 'conflict', key: '(the order of keys)' };
  const keys = order.filter((k) => values.has(k));
  return { kind: 'merged', yaml: (head.value ?? '') + keys.map((k) => withNewline(values.get(k) as string)).join('') };
}

/** A block moved to the end gains the newline the closing `---` line had given it. */
const withNewline = (block: string): string => (block.endsWith('\n') ? block : `${block}\n`);

/**
 * Pure: the merged order of keys. The side that reordered the keys it shares with the base
 * gives the order (both reordering differently: null); the other side's new keys go after the
 * key they follow on that side (first, when none).
 */
export function computeKeyOrder(o: readonly string[], a: readonly string[], b: readonly string[]): string[] | null {
  const reordered = (x: readonly string[]) =>
    !sameOrder(
      x.filter((k) => o.includes(k)),
      o.filter((k) => x.includes(k)),
    );
  const shared = (x: readonly string[]) => x.filter((k) => o.includes(k) && a.includes(k) && b.includes(k));
  if (reordered(a) && reordered(b) && !sameOrder(shared(a), shared(b))) return null;
  const [first, second] = reordered(b) && !reordered(a) ? [b, a] : [a, b];
  const out = [...first];
  second.forEach((k, i) => {
    if (out.includes(k)) return;
    const after = second
      .slice(0, i)
      .reverse()
      .find((p) => out.includes(p));
    out.splice(after === undefined ? 0 : out.indexOf(after) + 1, 0, k);
  });
  return out;
}

const sameOrder = (x: readonly string[], y: readonly string[]): boolean => x.length === y.length && x.every((k, i) => k === y[i]);
