import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** The Markdown files of a directory, and of its subdirectories when `deep`. */
function markdownIn(dir: string, deep: boolean): string[] {
  if (!existsSync(`${root}${dir}`)) return [];
  return readdirSync(`${root}${dir}`, { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory())
      return deep && entry.name !== 'node_modules' ? markdownIn(path, deep) : [];
    return entry.name.endsWith('.md') ? [path] : [];
  });
}

const packageDirs = readdirSync(`${root}packages`).filter((dir) =>
  existsSync(`${root}packages/${dir}/package.json`),
);
const productDocs = [
  'README.md',
  ...markdownIn('docs', true),
  ...markdownIn('benchmarks', false),
  ...packageDirs.flatMap((dir) => markdownIn(`packages/${dir}`, false)),
  ...readdirSync(`${root}examples`).flatMap((dir) => markdownIn(`examples/${dir}`, false)),
];

// The project's documentation is what its users have: a pointer to a design file outside the
// repository leads nowhere.
describe('the documentation', () => {
  it.each(productDocs)('%s points to no design file outside the repository', (path) => {
    const text = readFileSync(`${root}${path}`, 'utf8');
    expect(text).not.toMatch(/ARCHITECTURE\.md/);
    expect(text).not.toMatch(/\.\.\/shared\b|\/work\/shared/);
  });

  it('defines the standard outbound pipeline and the package map in docs/architecture.md', () => {
    const text = readFileSync(`${root}docs/architecture.md`, 'utf8');
    expect(text).toMatch(/^## The standard outbound pipeline$/m);
    expect(text).toMatch(/^## Packages and the direction of dependency$/m);
    const diagram = /^## Packages and the direction of dependency$[\s\S]*?```\n([\s\S]*?)```/m.exec(
      text,
    )?.[1];
    expect(diagram, 'the dependency diagram').toBeDefined();
    for (const dir of packageDirs) {
      expect(diagram, `${dir} in the dependency diagram`).toMatch(
        new RegExp(`(^|[\\s,])${dir}([\\s,]|$)`, 'm'),
      );
      const { name, private: isPrivate } = JSON.parse(
        readFileSync(`${root}packages/${dir}/package.json`, 'utf8'),
      ) as { name: string; private?: boolean };
      if (isPrivate !== true) expect(text, `${name} in the package table`).toContain(`\`${name}\``);
    }
  });
});
