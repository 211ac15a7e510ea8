import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Test files run in parallel, one fork per core (vitest's default is cores - 1, which is one
// fork on a two-core machine): most files wait on child processes and disks, not the CPU.
// BM_TEST_FORKS=n overrides it (1 for a serial run when a timing looks load-sensitive).
const forks = Number(process.env['BM_TEST_FORKS'] ?? '') || Math.max(2, availableParallelism());

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: forks, minForks: 1 } },
  },
});
