import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';

const run = promisify(execFile);

describe('startPostgres', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('says how to get postgres when the binary is missing, instead of a bare ENOENT', async () => {
    vi.stubEnv('POSTGRES', '/nonexistent/postgres');
    vi.resetModules();
    const { startPostgres } = await import('./postgres-server.js');
    await expect(startPostgres()).rejects.toThrow(
      /cannot start \/nonexistent\/postgres \(from POSTGRES\): not found.*scripts\/test-services\.mjs/,
    );
  });

  it('starts a real server that keeps its data across stop() and start(), on its own port', async () => {
    const { postgresProgram, startPostgres } = await import('./postgres-server.js');
    const psql = async (url: string, sql: string): Promise<string> =>
      (await run(postgresProgram('psql'), [url, '-Atc', sql])).stdout.trim();
    const pg = await startPostgres();
    try {
      expect(pg.url).toBe(`postgres://postgres@127.0.0.1:${pg.port}/postgres`);
      await psql(pg.url, 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)');
      await pg.stop();
      await expect(psql(pg.url, 'SELECT 1')).rejects.toThrow();
      await pg.start();
      expect(await psql(pg.url, 'SELECT n FROM kept')).toBe('42');
    } finally {
      await pg.close();
    }
  });
});
