/**
 * The guarantee under crashes. 1,000 sagas of three steps run against three loopback services
 * with @bulwark/idempotency on their routes, random 503s and latency. The orchestrator process
 * (fixtures/crash-orchestrator.mjs, on the built package and a real PostgreSQL) is SIGKILLed at
 * random moments and restarted until every saga has ended. Then: every saga completed or was
 * fully compensated, no service applied an effect twice, nothing is left running, and the sagas
 * whose compensation was made to fail are dead, with their history.
 *
 * Every random choice (faults, latency, kill moments) comes from one seed, printed when the test
 * fails; BULWARK_SAGA_CRASH_SEED=<seed> replays it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { idempotency } from '@bulwark/idempotency';
import { pgDatabase } from '@bulwark/outbox';
import {
  type Listening,
  type RespondFault,
  type TestPostgres,
  fault,
  listen,
  startPostgres,
} from '@bulwark/testing';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, expect, it, onTestFailed } from 'vitest';
import { createOrchestrator } from './orchestrator.js';
import { defineSaga } from './saga.js';
import { uniqueTable } from './test-helpers.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/crash-orchestrator.mjs', import.meta.url));
const SAGAS = 1_000;
/** Short, so that a process that replaced one under another instance id takes over quickly. */
const LEASE_MS = 1_500;
/** Kills before the last process is left to finish; each lands 100–600 ms after a process is ready. */
const KILLS = 8;
const TIME_LIMIT_MS = 100_000;
/** Services answer this share of requests with a 503, before the idempotency gate. */
const FAULT_RATE = 0.1;
const MAX_LATENCY_MS = 20;

const designedDead = (n: number): boolean => n % 50 === 0;
const designedCompensated = (n: number): boolean => n % 10 === 5;
const designedOutcome = (n: number): 'completed' | 'compensated' | 'dead' =>
  designedDead(n) ? 'dead' : designedCompensated(n) ? 'compensated' : 'completed';
const sagaId = (n: number): string => `saga-${String(n).padStart(4, '0')}`;
const STEPS = [
  ['reserve', 'stock'],
  ['charge', 'payments'],
  ['ship', 'shipping'],
] as const;

/**
 * mulberry32 over a string hash: a number in [0, 1) that depends only on the seed and what is
 * drawn for, so a request's fate does not depend on the order concurrent requests arrive in.
 */
function draw(seed: number, what: string): number {
  let h = seed ^ 0x9e3779b9;
  for (let i = 0; i < what.length; i++) h = Math.imul(h ^ what.charCodeAt(i), 0x5bd1e995);
  let t = (h + 0x6d2b79f5) | 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
}

interface Service {
  readonly name: string;
  readonly listening: Listening;
  /** Effects applied, per idempotency key: an action (`do`) or its undoing (`undo`). */
  readonly effects: Map<string, number>;
  /** Sagas whose action here is applied and not undone. */
  readonly applied: Set<string>;
  /** Requests per idempotency key, faults and repeats included. */
  readonly arrivals: Map<string, number>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve, reject) => {
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/**
 * One service. Each request first meets its fault (a 503, or a delay), drawn from the seed, the
 * key and how many times the key arrived; then the idempotency gate; then the effect, counted by
 * key. Shipping declines the designed failures; stock refuses to undo the designed dead ones.
 */
async function startService(name: string, seed: number): Promise<Service> {
  const idem = idempotency();
  const arrivals = new Map<string, number>();
  const effects = new Map<string, number>();
  const applied = new Set<string>();
  const faultFor = (key: string): RespondFault => {
    const arrival = (arrivals.get(key) ?? 0) + 1;
    arrivals.set(key, arrival);
    const delayMs = Math.floor(draw(seed, `${name} ${key} ${arrival} delay`) * MAX_LATENCY_MS);
    if (draw(seed, `${name} ${key} ${arrival} fault`) < FAULT_RATE) {
      return fault.latency(delayMs, fault.respond(503, { headers: { 'retry-after': '0' } }));
    }
    return fault.latency(delayMs, fault.respond(200));
  };
  const effect = (path: string, saga: string, n: number, key: string): [number, object] => {
    if (path === '/do') {
      if (name === 'shipping' && (designedCompensated(n) || designedDead(n))) {
        return [422, { declined: saga }];
      }
      effects.set(key, (effects.get(key) ?? 0) + 1);
      applied.add(saga);
      return [201, { done: key }];
    }
    if (name === 'stock' && designedDead(n)) return [422, { cannotUndo: saga }];
    effects.set(key, (effects.get(key) ?? 0) + 1);
    return [200, { undone: applied.delete(saga) }];
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const key = String(req.headers['idempotency-key']).replaceAll('"', '');
    const planned = faultFor(key);
    await new Promise((resolve) => setTimeout(resolve, planned.delayMs));
    if (planned.status === 503) {
      res.writeHead(503, planned.headers).end();
      return;
    }
    const decision = await idem.begin({
      method: req.method ?? 'POST',
      path: req.url ?? '/',
      key: req.headersDistinct['idempotency-key'],
      body,
    });
    if (decision.kind === 'reject') {
      res.writeHead(decision.status, decision.headers).end(decision.body);
      return;
    }
    if (decision.kind === 'replay') {
      const { status, headers, body: stored } = decision.response;
      res.writeHead(status, headers).end(stored);
      return;
    }
    if (decision.kind !== 'proceed') throw new Error(`a request without a key reached ${name}`);
    const { saga, n } = JSON.parse(body.toString()) as { saga: string; n: number };
    const [status, answer] = effect(req.url ?? '/', saga, n, key);
    const headers = { 'content-type': 'application/json' };
    const text = JSON.stringify(answer);
    await decision.complete({ status, headers, body: text });
    res.writeHead(status, headers).end(text);
  };
  const listening = await listen((req, res) => {
    handle(req, res).catch((error: unknown) => res.writeHead(500).end(String(error)));
  });
  return { name, listening, effects, applied, arrivals };
}

let postgres: TestPostgres;
let pool: pg.Pool;
beforeAll(async () => {
  postgres = await startPostgres();
  pool = new pg.Pool({ connectionString: postgres.url, max: 4 });
  pool.on('error', () => undefined);
}, 60_000);
afterAll(async () => {
  await pool.end();
  await postgres.close();
});

const children: ChildProcess[] = [];
const services: Service[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }
  await Promise.all(services.splice(0).map((service) => service.listening.close()));
});

interface Orchestrating {
  readonly child: ChildProcess;
  /** Everything it printed so far. */
  readonly output: () => string;
}

/** Starts the orchestrator process; resolves once it printed "ready" (its first claim done). */
function startOrchestrator(env: Record<string, string>): Promise<Orchestrating> {
  const child = spawn(process.execPath, [SCRIPT], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('ready\n')) resolve({ child, output: () => stdout });
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`the orchestrator exited (${code ?? signal}) before ready:\n${stderr}`)),
    );
  });
}

async function terminalCount(table: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${table} WHERE status IN ('completed', 'compensated', 'dead')`,
  );
  return rows[0]!.n;
}

async function statusCounts(table: string): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ status: string; n: number }>(
    `SELECT status, count(*)::int AS n FROM ${table} GROUP BY status ORDER BY status`,
  );
  return Object.fromEntries(rows.map((row) => [row.status, row.n]));
}

it('ends every saga completed, compensated or (by design) dead, each effect applied once, through SIGKILLs and restarts', async () => {
  const seed = Number(process.env.BULWARK_SAGA_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
  onTestFailed(() => {
    console.error(`saga crash test: seed ${seed}; replay with BULWARK_SAGA_CRASH_SEED=${seed}`);
  });
  const startedAt = Date.now();
  const table = uniqueTable('crash');
  // The test reads state through an orchestrator of its own, which never runs a step.
  const notHere = (): never => {
    throw new Error('the test process runs no step');
  };
  const saga = defineSaga({
    name: 'crash-order',
    steps: STEPS.map(([name]) => ({ name, action: notHere, compensate: notHere })),
  });
  const reader = createOrchestrator({ database: pgDatabase(pool), sagas: [saga], table });
  await reader.migrate();
  for (const [, name] of STEPS) services.push(await startService(name, seed));
  const env = {
    DATABASE_URL: postgres.url,
    TABLE: table,
    SERVICES: JSON.stringify(
      Object.fromEntries(services.map((service) => [service.name, service.listening.url])),
    ),
    SAGA_COUNT: String(SAGAS),
    LEASE_MS: String(LEASE_MS),
  };

  // Kill, restart, kill... Even generations reuse one instance id (the restart resumes its
  // sagas at once), odd ones take a new id (they take over once the lease lapses).
  let generation = 0;
  let last: Orchestrating | undefined;
  for (;;) {
    expect(
      Date.now() - startedAt,
      `time limit, with ${JSON.stringify(await statusCounts(table))}`,
    ).toBeLessThan(TIME_LIMIT_MS);
    const instanceId = generation % 2 === 0 ? 'orchestrator' : `orchestrator-${generation}`;
    const orchestrating = await startOrchestrator({ ...env, INSTANCE_ID: instanceId });
    if (generation === KILLS || (await terminalCount(table)) === SAGAS) {
      last = orchestrating;
      break;
    }
    const killAfterMs = 100 + Math.floor(draw(seed, `kill ${generation}`) * 500);
    await new Promise((resolve) => setTimeout(resolve, killAfterMs));
    const exited = once(orchestrating.child, 'exit');
    orchestrating.child.kill('SIGKILL');
    await exited;
    generation++;
  }
  while ((await terminalCount(table)) < SAGAS) {
    expect(
      Date.now() - startedAt,
      `time limit after ${generation} kills, with ${JSON.stringify(await statusCounts(table))}`,
    ).toBeLessThan(TIME_LIMIT_MS);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const stopped = once(last.child, 'exit');
  last.child.kill('SIGTERM');
  expect(await stopped).toEqual([0, null]);
  expect(last.output()).toContain('stopped with 0 running\n');

  // Every saga ended as designed: the dead ones exactly those whose undo was refused.
  const { rows } = await pool.query<{ id: string; status: string }>(
    `SELECT id, status FROM ${table} ORDER BY id`,
  );
  expect(rows.map((row) => row.id)).toEqual(Array.from({ length: SAGAS }, (_, n) => sagaId(n)));
  const undesigned = rows.filter((row, n) => row.status !== designedOutcome(n));
  expect(undesigned.slice(0, 10), `${undesigned.length} sagas did not end as designed`).toEqual([]);
  const { rows: unfinishedSteps } = await pool.query(
    `SELECT saga_id, name, status FROM ${table}_steps WHERE status IN ('running', 'compensating')`,
  );
  expect(unfinishedSteps).toEqual([]);

  // The crashes did what they are for: sagas were taken up again, and requests repeated.
  const { rows: resumed } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${table} WHERE lease_token > 1`,
  );
  expect(resumed[0]!.n).toBeGreaterThan(0);
  const repeated = services.flatMap((service) =>
    [...service.arrivals].filter(([, count]) => count > 1),
  );
  expect(repeated.length).toBeGreaterThan(0);

  // No effect twice; each saga's effects are those of its outcome.
  const [stock, payments, shipping] = services as [Service, Service, Service];
  for (const service of services) {
    const twice = [...service.effects].filter(([, count]) => count > 1);
    expect(
      twice.length,
      `${service.name} applied keys more than once, e.g. ${JSON.stringify(twice.slice(0, 5))}`,
    ).toBe(0);
  }
  const unexpected: unknown[] = [];
  for (let n = 0; n < SAGAS; n++) {
    const id = sagaId(n);
    const count = (service: Service, step: string, phase: string): number =>
      service.effects.get(`${id}:${step}:${phase}`) ?? 0;
    // Actions of reserve, charge, ship, then their compensations; and what stays applied.
    const effects = [
      count(stock, 'reserve', 'action'),
      count(payments, 'charge', 'action'),
      count(shipping, 'ship', 'action'),
      count(stock, 'reserve', 'compensate'),
      count(payments, 'charge', 'compensate'),
      count(shipping, 'ship', 'compensate'),
    ];
    const left = services.filter((service) => service.applied.has(id)).map((s) => s.name);
    const expected = {
      completed: { effects: [1, 1, 1, 0, 0, 0], left: ['stock', 'payments', 'shipping'] },
      compensated: { effects: [1, 1, 0, 1, 1, 1], left: [] },
      dead: { effects: [1, 1, 0, 0, 1, 1], left: ['stock'] },
    }[designedOutcome(n)];
    if (JSON.stringify({ effects, left }) !== JSON.stringify(expected)) {
      unexpected.push({ id, effects, left, expected });
    }
  }
  expect(
    unexpected.slice(0, 10),
    `${unexpected.length} sagas' effects are not those of their outcome`,
  ).toEqual([]);

  // The dead ones carry their history: the refused undo, after the declined shipment.
  const dead = await reader.listDead({ limit: 1_000 });
  expect(dead.map((state) => state.id)).toEqual(
    Array.from({ length: SAGAS }, (_, n) => n)
      .filter(designedDead)
      .map(sagaId),
  );
  for (const state of dead) {
    expect(state.error).toMatch(/^compensation of step reserve failed: .*422/);
    expect(state.steps.map((step) => step.status)).toEqual([
      'compensation_failed',
      'compensated',
      'compensated',
    ]);
    expect(state.steps[0]!.errors.at(-1)).toMatchObject({ phase: 'compensate' });
    // The declined shipment's own compensation runs too, and may meet a seeded 503 after it.
    const shipped = state.steps[2]!.errors.filter((error) => error.phase === 'action');
    expect(shipped.at(-1)?.error).toMatch(/422/);
  }
  console.info(
    `saga crash test: ${generation} kills, ${SAGAS} sagas in ${Date.now() - startedAt} ms (seed ${seed})`,
  );
}, 120_000);
