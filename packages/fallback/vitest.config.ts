import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: '@bulwark/fallback', include: ['src/**/*.test.ts'] },
});
