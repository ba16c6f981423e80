/**
 * A real `redis-server` on a free loopback port, started and stopped by the tests. The test run's
 * global setup (scripts/test-services.mjs) finds the binary or installs Debian's package; its
 * system service on 6379 is never used. Every package with a Redis store starts Redis this one way.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';

export interface TestRedis {
  readonly port: number;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port after `stop()`. */
  start(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open, nothing answers. */
  pause(): void;
  resume(): void;
}

const BINARY = process.env.REDIS_SERVER ?? 'redis-server';
const READY_TIMEOUT_MS = 10_000;

/** A port the OS just handed out and took back, so nothing should be listening on it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once the server answers PING. Polling here waits for a process, not for behaviour. */
async function waitForPing(port: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.setTimeout(500);
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('+PONG'));
      });
      socket.once('error', () => resolve(false));
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not start on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    child = spawn(
      BINARY,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    const failed = new Promise<never>((_, reject) => {
      child!.once('error', (error: NodeJS.ErrnoException) => {
        reject(
          error.code === 'ENOENT'
            ? new Error(
                `cannot start ${BINARY}: not found. Run the tests from the repository root ` +
                  '(npm test), or run node scripts/test-services.mjs, which installs it',
                { cause: error },
              )
            : error,
        );
      });
    });
    await Promise.race([waitForPing(port), failed]);
  };

  const stop = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null) return;
    running.kill('SIGCONT');
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGTERM');
    });
  };

  await start();
  return {
    port,
    start,
    stop,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
  };
}

/**
 * ioredis options for a client that can never connect (a free port, no reconnects, no offline
 * queue): every command fails at once, as during a Redis outage. `new Redis(await
 * unreachableRedis())`; disconnect it when done.
 */
export async function unreachableRedis(): Promise<{
  host: string;
  port: number;
  lazyConnect: true;
  enableOfflineQueue: false;
  maxRetriesPerRequest: 0;
  retryStrategy: () => null;
}> {
  return {
    host: '127.0.0.1',
    port: await freePort(),
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  };
}
