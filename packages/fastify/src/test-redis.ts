/**
 * Test-only: a real redis-server on a free loopback port, as @bulwark/idempotency's tests start it.
 * Not exported from the package. (Belongs in @bulwark/testing, so every package shares it.)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';

export interface TestRedis {
  readonly port: number;
  /** Stops the server; resolves once the process has exited. */
  stop(): Promise<void>;
}

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

function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply.startsWith('+PONG'));
      }
    });
    socket.once('error', () => resolve(false));
  });
}

const STARTUP_LIMIT_MS = 10_000;

/** Starts redis-server without persistence and waits until it answers PING. */
export async function startRedis(port?: number): Promise<TestRedis> {
  const chosen = port ?? (await freePort());
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let spawnError: unknown = undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  const startedAt = Date.now();
  // Polling a starting process is the harness, not the behaviour under test.
  while (!(await pingOnce(chosen))) {
    if (spawnError !== undefined || child.exitCode !== null) {
      throw new Error(`redis-server did not start on port ${chosen}`, { cause: spawnError });
    }
    if (Date.now() - startedAt > STARTUP_LIMIT_MS) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not answer PING on port ${chosen} in time`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    port: chosen,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
