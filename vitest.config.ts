import { configDefaults, defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/worker/ runs inside workerd: `npm run test:workers` (vitest.workers.config.ts).
    exclude: [...configDefaults.exclude, 'test/worker/**'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Integration suites start real servers; files run in parallel on separate forks.
    pool: 'forks',
  },
})
