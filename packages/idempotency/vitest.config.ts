import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: '@bulwark/idempotency', include: ['src/**/*.test.ts'] },
});
