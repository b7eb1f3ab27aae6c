import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // The test files of one worker share its module registry: each file no longer loads and
    // transforms the app again (that was a third of the suite's CPU). Test files must leave no
    // module-level state behind them (a test that re-imports a module after vi.resetModules resets
    // it again); the suite is checked in shuffled file orders.
    isolate: false,
    // One test file per core. Vitest's default keeps a core free for its main process (one worker
    // on a 2-core machine), which only waits for the workers here: every test file is CPU-bound.
    maxWorkers: Math.max(2, availableParallelism()),
    reporters: ['default'],
    // The AWS SDK warns that releases after January 2027 need Node 22; the deployed Lambdas run Node 24.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
