/**
 * The vault-wide merge policy (ADR-0020). It travels in a signed `config` event (ADR-0019) and
 * every merge event names the algorithm it used, so every client decides and merges alike:
 * never a per-client setting, since two clients with different settings would write different
 * bytes and never converge.
 */
import ignore from 'ignore';
import { z } from 'zod';
import { computeTextProblem, type TextProblem } from './text-content.js';

/** Merge algorithms and their versions. The bytes a merge writes are a pure function of these. */
export const MergeAlgo = { lines: 'lines/1', markdown: 'markdown/1' } as const;
export type MergeAlgo = (typeof MergeAlgo)[keyof typeof MergeAlgo];

/** The policy as it travels in a config event's `settings.merge`. */
export const mergePolicySchema = z
  .object({
    /** Off: no path merges; every concurrent edit stays a conflict as in format 1. */
    enabled: z.boolean(),
    /** The largest base or head, in bytes, that may merge. */
    maxBytes: z
      .number()
      .int()
      .min(0)
      .max(64 * 1024 * 1024),
    /** gitignore syntax (as .bmignore): the paths that may merge; `!` excludes. */
    patterns: z.array(z.string().max(1024)).max(256),
    /** gitignore syntax: the mergeable paths whose front matter merges key by key (`markdown/1`). */
    markdownPatterns: z.array(z.string().max(1024)).max(256),
  })
  .strict();
export type MergePolicy = z.infer<typeof mergePolicySchema>;

/** The default: Markdown (front matter key by key) and plain text, up to 1 MiB. */
export const DEFAULT_MERGE_POLICY: MergePolicy = {
  enabled: true,
  maxBytes: 1024 * 1024,
  patterns: ['*.md', '*.markdown', '*.txt'],
  markdownPatterns: ['*.md', '*.markdown'],
};

/** Whether a path may merge, and with which algorithm. */
export type MergeDecision =
  | { readonly merge: true; readonly algo: MergeAlgo }
  | { readonly merge: false; readonly reason: 'disabled' | 'pattern' | TextProblem };

/**
 * Pure: whether `path` may merge under `policy`, given the bytes of its base and heads (each
 * must be text within the size limit). Binary files never merge.
 */
export function mayMerge(path: string, policy: MergePolicy, ...contents: readonly Uint8Array[]): MergeDecision {
  if (!policy.enabled) return { merge: false, reason: 'disabled' };
  if (!ignore().add(policy.patterns).ignores(path)) return { merge: false, reason: 'pattern' };
  for (const bytes of contents) {
    const problem = computeTextProblem(bytes, policy.maxBytes);
    if (problem !== null) return { merge: false, reason: problem };
  }
  return { merge: true, algo: ignore().add(policy.markdownPatterns).ignores(path) ? MergeAlgo.markdown : MergeAlgo.lines };
}
