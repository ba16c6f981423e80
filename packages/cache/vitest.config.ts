import { defineProject } from 'vitest/config';

export default defineProject({ test: { name: '@bulwark/cache', include: ['src/**/*.test.ts'] } });
