import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: '@bulwark/health', include: ['src/**/*.test.ts'] },
});
