import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: '@bulwark/express', include: ['src/**/*.test.ts'] },
});
