import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

interface RecordedSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  /** 0 unset, 1 ok, 2 error. */
  status: number;
  attributes: Record<string, unknown>;
}

interface Scenario {
  status: number;
  body: { traceId: string };
  appPort: number;
  downstreamPort: number;
  spans: RecordedSpan[];
}

/** A process of its own loads the SDK, the instrumentation and the app: give it time. */
const SCENARIO_TIMEOUT_MS = 25_000;
const SERVER = 1;
const ERROR = 2;
const run = promisify(execFile);

/**
 * Runs otel/scenario.mjs as an application would run under OpenTelemetry: in its own process,
 * with the SDK and the HTTP instrumentation loaded by `--import` before Fastify. The scenario
 * loads this package's build (`dist/`), as an application does.
 */
async function scenario(): Promise<Scenario> {
  const register = fileURLToPath(new URL('./otel/register.mjs', import.meta.url));
  const script = fileURLToPath(new URL('./otel/scenario.mjs', import.meta.url));
  // A scenario whose server spans never end would wait for ever: it is killed instead.
  const { stdout } = await run(process.execPath, ['--import', register, script], {
    timeout: SCENARIO_TIMEOUT_MS,
  });
  return JSON.parse(stdout) as Scenario;
}

describe('under @opentelemetry/instrumentation-http', () => {
  it('nests the client’s operation and attempt spans under the inbound server span, and the downstream’s server spans under each attempt', async () => {
    const { status, body, appPort, downstreamPort, spans } = await scenario();
    expect(status).toBe(200);
    const servers = spans.filter((span) => span.kind === SERVER);
    const inbound = servers.filter((span) => span.attributes['server.port'] === appPort);
    const downstream = servers.filter((span) => span.attributes['server.port'] === downstreamPort);
    expect(inbound).toHaveLength(1);
    expect(inbound[0]!.parentSpanId).toBeUndefined();

    const origin = `http://127.0.0.1:${downstreamPort}`;
    const operation = spans.filter((span) => span.name === `GET ${origin}`);
    expect(operation).toHaveLength(1);
    expect(operation[0]!.parentSpanId).toBe(inbound[0]!.spanId);
    expect(operation[0]!.attributes['bulwark.attempts']).toBe(2);

    const attempts = spans
      .filter((span) => span.name === `GET ${origin} attempt`)
      .sort(
        (a, b) => Number(a.attributes['bulwark.attempt']) - Number(b.attributes['bulwark.attempt']),
      );
    expect(attempts.map((span) => span.attributes['bulwark.attempt'])).toEqual([1, 2]);
    for (const attempt of attempts) expect(attempt.parentSpanId).toBe(operation[0]!.spanId);
    expect(attempts[0]!.status).toBe(ERROR);
    expect(attempts[1]!.status).not.toBe(ERROR);

    // One downstream server span per attempt, each the child of the attempt that called it.
    expect(downstream.map((span) => span.parentSpanId).sort()).toEqual(
      attempts.map((span) => span.spanId).sort(),
    );
    expect(new Set(spans.map((span) => span.traceId)).size).toBe(1);
    // The request's correlation context follows the server span's trace.
    expect(body.traceId).toBe(inbound[0]!.traceId);
    expect(spans).toHaveLength(6);
  }, 30_000);
});
