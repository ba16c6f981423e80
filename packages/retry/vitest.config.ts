import { defineProject } from 'vitest/config';

export default defineProject({ test: { name: '@bulwark/retry', include: ['src/**/*.test.ts'] } });
