import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: '@bulwark/server', include: ['src/**/*.test.ts'] },
});
