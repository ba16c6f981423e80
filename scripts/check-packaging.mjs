// Packs every publishable package, installs the tarballs into a throwaway project and proves
// that each one loads through ESM `import` and through CommonJS `require()` (Node >= 20.19),
// then runs publint on each package.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] }).toString();

const packages = readdirSync(join(root, 'packages'))
  .map((dir) => join(root, 'packages', dir))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
  .filter(({ manifest }) => !manifest.private);

const work = mkdtempSync(join(tmpdir(), 'bulwark-consumer-'));
try {
  const tarballs = packages.map(({ dir }) => {
    run('npx', ['publint', '--strict'], dir);
    const name = run('npm', ['pack', '--silent', '--pack-destination', work], dir)
      .trim()
      .split('\n')
      .pop();
    return join(work, name);
  });
  writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  run('npm', ['install', '--silent', '--no-audit', '--no-fund', ...tarballs], work);

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
  console.log(`publint ok: ${names.join(', ')}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
