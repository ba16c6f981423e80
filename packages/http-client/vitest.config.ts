import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: '@bulwark/http-client', include: ['src/**/*.test.ts'] },
});
