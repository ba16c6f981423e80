import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: '@bulwark/bulkhead', include: ['src/**/*.test.ts'] },
});
