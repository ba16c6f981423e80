import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: '@bulwark/rate-limit', include: ['src/**/*.test.ts'] },
});
