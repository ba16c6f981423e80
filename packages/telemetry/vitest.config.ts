import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: '@bulwark/telemetry', include: ['src/**/*.test.ts'] },
});
