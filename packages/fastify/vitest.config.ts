import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: '@bulwark/fastify', include: ['src/**/*.test.ts'] },
});
