import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: ['packages/*'],
    // Tests talk to real servers on loopback; a hung socket must fail the test, not the run.
    testTimeout: 15_000,
    hookTimeout: 15_000,
  },
});
