import { FakeClock } from '@bulwark/testing';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { healthRegistry } from '../health-registry.js';
import { httpCheck } from './http.js';

let server: Server | undefined;

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
}

afterEach(async () => {
  if (server === undefined) return;
  server.closeAllConnections();
  await new Promise((resolve) => server!.close(resolve));
  server = undefined;
});

describe('httpCheck', () => {
  it('passes on a 2xx from the dependency', async () => {
    const url = await serve((_req, res) => res.end('{"status":"pass"}'));
    const registry = healthRegistry();
    registry.register(httpCheck({ name: 'billing', url }));
    const report = await registry.readiness({ detailed: true });
    expect(report.status).toBe('pass');
    expect(report.body.checks['billing:responseTime']?.[0]).toMatchObject({
      status: 'pass',
      observedUnit: 'ms',
    });
  });

  it('fails on a status outside expectStatus, without naming the URL publicly', async () => {
    const url = await serve((_req, res) => {
      res.statusCode = 500;
      res.end();
    });
    const registry = healthRegistry();
    registry.register(httpCheck({ name: 'billing', url }));
    const detailed = await registry.readiness({ detailed: true });
    expect(detailed.status).toBe('fail');
    expect(detailed.body.checks['billing:responseTime']?.[0]?.output).toBe('answered 500');
  });

  it('accepts the statuses expectStatus names, as a number, a list or a predicate', async () => {
    const url = await serve((_req, res) => {
      res.statusCode = 204;
      res.end();
    });
    const registry = healthRegistry();
    registry.register(httpCheck({ name: 'a', url, expectStatus: 204 }));
    registry.register(httpCheck({ name: 'b', url, expectStatus: [200, 204] }));
    registry.register(httpCheck({ name: 'c', url, expectStatus: (s) => s < 400 }));
    registry.register(httpCheck({ name: 'd', url, expectStatus: 200 }));
    const report = await registry.readiness();
    expect(report.body.checks).toEqual({
      'a:responseTime': [{ status: 'pass' }],
      'b:responseTime': [{ status: 'pass' }],
      'c:responseTime': [{ status: 'pass' }],
      'd:responseTime': [{ status: 'fail' }],
    });
  });

  it('does not follow redirects', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(302, { location: 'http://127.0.0.1:1/' });
      res.end();
    });
    const registry = healthRegistry();
    registry.register(httpCheck({ name: 'a', url }));
    const report = await registry.readiness({ detailed: true });
    expect(report.body.checks['a:responseTime']?.[0]?.output).toBe('answered 302');
  });

  it('sends the given method and headers', async () => {
    let seen: { method?: string; auth?: string } = {};
    const url = await serve((req, res) => {
      seen = { method: req.method, auth: req.headers.authorization };
      res.end();
    });
    const registry = healthRegistry();
    registry.register(
      httpCheck({ name: 'a', url, method: 'HEAD', headers: { authorization: 'Bearer t' } }),
    );
    await registry.readiness();
    expect(seen).toEqual({ method: 'HEAD', auth: 'Bearer t' });
  });

  it('aborts a hanging request at the timeout and fails', async () => {
    let arrived!: () => void;
    const requestSeen = new Promise<void>((resolve) => (arrived = resolve));
    let aborted!: () => void;
    const requestAborted = new Promise<void>((resolve) => (aborted = resolve));
    const url = await serve((req) => {
      req.socket.once('close', aborted);
      arrived();
    });
    const clock = new FakeClock();
    const registry = healthRegistry({ clock });
    registry.register(httpCheck({ name: 'slow', url, timeoutMs: 500, clock }));
    const pending = registry.readiness({ detailed: true });
    await requestSeen;
    await clock.advance(500);
    const report = await pending;
    expect(report.status).toBe('fail');
    expect(report.body.checks['slow:responseTime']?.[0]?.output).toBe(
      'the check timed out after 500 ms',
    );
    await requestAborted;
  });

  it('fails when the dependency refuses the connection', async () => {
    const url = await serve(() => {});
    server!.close();
    server = undefined;
    const registry = healthRegistry();
    registry.register(httpCheck({ name: 'gone', url }));
    expect((await registry.readiness()).status).toBe('fail');
  });

  it('validates its options', () => {
    expect(() => httpCheck({ url: 'not a url' })).toThrow(
      new TypeError('expected url to be an absolute http(s) URL'),
    );
    expect(() => httpCheck({ url: 'ftp://x/' })).toThrow(
      new TypeError('expected url to be an absolute http(s) URL'),
    );
    expect(() => httpCheck({ url: 'http://x/', expectStatus: 'ok' as never })).toThrow(
      new TypeError('expected expectStatus to be a number, an array of numbers or a function'),
    );
  });
});

describe('httpCheck options', () => {
  it('rejects a misspelt option, suggesting the name it misspells', () => {
    expect(() =>
      httpCheck({ url: 'http://127.0.0.1:1/health', expectStatuses: [200] } as never),
    ).toThrow(
      new TypeError(
        'unknown option "expectStatuses" for httpCheck(); did you mean "expectStatus"? expected one of url, name, method, headers, expectStatus, timeoutMs, kind, critical, cacheMs, clock',
      ),
    );
  });
});
