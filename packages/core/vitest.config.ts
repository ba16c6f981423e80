import { defineProject } from 'vitest/config';

export default defineProject({ test: { name: '@bulwark/core', include: ['src/**/*.test.ts'] } });
