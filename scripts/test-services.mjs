#!/usr/bin/env node
// The programs the tests start for real (a redis-server per run, PostgreSQL per test file, a
// headless chromium, promtool, and whatever a package adds to SERVICES), provided by the project
// itself: found on PATH or at the path its environment variable names, otherwise installed from
// Debian's packages when this process may do so (root, apt-get), otherwise a clear message and a
// non-zero exit. Never a silent skip: a test that needs Redis and finds none must fail, not pass
// by not running. (By hand, as root: apt-get install redis-server postgresql chromium prometheus.)
//
// It runs as vitest's global setup, so `npm test`, `npx vitest run` and `.ci/run` all get it, and
// by hand: `node scripts/test-services.mjs` (add `--check` to report without installing).
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * What the tests start, the variable that may point at it, the Debian package that has it, and
 * where that package puts it when not on PATH.
 */
export const SERVICES = [
  {
    binary: 'redis-server',
    env: 'REDIS_SERVER',
    debianPackage: 'redis-server',
    neededBy:
      "the Redis stores of @bulwark/cache, @bulwark/idempotency, @bulwark/health and @bulwark/rate-limit, the adapters' Redis tests, and @bulwark/outbox's Redis Streams transport",
  },
  {
    // initdb sits beside it: @bulwark/testing's startPostgres() runs both from one directory.
    binary: 'postgres',
    env: 'POSTGRES',
    debianPackage: 'postgresql',
    neededBy:
      'the relay, crash and fleet tests of @bulwark/outbox and the lease tests of @bulwark/saga (a real server per test file)',
    // Debian keeps the server's programs off PATH, one directory per major version.
    versionedDir: '/usr/lib/postgresql',
  },
  {
    binary: 'chromium',
    env: 'CHROMIUM',
    debianPackage: 'chromium',
    neededBy: "@bulwark/dashboard's page, loaded in a real headless browser",
  },
  {
    binary: 'promtool',
    env: 'PROMTOOL',
    debianPackage: 'prometheus',
    neededBy: 'the Prometheus alerting and recording rules of docs/grafana, tested with promtool',
  },
];

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The path the tests will run, or undefined. */
export function locate(service, env = process.env) {
  const override = env[service.env];
  if (override !== undefined && override !== '')
    return isExecutable(override) ? override : undefined;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, service.binary);
    if (isExecutable(candidate)) return candidate;
  }
  if (service.versionedDir !== undefined) {
    for (const version of versionsNewestFirst(service.versionedDir)) {
      const candidate = join(service.versionedDir, version, 'bin', service.binary);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
}

/** The numbered subdirectories of `dir` (`15`, `16`...), highest first; none when it is absent. */
function versionsNewestFirst(dir) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a));
}

function canInstall() {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const apt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  return root && apt;
}

function explain(missing) {
  const lines = missing.map(
    (s) =>
      `  - ${s.binary} (${s.neededBy}): install Debian's "${s.debianPackage}" package, ` +
      `or set ${s.env} to its path`,
  );
  return [
    'The tests start these programs for real and cannot find them:',
    ...lines,
    `As root on Debian or Ubuntu this script installs them itself: sudo node scripts/test-services.mjs`,
  ].join('\n');
}

/** Finds every service, installing what is missing where allowed. Throws with the reason if not. */
export function ensureServices({ install = true, log = console.log } = {}) {
  let missing = SERVICES.filter((s) => locate(s) === undefined);
  if (missing.length === 0) return;
  if (!install || !canInstall()) throw new Error(explain(missing));

  const packages = missing.map((s) => s.debianPackage);
  log(`test services: installing ${packages.join(', ')} from Debian's packages (apt-get)...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env,
    });
  } catch (error) {
    throw new Error(`${explain(missing)}\napt-get failed: ${error.message}`);
  }
  missing = SERVICES.filter((s) => locate(s) === undefined);
  if (missing.length > 0) throw new Error(explain(missing));
  log('test services: ready');
}

/** vitest's global setup: runs once before any test file. */
export function setup() {
  ensureServices();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    ensureServices({ install: !process.argv.includes('--check') });
    for (const s of SERVICES) console.log(`${s.binary}: ${locate(s)}`);
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}
