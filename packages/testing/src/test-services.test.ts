import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const script = `${root}scripts/test-services.mjs`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs scripts/test-services.mjs --check (never installs) with `env` added. */
function check(env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script, '--check'],
      { env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : (error.code as number | null), stdout, stderr });
      },
    );
  });
}

// The README's `npm ci && npm test` must work on a machine with only Node and npm: the programs
// the tests start are found or installed by this script, and where neither can be done the run
// stops with what to install. A silent skip would let a missing Redis pass as a green run.
describe('scripts/test-services.mjs', () => {
  it('runs before any test of the README’s test command, as vitest’s global setup', async () => {
    const config = (
      (await import(`${root}vitest.config.ts`)) as {
        default: { test?: { globalSetup?: string[] } };
      }
    ).default;
    expect(config.test?.globalSetup).toContain('./scripts/test-services.mjs');
    const manifest = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(manifest.scripts.test).toMatch(/&& vitest run$/);
  });

  it('exits non-zero, naming the program, its Debian package and its variable, when one is missing', async () => {
    const run = await check({ REDIS_SERVER: '/nonexistent/redis-server' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('The tests start these programs for real and cannot find them:');
    expect(run.stderr).toContain('  - redis-server (');
    expect(run.stderr).toContain('install Debian\'s "redis-server" package, or set REDIS_SERVER');
    expect(run.stdout).toBe('');
  });

  it('takes a program from its variable, and reports where each one is', async () => {
    // Any executable stands in: --check only finds programs, it does not start them.
    const run = await check({ REDIS_SERVER: process.execPath });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`redis-server: ${process.execPath}\n`);
    for (const binary of ['postgres', 'chromium', 'promtool']) {
      expect(run.stdout).toMatch(new RegExp(`^${binary}: /`, 'm'));
    }
  });
});
