// The Workers tests (test/worker/), inside workerd through the Cloudflare Vitest integration. Run with
// `npm run test:workers`, which first builds what the test entry imports (the integration does not run wrangler's
// [build]). The root vitest.config.ts runs everything else under Node.
import { cloudflareTest } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'
import { secrets } from './test/worker/fixtures.ts'
import { createOutbound } from './test/worker/outbound.ts'

export default defineConfig({
  plugins: [
    cloudflareTest({
      // wrangler.toml gives the bindings, the Durable Object migration and the compatibility date; the entry is the
      // tests' (same defineWorker, test config and rules).
      wrangler: { configPath: './wrangler.toml' },
      main: './test/worker/entry.ts',
      miniflare: { bindings: secrets, outboundService: createOutbound() },
    }),
  ],
  test: {
    include: ['test/worker/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})
