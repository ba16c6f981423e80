import type { PGlite } from '@electric-sql/pglite';
import { FakeClock } from '@bulwark/testing';
import { constantBackoff } from '@bulwark/retry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSagaLeaseLostError, isSagaNotFoundError, isOrchestratorStoppedError } from './errors.js';
import { createOrchestrator, type OrchestratorOptions } from './orchestrator.js';
import { type StepContext, defineSaga } from './saga.js';
import {
  PGLITE_START_TIMEOUT_MS,
  countingDatabase,
  deferred,
  pgliteDatabase,
  startPglite,
  uniqueTable,
  waitFor,
} from './test-helpers.js';

let db: PGlite;
beforeAll(async () => {
  db = await startPglite();
}, PGLITE_START_TIMEOUT_MS);
afterAll(async () => {
  await db.close();
});

type Options = Omit<OrchestratorOptions, 'database'>;

async function orchestrator(options: Options & { table?: string }) {
  const database = countingDatabase(pgliteDatabase(db));
  const instance = createOrchestrator({
    database,
    table: options.table ?? uniqueTable(),
    ...options,
  });
  await instance.migrate();
  database.writes = 0;
  return { orchestrator: instance, database };
}

/** A log of what the steps were called with. */
function recorder() {
  const calls: Array<{ call: string; key: string; attempt: number }> = [];
  const record = (call: string, context: StepContext): void => {
    calls.push({ call, key: context.idempotencyKey, attempt: context.attempt });
  };
  return { calls, record };
}

describe('the orchestrator, on PGlite', () => {
  it('runs the steps in order, each given the input and the outputs before it and a stable key, in one state write per step', async () => {
    const { calls, record } = recorder();
    const seen: unknown[] = [];
    const saga = defineSaga<{ sku: string }>({ name: 'order' })
      .step({
        name: 'reserve',
        action: (data, context) => {
          record('reserve', context);
          seen.push(structuredClone(data));
          return { reservation: `r-${data.input.sku}` };
        },
        compensate: () => undefined,
      })
      .step({
        name: 'charge',
        pivot: true,
        action: (data, context) => {
          record('charge', context);
          seen.push(structuredClone(data));
          return 42;
        },
      })
      .step({
        name: 'ship',
        action: (data, context) => {
          record('ship', context);
          seen.push(structuredClone(data));
          return `shipped ${data.reserve.reservation} for ${data.charge}`;
        },
      });
    const { orchestrator: o, database } = await orchestrator({ sagas: [saga] });
    const outcome = await o.run(saga, { sku: 'a1' }, { id: 'order-1' });
    expect(outcome).toEqual({
      id: 'order-1',
      status: 'completed',
      data: {
        input: { sku: 'a1' },
        reserve: { reservation: 'r-a1' },
        charge: 42,
        ship: 'shipped r-a1 for 42',
      },
    });
    expect(calls).toEqual([
      { call: 'reserve', key: 'order-1:reserve:action', attempt: 1 },
      { call: 'charge', key: 'order-1:charge:action', attempt: 1 },
      { call: 'ship', key: 'order-1:ship:action', attempt: 1 },
    ]);
    expect(seen).toEqual([
      { input: { sku: 'a1' } },
      { input: { sku: 'a1' }, reserve: { reservation: 'r-a1' } },
      { input: { sku: 'a1' }, reserve: { reservation: 'r-a1' }, charge: 42 },
    ]);
    // The saga's row with the first step's start, then each step's completion with the next
    // one's start; the last one completes the saga.
    expect(database.writes).toBe(1 + 3);
    const state = await o.get('order-1');
    expect(state).toMatchObject({
      id: 'order-1',
      name: 'order',
      status: 'completed',
      input: { sku: 'a1' },
      error: null,
      steps: [
        {
          name: 'reserve',
          status: 'done',
          attempts: 1,
          output: { reservation: 'r-a1' },
          errors: [],
        },
        { name: 'charge', status: 'done', attempts: 1, output: 42 },
        { name: 'ship', status: 'done', attempts: 1, output: 'shipped r-a1 for 42' },
      ],
    });
    expect(o.active).toBe(0);
  });

  it('has written a step as running, and the one before it done, when its action is called', async () => {
    const seen: unknown[] = [];
    const look = async (): Promise<void> => {
      const state = await o.get('w-1');
      seen.push(state?.steps.map(({ status, attempts }) => ({ status, attempts })));
    };
    const saga = defineSaga({
      name: 'watched',
      steps: ['one', 'two', 'three'].map((name) => ({ name, action: look, compensate: look })),
    });
    const { orchestrator: o } = await orchestrator({ sagas: [saga] });
    expect((await o.run(saga, null, { id: 'w-1' })).status).toBe('completed');
    const running = { status: 'running', attempts: 1 };
    const done = { status: 'done', attempts: 1 };
    const pending = { status: 'pending', attempts: 0 };
    expect(seen).toEqual([
      [running, pending, pending],
      [done, running, pending],
      [done, done, running],
    ]);
  });

  it('compensates every attempted step in reverse when a step fails for good, the failed one too', async () => {
    const { calls, record } = recorder();
    const compensations: Array<{
      step: string;
      output: unknown;
      actionCompleted: boolean;
      key: string;
    }> = [];
    const declined = new Error('card declined');
    const saga = defineSaga({
      name: 'order',
      steps: [
        {
          name: 'reserve',
          action: (_data, context) => (record('reserve', context), 'r-1'),
          compensate: (_data, output, context) => {
            compensations.push({
              step: 'reserve',
              output,
              actionCompleted: context.actionCompleted,
              key: context.idempotencyKey,
            });
          },
        },
        {
          name: 'charge',
          action: (_data, context) => {
            record('charge', context);
            throw declined;
          },
          compensate: (_data, output, context) => {
            compensations.push({
              step: 'charge',
              output,
              actionCompleted: context.actionCompleted,
              key: context.idempotencyKey,
            });
          },
          retry: { retryOn: (error) => error !== declined },
        },
        {
          name: 'ship',
          action: (_data, context) => record('ship', context),
          compensate: () => undefined,
        },
      ],
    });
    const { orchestrator: o } = await orchestrator({ sagas: [saga] });
    const outcome = await o.run(saga, {}, { id: 'o-2' });
    expect(outcome).toEqual({ id: 'o-2', status: 'compensated', error: 'Error: card declined' });
    expect(calls.map((call) => call.call)).toEqual(['reserve', 'charge']);
    expect(compensations).toEqual([
      { step: 'charge', output: undefined, actionCompleted: false, key: 'o-2:charge:compensate' },
      { step: 'reserve', output: 'r-1', actionCompleted: true, key: 'o-2:reserve:compensate' },
    ]);
    const state = await o.get('o-2');
    expect(state).toMatchObject({
      status: 'compensated',
      error: 'Error: card declined',
      steps: [
        { status: 'compensated', attempts: 1, compensationAttempts: 1 },
        {
          status: 'compensated',
          attempts: 1,
          errors: [{ phase: 'action', attempt: 1, error: 'Error: card declined' }],
        },
        { status: 'pending', attempts: 0 },
      ],
    });
  });

  it('retries a failing action after the backoff, and not before', async () => {
    const clock = new FakeClock();
    let failures = 2;
    const attempts: number[] = [];
    const saga = defineSaga({
      name: 'flaky',
      steps: [
        {
          name: 'call',
          action: (_data, context) => {
            attempts.push(context.attempt);
            if (failures-- > 0) throw new Error('503');
            return 'ok';
          },
          compensate: () => undefined,
          retry: { maxAttempts: 3, backoff: constantBackoff(1_000) },
        },
      ],
    });
    const { orchestrator: o } = await orchestrator({ sagas: [saga], clock });
    const outcome = o.run(saga, null, { id: 'f-1' });
    await waitFor(() => attempts.length === 1 && clock.pendingTimers > 1, 'the first failure');
    await clock.advance(999);
    expect(attempts).toEqual([1]);
    await clock.advance(1);
    await waitFor(() => attempts.length === 2 && clock.pendingTimers > 1, 'the second failure');
    await clock.advance(1_000);
    await expect(outcome).resolves.toMatchObject({ status: 'completed', data: { call: 'ok' } });
    expect(attempts).toEqual([1, 2, 3]);
    expect((await o.get('f-1'))?.steps[0]).toMatchObject({
      attempts: 3,
      errors: [
        { phase: 'action', attempt: 1, error: 'Error: 503' },
        { phase: 'action', attempt: 2, error: 'Error: 503' },
      ],
    });
  });

  it('cuts an attempt off at the step’s timeout, even when the action ignores its signal', async () => {
    const clock = new FakeClock();
    const signals: AbortSignal[] = [];
    const saga = defineSaga({
      name: 'slow',
      steps: [
        {
          name: 'hang',
          action: (_data, context) => {
            signals.push(context.signal);
            return new Promise(() => undefined);
          },
          compensate: () => undefined,
          timeoutMs: 500,
          retry: { maxAttempts: 1 },
        },
      ],
    });
    const { orchestrator: o } = await orchestrator({ sagas: [saga], clock });
    const outcome = o.run(saga, null, { id: 's-1' });
    await waitFor(() => signals.length === 1, 'the attempt');
    await clock.advance(499);
    expect(signals[0]!.aborted).toBe(false);
    await clock.advance(1);
    await expect(outcome).resolves.toEqual({
      id: 's-1',
      status: 'compensated',
      error: 'TimeoutError [BULWARK_TIMEOUT]: operation timed out after 500 ms',
    });
    expect(signals[0]!.aborted).toBe(true);
  });

  it('stops starting steps once the saga’s deadline is spent, and compensates', async () => {
    const fake = new FakeClock();
    // The wall clock passes the deadline while step one runs; its timers stay put.
    let skewMs = 0;
    const clock = {
      now: () => fake.now(),
      dateNow: () => fake.dateNow() + skewMs,
      setTimeout: fake.setTimeout.bind(fake),
      clearTimeout: fake.clearTimeout.bind(fake),
    };
    const started: string[] = [];
    const compensated: string[] = [];
    const saga = defineSaga({
      name: 'timed',
      deadlineMs: 1_000,
      steps: [
        {
          name: 'one',
          action: () => {
            started.push('one');
            skewMs = 1_000;
            return 'done';
          },
          compensate: () => void compensated.push('one'),
        },
        {
          name: 'two',
          action: () => void started.push('two'),
          compensate: () => void compensated.push('two'),
        },
      ],
    });
    const { orchestrator: o } = await orchestrator({ sagas: [saga], clock });
    const result = await o.run(saga, null, { id: 't-1' });
    expect(result.status).toBe('compensated');
    expect(result.status !== 'completed' && result.error).toBe(
      "DeadlineExceededError [BULWARK_DEADLINE_EXCEEDED]: the saga's deadline of 1000 ms was spent before step two",
    );
    expect(started).toEqual(['one']);
    expect(compensated).toEqual(['one']);
    expect((await o.get('t-1'))?.steps.map((step) => step.status)).toEqual([
      'compensated',
      'pending',
    ]);
  });

  it('cuts a step off when the saga’s deadline is spent while it runs', async () => {
    const clock = new FakeClock();
    const signals: AbortSignal[] = [];
    const saga = defineSaga({
      name: 'timed',
      deadlineMs: 1_000,
      steps: [
        {
          name: 'one',
          action: (_data, context) => {
            signals.push(context.signal);
            return new Promise(() => undefined);
          },
          compensate: () => undefined,
          timeoutMs: 60_000,
        },
      ],
    });
    const { orchestrator: o } = await orchestrator({ sagas: [saga], clock });
    const outcome = o.run(saga, null, { id: 't-2' });
    await waitFor(() => signals.length === 1, 'step one');
    await clock.advance(999);
    expect(signals[0]!.aborted).toBe(false);
    await clock.advance(1);
    await expect(outcome).resolves.toMatchObject({
      status: 'compensated',
      error: 'TimeoutError [BULWARK_TIMEOUT]: operation timed out after 1000 ms',
    });
    expect(signals).toHaveLength(1);
  });

  it('never compensates after the pivot: a step after it that fails for good dead-letters the saga, and retry() takes it up again', async () => {
    let broken = true;
    const compensated: string[] = [];
    const saga = defineSaga({
      name: 'ship',
      steps: [
        { name: 'charge', action: () => 'c', compensate: () => void compensated.push('charge') },
        { name: 'commit', pivot: true, action: () => 'p' },
        {
          name: 'notify',
          action: () => {
            if (broken) throw new Error('mail down');
            return 'sent';
          },
          retry: { maxAttempts: 2, backoff: constantBackoff(0) },
        },
      ],
    });
    const { orchestrator: o } = await orchestrator({ sagas: [saga] });
    await expect(o.run(saga, null, { id: 'p-1' })).resolves.toEqual({
      id: 'p-1',
      status: 'dead',
      error: 'Error: mail down',
    });
    expect(compensated).toEqual([]);
    const [dead] = await o.listDead();
    expect(dead).toMatchObject({
      id: 'p-1',
      status: 'dead',
      steps: [{ status: 'done' }, { status: 'done' }, { status: 'failed', attempts: 2 }],
    });
    broken = false;
    await o.retry('p-1');
    expect(await o.claim()).toBe(1);
    await waitFor(async () => (await o.get('p-1'))?.status === 'completed', 'the retried saga');
    expect((await o.get('p-1'))?.steps[2]).toMatchObject({
      status: 'done',
      output: 'sent',
      errors: [{ error: 'Error: mail down' }, { error: 'Error: mail down' }],
    });
    await expect(o.retry('p-1')).rejects.toSatisfy(isSagaNotFoundError);
  });

  it('dead-letters a saga whose compensation fails past its limit, with the history, until a person resolves it', async () => {
    const saga = defineSaga({
      name: 'stuck',
      compensationRetry: { maxAttempts: 2, backoff: constantBackoff(0) },
      steps: [
        {
          name: 'reserve',
          action: () => 'r',
          compensate: () => {
            throw new Error('stock service gone');
          },
        },
        {
          name: 'charge',
          action: () => {
            throw new Error('declined');
          },
          compensate: () => undefined,
          retry: { maxAttempts: 1 },
        },
      ],
    });
    const { orchestrator: o } = await orchestrator({ sagas: [saga] });
    const outcome = await o.run(saga, { order: 7 }, { id: 'd-1' });
    expect(outcome).toEqual({
      id: 'd-1',
      status: 'dead',
      error:
        'compensation of step reserve failed: Error: stock service gone (after Error: declined)',
    });
    const dead = await o.listDead();
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({
      id: 'd-1',
      input: { order: 7 },
      steps: [
        {
          status: 'compensation_failed',
          compensationAttempts: 2,
          errors: [
            { phase: 'compensate', attempt: 1, error: 'Error: stock service gone' },
            { phase: 'compensate', attempt: 2, error: 'Error: stock service gone' },
          ],
        },
        {
          status: 'compensated',
          errors: [{ phase: 'action', attempt: 1, error: 'Error: declined' }],
        },
      ],
    });
    await o.resolve('d-1');
    expect((await o.get('d-1'))?.status).toBe('resolved');
    expect(await o.listDead()).toEqual([]);
    await expect(o.resolve('d-1')).rejects.toSatisfy(isSagaNotFoundError);
  });
});

describe('stopping, on PGlite', () => {
  it('starts no further step when stop() comes while a state write is in flight', async () => {
    const base = pgliteDatabase(db);
    const writeHeld = deferred();
    const letWriteGo = deferred();
    let holdNextWrite = false;
    const database = {
      transaction: base.transaction.bind(base),
      async query(text: string, params?: unknown[]) {
        if (holdNextWrite && !/^\s*SELECT/.test(text)) {
          holdNextWrite = false;
          writeHeld.resolve();
          await letWriteGo.promise;
        }
        return base.query(text, params);
      },
    };
    const calls: string[] = [];
    const saga = defineSaga({
      name: 'stopped',
      steps: [
        {
          name: 'one',
          action: () => {
            calls.push('one');
            // The write that records step one done (and step two started) is held.
            holdNextWrite = true;
            return 1;
          },
          compensate: () => undefined,
        },
        { name: 'two', action: () => calls.push('two'), compensate: () => undefined },
      ],
    });
    const o = createOrchestrator({ database, table: uniqueTable(), sagas: [saga] });
    await o.migrate();
    const run = o.run(saga, null, { id: 's-1' });
    await writeHeld.promise;
    const stopped = o.stop();
    letWriteGo.resolve();
    await stopped;
    await expect(run).rejects.toSatisfy(isOrchestratorStoppedError);
    expect(calls).toEqual(['one']);
    expect((await o.get('s-1'))?.status).toBe('running');
  });
});

describe('crashes and leases, on PGlite', () => {
  function blockingSaga() {
    const effects = new Map<string, number>();
    const calls: Array<{ key: string; attempt: number }> = [];
    let release = deferred();
    const saga = defineSaga({
      name: 'blocking',
      steps: [
        { name: 'one', action: () => 1, compensate: () => undefined },
        {
          name: 'two',
          action: async (_data, context) => {
            calls.push({ key: context.idempotencyKey, attempt: context.attempt });
            await release.promise;
            effects.set(context.idempotencyKey, (effects.get(context.idempotencyKey) ?? 0) + 1);
            return 2;
          },
          compensate: () => undefined,
        },
      ],
    });
    return {
      saga,
      effects,
      calls,
      release: () => release.resolve(),
      reset: () => {
        release = deferred();
      },
    };
  }

  it('resumes a crashed instance’s saga at once when it restarts with the same instance id', async () => {
    const table = uniqueTable();
    const steps = blockingSaga();
    const { orchestrator: crashed } = await orchestrator({
      sagas: [steps.saga],
      table,
      instanceId: 'pod-1',
      clock: new FakeClock(),
    });
    const crashedRun = crashed.run(steps.saga, null, { id: 'c-1' });
    await waitFor(() => steps.calls.length === 1, 'step two');
    // The process "dies" here: its run never goes on. A new process with the same name starts.
    const { orchestrator: restarted } = await orchestrator({
      sagas: [steps.saga],
      table,
      instanceId: 'pod-1',
      clock: new FakeClock(),
    });
    await restarted.start();
    await waitFor(() => steps.calls.length === 2, 'step two again');
    // The old process comes back to life: its late write is refused, the new one's is not.
    steps.release();
    await expect(crashedRun).rejects.toSatisfy(isSagaLeaseLostError);
    await waitFor(
      async () => (await restarted.get('c-1'))?.status === 'completed',
      'the resumed saga',
    );
    await restarted.stop();
    expect(steps.calls).toEqual([
      { key: 'c-1:two:action', attempt: 1 },
      { key: 'c-1:two:action', attempt: 2 },
    ]);
    expect((await restarted.get('c-1'))?.steps[0]).toMatchObject({ attempts: 1, status: 'done' });
  });

  it('takes a saga over only once its lease has lapsed, and fences the old owner’s writes', async () => {
    const table = uniqueTable();
    const steps = blockingSaga();
    const base = Date.UTC(2026, 0, 1);
    const { orchestrator: first } = await orchestrator({
      sagas: [steps.saga],
      table,
      instanceId: 'a',
      leaseMs: 10_000,
      clock: new FakeClock({ date: base }),
    });
    const firstRun = first.run(steps.saga, null, { id: 'l-1' });
    await waitFor(() => steps.calls.length === 1, 'step two on a');
    const soon = await orchestrator({
      sagas: [steps.saga],
      table,
      instanceId: 'b',
      leaseMs: 10_000,
      clock: new FakeClock({ date: base + 9_999 }),
    });
    expect(await soon.orchestrator.claim()).toBe(0);
    const later = await orchestrator({
      sagas: [steps.saga],
      table,
      instanceId: 'b',
      leaseMs: 10_000,
      clock: new FakeClock({ date: base + 10_001 }),
    });
    expect(await later.orchestrator.claim()).toBe(1);
    await waitFor(() => steps.calls.length === 2, 'step two on b');
    steps.release();
    await expect(firstRun).rejects.toSatisfy(isSagaLeaseLostError);
    await waitFor(
      async () => (await later.orchestrator.get('l-1'))?.status === 'completed',
      'b to finish',
    );
    expect(await later.orchestrator.get('l-1')).toMatchObject({
      leaseOwner: 'b',
      steps: [{ attempts: 1 }, { attempts: 2, status: 'done' }],
    });
  });

  it('renews the lease while a step runs long, so no other instance takes the saga', async () => {
    const table = uniqueTable();
    const steps = blockingSaga();
    const clock = new FakeClock();
    const { orchestrator: owner } = await orchestrator({
      sagas: [steps.saga],
      table,
      instanceId: 'a',
      leaseMs: 3_000,
      clock,
    });
    const run = owner.run(steps.saga, null, { id: 'r-1' });
    await waitFor(() => steps.calls.length === 1, 'step two');
    const { orchestrator: other } = await orchestrator({
      sagas: [steps.saga],
      table,
      instanceId: 'b',
      leaseMs: 3_000,
      clock,
    });
    for (let i = 0; i < 10; i++) {
      await clock.advance(1_000);
      await waitFor(async () => {
        const state = await owner.get('r-1');
        return state !== undefined && Date.parse(state.leaseExpiresAt!) > clock.dateNow() + 1_000;
      }, 'a renewal');
      expect(await other.claim()).toBe(0);
    }
    steps.release();
    await expect(run).resolves.toMatchObject({ status: 'completed' });
    expect(steps.calls).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('keeps one chain of renewals when the last saga ends during a renewal and another starts', async () => {
    const clock = new FakeClock();
    const renewal = deferred();
    let renewals = 0;
    const database = pgliteDatabase(db);
    const held = {
      transaction: database.transaction.bind(database),
      async query(text: string, params?: unknown[]) {
        const renewing = text.startsWith('UPDATE') && text.includes('SET lease_expires_at = $2');
        if (renewing) await renewal.promise;
        const result = await database.query(text, params);
        if (renewing) renewals++;
        return result;
      },
    };
    const steps = blockingSaga();
    const o = createOrchestrator({
      database: held,
      sagas: [steps.saga],
      table: uniqueTable(),
      leaseMs: 3_000,
      clock,
    });
    await o.migrate();
    const one = o.run(steps.saga, null, { id: 'k-1' });
    await waitFor(() => steps.calls.length === 1, 'step two of the first saga');
    await clock.advance(1_000); // the renewal starts, and waits
    steps.release();
    await expect(one).resolves.toMatchObject({ status: 'completed' });
    steps.reset();
    const two = o.run(steps.saga, null, { id: 'k-2' });
    await waitFor(() => steps.calls.length === 2, 'step two of the second saga');
    expect(clock.pendingTimers).toBe(1);
    renewal.resolve();
    await waitFor(() => renewals === 1, 'the held renewal');
    expect(clock.pendingTimers).toBe(1);
    steps.release();
    await expect(two).resolves.toMatchObject({ status: 'completed' });
    expect(clock.pendingTimers).toBe(0);
  });

  it('does not claim a saga it runs itself when the lease lapsed before a renewal could run', async () => {
    const table = uniqueTable();
    const steps = blockingSaga();
    // The event loop stalls past the lease: the clock moves on, no timer fires, no renewal runs.
    const timers = new FakeClock();
    let stalledMs = 0;
    const clock = {
      now: () => timers.now() + stalledMs,
      dateNow: () => timers.dateNow() + stalledMs,
      setTimeout: (callback: () => void, ms: number) => timers.setTimeout(callback, ms),
      clearTimeout: (handle: unknown) => timers.clearTimeout(handle),
    };
    const { orchestrator: stalled } = await orchestrator({
      sagas: [steps.saga],
      table,
      instanceId: 'a',
      leaseMs: 3_000,
      clock,
    });
    const run = stalled.run(steps.saga, null, { id: 'stall-1' });
    await waitFor(() => steps.calls.length === 1, 'step two');
    stalledMs = 3_001;
    expect(await stalled.claim()).toBe(0);
    steps.release();
    await expect(run).resolves.toMatchObject({ status: 'completed' });
    expect(steps.calls).toEqual([{ key: 'stall-1:two:action', attempt: 1 }]);
    expect(steps.effects).toEqual(new Map([['stall-1:two:action', 1]]));
  });

  it('claims a saga once when two claims of one instance overlap', async () => {
    const table = uniqueTable();
    const steps = blockingSaga();
    const { orchestrator: crashed } = await orchestrator({
      sagas: [steps.saga],
      table,
      instanceId: 'pod-1',
      clock: new FakeClock(),
    });
    void crashed.run(steps.saga, null, { id: 'twice-1' }).catch(() => undefined);
    await waitFor(() => steps.calls.length === 1, 'step two');
    const { orchestrator: restarted } = await orchestrator({
      sagas: [steps.saga],
      table,
      instanceId: 'pod-1',
      clock: new FakeClock(),
    });
    const claimed = await Promise.all([restarted.claim(), restarted.claim()]);
    expect(claimed.sort()).toEqual([0, 1]);
    await waitFor(() => steps.calls.length === 2, 'step two on the restarted process');
    steps.release();
    await waitFor(
      async () => (await restarted.get('twice-1'))?.status === 'completed',
      'the resumed saga',
    );
    expect(steps.calls.map((call) => call.attempt)).toEqual([1, 2]);
    expect(restarted.active).toBe(0);
  });

  it('on stop, aborts the step in flight and lets the lease go, so another instance resumes at once', async () => {
    const table = uniqueTable();
    const steps = blockingSaga();
    const { orchestrator: leaving } = await orchestrator({
      sagas: [steps.saga],
      table,
      instanceId: 'a',
      clock: new FakeClock(),
    });
    const run = leaving.run(steps.saga, null, { id: 'st-1' });
    await waitFor(() => steps.calls.length === 1, 'step two');
    await leaving.stop();
    await expect(run).rejects.toSatisfy(isOrchestratorStoppedError);
    const { orchestrator: staying } = await orchestrator({
      sagas: [steps.saga],
      table,
      instanceId: 'b',
      clock: new FakeClock(),
    });
    steps.release();
    expect(await staying.claim()).toBe(1);
    await waitFor(async () => (await staying.get('st-1'))?.status === 'completed', 'the saga on b');
    expect(steps.calls.map((call) => call.attempt)).toEqual([1, 2]);
  });
});
