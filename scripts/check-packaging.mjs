// Packs every publishable package, installs the tarballs into a throwaway project and proves
// that each one loads through ESM `import` and through CommonJS `require()` (Node >= 20.19 and
// >= 22.12), that its types resolve for every module resolution TypeScript users have (attw on
// each tarball, and a CommonJS TypeScript project compiled against all of them with the default
// node10 resolution and with nodenext), then runs publint on each package.
//
// attw's one accepted finding is "CJS resolves to ESM": the packages are ESM only, which Node's
// require() of ES modules loads; that is the documented way for CommonJS callers (the root
// README's Compatibility section says so, and what TypeScript's node16 mode makes of it).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
// The tools' own binaries: npx would spend seconds resolving them for each of thirty calls.
const bin = (name) => join(root, 'node_modules/.bin', name);

function run(cmd, args, cwd) {
  try {
    return execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] }).toString();
  } catch (error) {
    // Tools such as tsc and attw report on stdout: show it, not the buffer's bytes.
    process.stderr.write(error.stdout?.toString() ?? '');
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${error.status})`);
  }
}

const packages = readdirSync(join(root, 'packages'))
  .map((dir) => join(root, 'packages', dir))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
  .filter(({ manifest }) => !manifest.private);

const work = mkdtempSync(join(tmpdir(), 'bulwark-consumer-'));
try {
  const tarballs = packages.map(({ dir }) => {
    run(bin('publint'), ['--strict'], dir);
    const name = run('npm', ['pack', '--silent', '--pack-destination', work], dir)
      .trim()
      .split('\n')
      .pop();
    return join(work, name);
  });
  writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  // The optional peers too (prom-client, OpenTelemetry, ioredis): a consumer that uses those
  // entry points has them, and their types are part of the packages' declarations.
  const peers = new Map(
    packages.flatMap(({ manifest }) => Object.entries(manifest.peerDependencies ?? {})),
  );
  const peerSpecs = [...peers].map(([name, range]) => `${name}@${range}`);
  // A TypeScript consumer of a peer that ships no types (express) has DefinitelyTyped's, at the
  // version this repository builds against; without them nodenext sees the peer as `any`.
  const typeSpecs = [...peers.keys()]
    .map((name) => join(root, 'node_modules/@types', name, 'package.json'))
    .filter((path) => existsSync(path))
    .map((path) => {
      const { name, version } = JSON.parse(readFileSync(path, 'utf8'));
      return `${name}@${version}`;
    });
  run(
    'npm',
    ['install', '--silent', '--no-audit', '--no-fund', ...tarballs, ...peerSpecs, ...typeSpecs],
    work,
  );

  const names = packages.map(({ manifest }) => manifest.name);
  const subpaths = packages.flatMap(({ manifest }) =>
    Object.keys(manifest.exports)
      .filter((key) => key !== '.' && !key.endsWith('.json'))
      .map((key) => `${manifest.name}/${key.slice(2)}`),
  );
  const all = [...names, ...subpaths];
  writeFileSync(
    join(work, 'esm.mjs'),
    all
      .map(
        (n, i) =>
          `import * as m${i} from '${n}';\nif (Object.keys(m${i}).length === 0) throw new Error('${n}: no exports');`,
      )
      .join('\n') + `\nconsole.log('ESM import ok: ${all.length} entry points');\n`,
  );
  writeFileSync(
    join(work, 'cjs.cjs'),
    all
      .map(
        (n) =>
          `if (Object.keys(require('${n}')).length === 0) throw new Error('${n}: no exports');`,
      )
      .join('\n') + `\nconsole.log('CommonJS require() ok: ${all.length} entry points');\n`,
  );
  process.stdout.write(run('node', ['esm.mjs'], work));
  process.stdout.write(run('node', ['cjs.cjs'], work));

  for (const tarball of tarballs) {
    run(bin('attw'), [tarball, '--ignore-rules', 'cjs-resolves-to-esm', '--format', 'ascii'], root);
  }
  console.log(`attw ok: ${tarballs.length} tarballs (node10, node16 from CJS and ESM, bundler)`);

  // A service compiled as CommonJS (the consumer's package.json has no "type") with TypeScript's
  // defaults ("module": "commonjs" implies "moduleResolution": "node10"), and with "nodenext",
  // whose require() of ES modules the README offers too: every entry point must type-check,
  // subpaths included.
  writeFileSync(
    join(work, 'commonjs.ts'),
    all
      .map(
        (n, i) => `import * as t${i} from '${n}';
void t${i};`,
      )
      .join('\n') + '\n',
  );
  for (const module of ['commonjs', 'nodenext']) {
    const config = join(work, `tsconfig.${module}.json`);
    writeFileSync(
      config,
      JSON.stringify({
        compilerOptions: {
          module,
          target: 'ES2022',
          strict: true,
          esModuleInterop: true,
          noEmit: true,
          typeRoots: [join(root, 'node_modules/@types')],
          types: ['node'],
        },
        files: ['commonjs.ts'],
      }),
    );
    run('node', [join(root, 'node_modules/typescript/bin/tsc'), '-p', config], work);
    console.log(`TypeScript CommonJS with "module": "${module}" ok: ${all.length} entry points`);
  }
  console.log(`publint ok: ${names.join(', ')}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
