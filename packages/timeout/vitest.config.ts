import { defineProject } from 'vitest/config';

export default defineProject({ test: { name: '@bulwark/timeout', include: ['src/**/*.test.ts'] } });
