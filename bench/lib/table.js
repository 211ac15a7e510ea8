// Plain-text tables and number formats shared by the benches' printed reports.

/** Seconds from milliseconds, with 2, 1 or 0 decimals as the value grows. */
export const fmtS = (ms) => (ms >= 100_000 ? (ms / 1000).toFixed(0) : ms >= 10_000 ? (ms / 1000).toFixed(1) : (ms / 1000).toFixed(2));

/** Rows (the first is the header) as aligned columns: the first left-aligned, the rest right-aligned. */
export function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows
    .map((r, i) => {
      const line = r.map((v, c) => (c === 0 ? String(v).padEnd(widths[c]) : String(v).padStart(widths[c]))).join('  ');
      return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}
