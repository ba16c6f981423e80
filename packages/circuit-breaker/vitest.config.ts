import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: '@bulwark/circuit-breaker', include: ['src/**/*.test.ts'] },
});
