import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // Real child processes, real temp folders and tfjs: give slow CI machines room.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: more workers only thrash.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
