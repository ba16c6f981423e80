import { defineConfig, type Options } from 'tsup';

/** One build for every package: ESM with declarations, Node 20 syntax, no bundling of dependencies. */
export function packageConfig(overrides: Options = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm'],
    target: 'node20',
    dts: true,
    sourcemap: true,
    clean: true,
    treeshake: true,
    ...overrides,
  });
}
