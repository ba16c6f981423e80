import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const packagesDir = `${root}packages/`;

interface Manifest {
  name: string;
  private?: boolean;
  engines?: { node?: string };
}

const packages = readdirSync(packagesDir)
  .filter((dir) => existsSync(`${packagesDir}${dir}/package.json`))
  .map((dir) => ({
    dir,
    manifest: JSON.parse(readFileSync(`${packagesDir}${dir}/package.json`, 'utf8')) as Manifest,
  }));

/** What the published packages need: Node whose require() loads ES modules, with cockatiel's 22. */
const PUBLISHED_FLOOR = '22.12';
/** What the repository's own tools and its private test packages run on. */
const TOOLS_FLOOR = '20.19';

/** Every Node floor a README states: "Node.js >= 22.12", "Node 22.12 or later", "Node 22.12+". */
function statedFloors(text: string): string[] {
  const floors: string[] = [];
  for (const pattern of [
    /Node(?:\.js)?\s*(?:>=|≥)\s*(\d+\.\d+)/g,
    /Node(?:\.js)?\s+(\d+\.\d+)(?:\s+or later|\+)/g,
  ]) {
    for (const match of text.matchAll(pattern)) floors.push(match[1]!);
  }
  return floors;
}

// An install on a Node a README promises must not warn about engines, and a Node the engines
// accept must be one CI tests: engines, READMEs and CI agree.
describe('supported Node versions', () => {
  it.each(packages.map(({ dir, manifest }) => [dir, manifest] as const))(
    '%s declares the floor of its kind in engines',
    (_dir, manifest) => {
      const floor = manifest.private === true ? TOOLS_FLOOR : PUBLISHED_FLOOR;
      expect(manifest.engines?.node).toBe(`>=${floor}`);
    },
  );

  it.each(
    packages
      .filter(({ dir }) => existsSync(`${packagesDir}${dir}/README.md`))
      .map(({ dir, manifest }) => [dir, manifest] as const),
  )('%s README states no Node floor but its engines one', (dir, manifest) => {
    const text = readFileSync(`${packagesDir}${dir}/README.md`, 'utf8');
    const floor = manifest.engines?.node?.replace('>=', '');
    for (const stated of statedFloors(text)) expect(stated, `${dir}/README.md`).toBe(floor);
  });

  it('names in the root README the published floor, and only Node lines CI runs the suite on', () => {
    const readme = readFileSync(`${root}README.md`, 'utf8');
    const row = /^\| Node\.js +\| ([^|]+)\|/m.exec(readme)?.[1];
    expect(row, 'the Node.js row of the Compatibility table').toBeDefined();
    expect(row).toContain(`${PUBLISHED_FLOOR}+`);
    expect(row).toContain(`\`engines\`: \`>=${PUBLISHED_FLOOR}\``);
    const promised = [...row!.matchAll(/(?:^|, )(\d+)(?:\.\d+\+)?(?=,| )/g)].map((m) => m[1]);
    const ci = readFileSync(`${root}.ci/run`, 'utf8');
    const tested = /^for major in ([\d ]+); do$/m.exec(ci)?.[1]?.split(' ');
    expect(tested, 'the Node lines .ci/run installs').toBeDefined();
    expect(promised.length).toBeGreaterThan(0);
    expect(tested).toEqual(expect.arrayContaining(promised));
  });
});
