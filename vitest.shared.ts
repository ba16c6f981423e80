import { defineProject } from 'vitest/config';

/**
 * Every package's test project starts from this. A package's own vitest.config.ts does not inherit
 * the root config, so limits set only there would apply to no test at all.
 */
export const sharedTest = {
  include: ['src/**/*.test.ts'],
  // Tests talk to real servers on loopback; a hung socket must fail the test, not the run.
  testTimeout: 15_000,
  hookTimeout: 15_000,
} as const;

/** A package's test project: the shared settings under the package's name. */
export function packageProject(name: string): ReturnType<typeof defineProject> {
  return defineProject({ test: { ...sharedTest, name } });
}
