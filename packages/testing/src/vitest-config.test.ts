import { readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packagesDir = fileURLToPath(new URL('../../', import.meta.url));
const packages = readdirSync(packagesDir).filter((name) =>
  existsSync(`${packagesDir}${name}/package.json`),
);

// A package's vitest.config.ts does not inherit the root config: a limit set only at the root
// applied to no test, and every test and Redis start-up hook ran under vitest's 5 s default.
describe('every package test project', () => {
  it.each(packages)('%s applies the shared test and hook time limits', async (name) => {
    const path = `${packagesDir}${name}/vitest.config.ts`;
    expect(existsSync(path), `${path} is missing`).toBe(true);
    const config = ((await import(path)) as { default: { test?: Record<string, unknown> } })
      .default;
    expect(config.test?.testTimeout).toBe(15_000);
    expect(config.test?.hookTimeout).toBe(15_000);
    expect(config.test?.name).toBe(`@bulwark/${name}`);
  });
});

describe('the running test', () => {
  it('runs under the shared limit, not vitest’s 5 s default', ({ task }) => {
    expect(task.timeout).toBe(15_000);
  });
});
