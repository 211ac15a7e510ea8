// Test oracle: the string front-matter cut of src/merge/front-matter.ts as it was at main 919b4f0, before the merge was made faster
// (issue 22's bench). Frozen on purpose: oracle.property.test.ts checks that src/merge writes the same bytes.
/**
 * Markdown front matter (YAML between a leading `---` line and the next `---` line) merged key
 * by key (ADR-0020). The yaml package's Document API parses each side and locates its top-level
 * keys; the merged front matter is spliced from each side's own text for each key (the comment
 * lines directly above a key belong to it), so bytes nobody changed stay byte for byte (writing
 * the Document back would re-indent and re-quote untouched keys). A key whose text both sides
 * changed differently is a conflict. Front matter that is not a block map of unique scalar keys
 * at column 0 is not split: the caller merges the whole file line by line instead.
 */
/** A text cut into front matter and body: text = "---\n" + yaml + "---\n" + body. */
export interface FrontMatterSplit {
  readonly yaml: string;
  readonly body: string;
}

/** Pure: `text` (LF line endings) cut at its front matter, or null when it has none. */
export function computeFrontMatterSplit(text: string): FrontMatterSplit | null {
  if (!text.startsWith('---\n')) return null;
  const close = text.startsWith('---\n', 4) ? 4 : text.indexOf('\n---\n', 3) + 1;
  if (close <= 0) return null;
  return { yaml: text.slice(4, close), body: text.slice(close + 4) };
}
