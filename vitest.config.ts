import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: ['packages/*', 'examples/service-demo', 'examples/service-client'],
    // Runs once before any test file: finds the programs the tests start for real (redis-server,
    // PostgreSQL, chromium, promtool), installing them from Debian's packages where it may, and
    // fails the run with a clear message where it cannot. Per-test limits live in
    // vitest.shared.ts, which every package's project uses.
    globalSetup: ['./scripts/test-services.mjs'],
  },
});
