import ignore from 'ignore';
import { describe, expect, it } from 'vitest';
import { BUILTIN_IGNORES, computeIgnoreMatcher } from '../../src/local/ignore-rules.js';

// The matcher starts a new `ignore` instance every 10,000 answers, so that a scan of 100,000
// files does not keep an answer cached for each (ADR-0010). Its answers must not change.

describe('computeIgnoreMatcher', () => {
  it('answers as one long-lived instance would, across many renewals, folders and negations included', () => {
    const rules = 'build/\n*.log\n!keep.log\ndrafts/**/secret-*\n/top-only.md\n';
    const reference = ignore()
      .add([...BUILTIN_IGNORES])
      .add(rules);
    const matcher = computeIgnoreMatcher(rules);
    const names = ['a.md', 'x.log', 'keep.log', 'build/', 'build/out.md', 'secret-1.md', 'top-only.md', '.DS_Store', 'n.swp', '.bm-log/'];
    let ignored = 0;
    for (let i = 0; i < 35_000; i++) {
      const dir = ['', 'notes/', `drafts/d${i % 7}/`, 'build/', `area-${i % 13}/`][i % 5]!;
      const p = `${dir}${names[i % names.length]}`;
      const want = reference.ignores(p);
      expect(matcher(p), p).toBe(want);
      if (want) ignored++;
    }
    // The rules were exercised both ways.
    expect(ignored).toBeGreaterThan(5000);
    expect(ignored).toBeLessThan(30_000);
  });
});
