/**
 * The Grafana dashboard and the Prometheus rules shipped in docs/grafana: the rules pass
 * promtool's own unit tests (each alert fires on the failure it is for and not on healthy series),
 * and every metric they and the dashboard name is one that Bulwark's registries really expose.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { bulwark } from '@bulwark/express';
import { prometheusListener } from '@bulwark/telemetry';
import { Registry } from 'prom-client';

const run = promisify(execFile);
const GRAFANA = join(import.meta.dirname, '..', '..', '..', 'docs', 'grafana');
const RULES = join(GRAFANA, 'prometheus');
/** Found or installed by scripts/test-services.mjs (Debian's `prometheus` package). */
const PROMTOOL = process.env.PROMTOOL || 'promtool';

async function promtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(PROMTOOL, args, { cwd: RULES, timeout: 60_000 });
    return stdout + stderr;
  } catch (error: unknown) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') {
      throw new Error(
        `cannot run ${PROMTOOL}: not found. Run the tests from the repository root (npm test), ` +
          'or run node scripts/test-services.mjs, which installs it',
      );
    }
    throw new Error(
      `promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`,
    );
  }
}

/** Every metric name a real service's registry exposes: the policies' and the server's. */
async function exposedNames(): Promise<Set<string>> {
  const registry = new Registry();
  prometheusListener({ registry });
  const middleware = bulwark({ metrics: { registry }, shedding: { limit: 10 } });
  try {
    const text = await registry.metrics();
    const names = new Set<string>();
    for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      names.add(name!);
      if (type === 'histogram') for (const s of ['_bucket', '_count', '_sum']) names.add(name! + s);
    }
    return names;
  } finally {
    middleware.close();
  }
}

/** The `bulwark_*` metric names a text mentions (recording rules are `bulwark:*`, left out). */
function metricNames(text: string): Set<string> {
  return new Set(text.match(/\bbulwark_[a-zA-Z0-9_]+\b/g) ?? []);
}

describe('docs/grafana', () => {
  it('has alerting and recording rules that promtool accepts and whose unit tests pass', async () => {
    expect(await promtool('check', 'rules', 'bulwark-rules.yml')).toContain(
      'SUCCESS: 14 rules found',
    );
    expect(await promtool('test', 'rules', 'bulwark-rules.test.yml')).toContain('SUCCESS');
  });

  it('tests every alert of the rules file, each firing in at least one test', async () => {
    const rules = await readFile(join(RULES, 'bulwark-rules.yml'), 'utf8');
    const tests = await readFile(join(RULES, 'bulwark-rules.test.yml'), 'utf8');
    const alerts = [...rules.matchAll(/^\s+- alert: (\S+)$/gm)].map((m) => m[1]);
    expect(alerts).toHaveLength(7);
    // An alert tested only with `exp_alerts: []` would pass promtool while it can never fire.
    const firing = new Set(
      [...tests.matchAll(/alertname: (\S+)\n\s+exp_alerts:\n\s+- exp_labels:/g)].map((m) => m[1]),
    );
    expect(alerts.filter((alert) => !firing.has(alert))).toEqual([]);
  });

  it('names in its dashboard and rules only metrics that a real registry exposes', async () => {
    const exposed = await exposedNames();
    const dashboard = await readFile(join(GRAFANA, 'bulwark-dashboard.json'), 'utf8');
    const rules = await readFile(join(RULES, 'bulwark-rules.yml'), 'utf8');
    const parsed = JSON.parse(dashboard) as {
      panels: Array<{ targets?: Array<{ expr: string }> }>;
    };
    const exprs = parsed.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(20);
    const named = new Set([...metricNames(exprs.join('\n')), ...metricNames(rules)]);
    expect([...named].filter((name) => !exposed.has(name))).toEqual([]);
    // The server's and the policies' metrics are both in use, health included.
    for (const name of [
      'bulwark_calls_total',
      'bulwark_breaker_state',
      'bulwark_http_server_shed_total',
      'bulwark_health_status',
    ]) {
      expect(named).toContain(name);
    }
  });

  it('uses in its alerts only the recording rules it defines', async () => {
    const rules = await readFile(join(RULES, 'bulwark-rules.yml'), 'utf8');
    const defined = new Set([...rules.matchAll(/^\s+- record: (\S+)$/gm)].map((m) => m[1]));
    const used = new Set(rules.match(/\bbulwark:[a-zA-Z0-9_:]+/g) ?? []);
    expect([...used].filter((name) => !defined.has(name))).toEqual([]);
  });
});
