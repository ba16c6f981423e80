import { defineProject } from 'vitest/config';

export default defineProject({ test: { name: '@bulwark/hedging', include: ['src/**/*.test.ts'] } });
