import { afterEach, describe, expect, it, vi } from 'vitest';

describe('startRedis', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('says how to get redis-server when the binary is missing, instead of a bare ENOENT', async () => {
    vi.stubEnv('REDIS_SERVER', '/nonexistent/redis-server');
    vi.resetModules();
    const { startRedis } = await import('./redis-server.js');
    await expect(startRedis()).rejects.toThrow(
      /cannot start \/nonexistent\/redis-server: not found.*scripts\/test-services\.mjs/,
    );
  });

  it('starts a real server that answers on its own port, and stops it', async () => {
    const { startRedis } = await import('./redis-server.js');
    const { connect } = await import('node:net');
    const redis = await startRedis();
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(redis.port, '127.0.0.1', () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString());
      });
      socket.once('error', reject);
    });
    await redis.stop();
    expect(reply).toBe('+PONG\r\n');
  });
});
