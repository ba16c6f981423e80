import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const example = readFileSync(new URL('./readme-example.ts', import.meta.url), 'utf8');

/** The README's example: the first TypeScript block after its "## Example" heading. */
function readmeExample(): string {
  const section = readme.slice(readme.indexOf('\n## Example\n'));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (match === null) throw new Error('the README has no ts block under "## Example"');
  return match[1]!;
}

describe('README example', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('is the same code as readme-example.ts, which the typecheck covers', () => {
    // readme-example.ts imports the package's source, not its build, so that it typechecks
    // before a build; it ends with `export {};` only to be a module for the compiler.
    const asPublished = example
      .replace("from './index.js';", "from '@bulwark/service-client';")
      .replace(/\n+export \{\};\n$/, '\n');
    expect(asPublished).toBe(readmeExample());
  });

  it('runs, and every one of its 40 calls is answered although one replica answers 503', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    });
    await import('./readme-example.js');
    expect(lines).toContain('40 of 40 calls answered');
  });
});
