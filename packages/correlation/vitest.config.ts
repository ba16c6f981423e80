import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: '@bulwark/correlation', include: ['src/**/*.test.ts'] },
});
