import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Real-Envoy tests bind ports and start processes; keep files serial so two
    // Envoys never race for the same machine resources on 2 cores.
    fileParallelism: false,
    pool: 'forks',
  },
});
