import { defineProject } from 'vitest/config';

export default defineProject({ test: { name: '@bulwark/testing', include: ['src/**/*.test.ts'] } });
