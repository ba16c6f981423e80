/**
 * A real PostgreSQL server on a free loopback port, in a temporary data directory, started and
 * stopped by the tests, the way startRedis() starts Redis. The test run's global setup
 * (scripts/test-services.mjs) finds the binaries or installs Debian's `postgresql` package; the
 * system's own cluster, if any, is never used.
 *
 * initdb and postgres refuse to run as root. Run as root (CI, this repository's machines), both
 * run as the `postgres` user that Debian's package creates, in directories that user owns; run as
 * anyone else, they run as that user.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  accessSync,
  chownSync,
  constants,
  existsSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { freePort } from './redis-server.js';

export interface TestPostgres {
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:PORT/postgres`: the superuser, no password (trust). */
  readonly url: string;
  /** Stops the server (fast shutdown: open transactions roll back) and keeps its data. */
  stop(): Promise<void>;
  /** Starts it again on the same port, with the same data, after `stop()`. */
  start(): Promise<void>;
  /** Stops the server and deletes its data directory. */
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
const READY_LINE = 'database system is ready to accept connections';
/** Debian keeps the server's programs here, one directory per major version. */
const DEBIAN_DIR = '/usr/lib/postgresql';

/**
 * Settings for a throwaway server: nothing is worth an fsync, and a test that kills a client
 * mid-transaction needs the server, not the disk, to roll it back.
 */
const SERVER_SETTINGS = [
  'listen_addresses=127.0.0.1',
  'fsync=off',
  'synchronous_commit=off',
  'full_page_writes=off',
  'max_connections=200',
];

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The directory holding `postgres` and `initdb`: $POSTGRES's, PATH's, or Debian's newest. */
function binaryDir(): string {
  const override = process.env.POSTGRES;
  if (override !== undefined && override !== '') {
    if (!isExecutable(override)) throw missing(`${override} (from POSTGRES)`);
    return dirname(realpathSync(override));
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'postgres');
    if (dir !== '' && isExecutable(candidate)) return dirname(realpathSync(candidate));
  }
  const versions = existsSync(DEBIAN_DIR)
    ? readdirSync(DEBIAN_DIR)
        .filter((name) => /^\d+$/.test(name))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const version of versions) {
    const dir = join(DEBIAN_DIR, version, 'bin');
    if (isExecutable(join(dir, 'postgres'))) return dir;
  }
  throw missing('postgres');
}

/**
 * The path of one of the server's programs (`initdb`, `psql`, `pg_dump`...): beside the
 * `postgres` that startPostgres() runs. Debian's server package depends on its client, so psql
 * is there too.
 */
export function postgresProgram(name: string): string {
  return join(binaryDir(), name);
}

function missing(what: string): Error {
  return new Error(
    `cannot start ${what}: not found. Run the tests from the repository root (npm test), or run ` +
      'node scripts/test-services.mjs, which installs Debian\u2019s postgresql package',
  );
}

/** The uid and gid to run the server as: the `postgres` user when this process is root. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    return { uid, gid };
  } catch (error) {
    throw new Error(
      'initdb and postgres refuse to run as root, and there is no postgres user to run them as ' +
        '(Debian\u2019s postgresql package creates it)',
      { cause: error },
    );
  }
}

/**
 * An initialised cluster to copy: initdb takes seconds, a copy of its result a fraction of one.
 * One per server version and user, built once and shared by every test file; built aside and
 * renamed into place, so a reader never sees half of one.
 */
function template(bin: string, user: { uid: number; gid: number } | undefined): string {
  // "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)": the first version number.
  const output = execFileSync(join(bin, 'postgres'), ['--version']).toString();
  const version = /\d+(?:\.\d+)*/.exec(output)?.[0] ?? 'unknown';
  const path = join(tmpdir(), `bulwark-pg-template-${version}-${user?.uid ?? process.getuid?.()}`);
  if (existsSync(join(path, 'PG_VERSION'))) return path;
  const parent = mkdtempSync(join(tmpdir(), 'bulwark-pg-init-'));
  const building = join(parent, 'data');
  if (user !== undefined) chownSync(parent, user.uid, user.gid);
  execFileSync(
    join(bin, 'initdb'),
    ['-D', building, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'],
    { stdio: ['ignore', 'ignore', 'pipe'], ...user },
  );
  try {
    renameSync(building, path);
  } catch {
    // Another test file built one first: use that one.
  }
  rmSync(parent, { recursive: true, force: true });
  return path;
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = binaryDir();
  const user = serverUser();
  const port = await freePort();
  const base = mkdtempSync(join(tmpdir(), 'bulwark-pg-'));
  const data = join(base, 'data');
  // cp -a keeps the owner and the 0700 mode the server insists on.
  execFileSync('cp', ['-a', template(bin, user), data]);
  if (user !== undefined) chownSync(base, user.uid, user.gid);
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const options = ['-D', data, '-p', String(port), '-k', base];
    for (const setting of SERVER_SETTINGS) options.push('-c', setting);
    const server = spawn(join(bin, 'postgres'), options, {
      stdio: ['ignore', 'ignore', 'pipe'],
      ...user,
    });
    child = server;
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        server.kill('SIGKILL');
        reject(new Error(`postgres did not start on port ${port} within ${READY_TIMEOUT_MS} ms`));
      }, READY_TIMEOUT_MS);
      server.stderr.on('data', (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes(READY_LINE)) {
          clearTimeout(timer);
          resolve();
        }
      });
      server.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      server.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`postgres exited with code ${code} before it was ready:\n${log}`));
      });
    });
    // The server keeps logging; nobody reads it once it is up.
    server.stderr.resume();
  };

  const stop = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      // SIGINT is the fast shutdown: SIGTERM would wait for every client to disconnect.
      running.kill('SIGINT');
    });
  };

  await start();
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    close: async () => {
      await stop();
      rmSync(base, { recursive: true, force: true });
    },
  };
}
