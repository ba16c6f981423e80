import type { BreakerState } from '@bulwark/core';
import { type Board, IDEMPOTENCY_OUTCOMES } from './board.js';
import type { BreakerEntry } from './entities.js';
import { NONE, count, duration, ms, percent, perSecond, point } from './format.js';
import { displayName } from './names.js';
import type { OperationRow } from './operation-row.js';
import type { Ring } from './ring.js';
import type { CellView, ColumnView, History, RowView, Snapshot, TableView, Tone } from './view.js';

const column = (key: string, label: string, title: string, chart = false): ColumnView =>
  chart ? { key, label, title, chart } : { key, label, title };

export const OPERATION_COLUMNS: readonly ColumnView[] = [
  column('name', 'operation', 'The pipeline’s operation (→ one of its endpoints)'),
  column('rate', 'req/s', 'Calls per second, over the last tick'),
  column('success', 'success', 'Calls that succeeded, over the last tick'),
  column('p50', 'p50 ms', 'Median call duration over the latency window'),
  column('p99', 'p99 ms', '99th percentile call duration over the latency window'),
  column('latency', 'latency', 'p50 and p99 over the page’s history', true),
  column('breaker', 'breaker', 'The state of the breaker its calls went through'),
  column('retries', 'retries/s', 'Retries scheduled per second, over the latency window'),
  column('hedges', 'hedges/s', 'Hedged attempts started per second, over the latency window'),
  column(
    'exhausted',
    'budget out/s',
    'Calls a retry gave up on because the retry budget was empty',
  ),
  column('rejected', 'rejected/s', 'Calls a breaker, a bulkhead or a rate limit refused'),
  column('cache', 'cache hits', 'Cache lookups answered without the origin, over the window'),
  column('stale', 'stale/s', 'Stale cached answers served per second (stale-if-error included)'),
  column('chaos', 'chaos/s', 'Faults injected on purpose by a chaos policy'),
  column('calls', 'calls', 'Calls since the process started (bulwark_calls_total)'),
  column('failures', 'failures', 'Failed calls since the process started'),
];

const BREAKER_COLUMNS: readonly ColumnView[] = [
  column('name', 'breaker', 'The breaker’s name (its policy label)'),
  column('key', 'key', 'Its key in a registry: an origin for the HTTP client'),
  column('state', 'state', 'closed: calls pass; open: calls fail fast; half-open: trial calls'),
  column('detail', 'detail', 'Time until the next trial, or in the current state'),
  column('rejected', 'rejected/s', 'Calls refused without running, over the last tick'),
  column('opened', 'opened', 'Times it opened since the process started'),
];

const BULKHEAD_COLUMNS: readonly ColumnView[] = [
  column('name', 'bulkhead', 'The bulkhead’s name'),
  column('inUse', 'in use', 'Calls running / the limit (observed bulkheads)'),
  column('queued', 'queued', 'Calls waiting for a slot now (observed bulkheads)'),
  column('queuedRate', 'queued/s', 'Calls that had to wait, per second'),
  column('rejected', 'rejected/s', 'Calls refused, per second'),
];

const BUDGET_COLUMNS: readonly ColumnView[] = [
  column('name', 'retry budget', 'The budget’s name'),
  column('available', 'retries left', 'Retries the budget would allow now'),
];

const ENDPOINT_COLUMNS: readonly ColumnView[] = [
  column('name', 'endpoint', 'An endpoint of a downstream service'),
  column('operation', 'operation', 'The operation that reported it'),
  column('state', 'state', 'Ejected: taken out of rotation by outlier detection'),
  column('since', 'for', 'Time in that state'),
];

const SERVER_COLUMNS: readonly ColumnView[] = [
  column('name', 'inbound', 'What the server did with requests'),
  column('now', 'now / total', 'A gauge now, or a count since the process started'),
  column('rate', 'per second', 'Over the last tick'),
];

const HEALTH_COLUMNS: readonly ColumnView[] = [
  column('name', 'check', 'The health check’s name'),
  column('status', 'status', 'pass, warn or fail, at its last run'),
  column('ago', 'last run', 'How long ago it last ran (checks run when probed)'),
  column('duration', 'took', 'How long its last run took'),
];

const BREAKER_TONES: Readonly<Record<BreakerState, Tone>> = {
  closed: 'ok',
  'half-open': 'warn',
  open: 'bad',
  isolated: 'bad',
};

const IDEMPOTENCY_LABELS: Readonly<Record<(typeof IDEMPOTENCY_OUTCOMES)[number], string>> = {
  replay: 'idempotent replays',
  conflict: 'idempotency conflicts (409)',
  mismatch: 'key reused, other payload (422)',
  unavailable: 'idempotency store down (503)',
};

export interface SnapshotContext {
  readonly boot: string;
  readonly title: string;
  readonly intervalMs: number;
}

/** Builds the page's data from the board, once per tick. */
export function buildSnapshot(board: Board, context: SnapshotContext): Snapshot {
  const seconds = context.intervalMs / 1_000;
  const now = board.clock.now();
  return {
    boot: context.boot,
    tick: board.tick,
    at: board.clock.dateNow(),
    intervalMs: context.intervalMs,
    title: context.title,
    tables: [
      operationsTable(board, seconds),
      breakersTable(board, now),
      bulkheadsTable(board),
      budgetsTable(board),
      endpointsTable(board, now),
      serverTable(board),
      healthTable(board),
    ],
  };
}

/** The charts' history for a page that (re)connects. */
export function buildHistory(board: Board): History {
  const rows: Record<string, Array<Array<number | null>>> = {};
  for (const row of board.sortedRows()) {
    rows[row.id] = [row.p50.toArray().map(round), row.p99.toArray().map(round)];
  }
  return { at: board.timeline(), rows };
}

function round(value: number | null): number | null {
  return value === null ? null : point(value);
}

function operationsTable(board: Board, seconds: number): TableView {
  const breakers = new Map<string, BreakerEntry>();
  for (const entry of board.breakers.entries.values()) breakers.set(entry.id, entry);
  const rows = board.sortedRows().map((row) => operationRow(row, seconds, breakers));
  const folded = board.folded;
  return {
    id: 'operations',
    title: 'Downstream calls',
    columns: OPERATION_COLUMNS,
    rows,
    empty:
      'No call reported yet. Give this listener to your pipelines and policies (their listener option).',
    ...(folded.size > 0
      ? {
          note: `${folded.text} more operations counted under “other”: the page keeps at most ${board.settings.maxOperations} rows.`,
        }
      : {}),
  };
}

function operationRow(
  row: OperationRow,
  seconds: number,
  breakers: ReadonlyMap<string, BreakerEntry>,
): RowView {
  const success = row.success.last;
  const p50 = row.p50.last;
  const p99 = row.p99.last;
  const breaker = row.breaker === undefined ? undefined : breakers.get(row.breaker);
  const lookups = row.lookupRing.sumOfLast(row.lookupRing.capacity);
  const windowRate = (ring: Ring) => ring.sumOfLast(ring.capacity) / (ring.length * seconds);
  const rejected = windowRate(row.rejectedRing);
  const exhausted = windowRate(row.exhaustedRing);
  const chaos = windowRate(row.chaosRing);
  const name =
    row.endpoint === undefined
      ? displayName(row.operation) || '(no operation)'
      : `→ ${displayName(row.endpoint)}`;
  return {
    id: row.id,
    cells: {
      name: { text: name },
      rate: { text: perSecond(row.rate.last) },
      success: { text: percent(success), tone: successTone(success) },
      p50: { text: ms(p50) },
      p99: { text: ms(p99) },
      latency: { text: '' },
      breaker:
        breaker === undefined
          ? { text: NONE, tone: 'idle' }
          : { text: breaker.state, tone: BREAKER_TONES[breaker.state] },
      retries: { text: perSecond(windowRate(row.retryRing)) },
      hedges: { text: perSecond(windowRate(row.hedgeRing)) },
      exhausted: { text: perSecond(exhausted), ...(exhausted > 0 ? { tone: 'bad' } : {}) },
      rejected: { text: perSecond(rejected), ...(rejected > 0 ? { tone: 'warn' } : {}) },
      cache: {
        text: lookups === 0 ? NONE : percent(row.hitRing.sumOfLast(row.hitRing.capacity) / lookups),
      },
      stale: { text: perSecond(windowRate(row.staleRing)) },
      chaos: { text: perSecond(chaos), ...(chaos > 0 ? { tone: 'info' } : {}) },
      calls: { text: count(row.totalCalls) },
      failures: { text: count(row.totalFailures) },
    },
    points: [point(p50), point(p99)],
  };
}

function successTone(success: number): Tone {
  if (!Number.isFinite(success)) return 'idle';
  if (success >= 0.99) return 'ok';
  return success >= 0.95 ? 'warn' : 'bad';
}

function breakersTable(board: Board, now: number): TableView {
  const entries = [...board.breakers.entries.values()].sort(
    (a, b) => compare(a.policy, b.policy) || compare(a.key, b.key),
  );
  const note = board.breakers.leftOut('breakers');
  return {
    id: 'breakers',
    title: 'Circuit breakers',
    columns: BREAKER_COLUMNS,
    rows: entries.map((entry) => ({
      id: entry.id,
      cells: {
        name: { text: displayName(entry.policy) },
        key: { text: entry.key === '' ? NONE : displayName(entry.key) },
        state: { text: entry.state, tone: BREAKER_TONES[entry.state] },
        detail: { text: breakerDetail(entry, now) },
        rejected: { text: perSecond(entry.rejectedRate) },
        opened: { text: count(entry.totalOpened) },
      },
    })),
    empty: 'No breaker reported yet.',
    ...(note === undefined ? {} : { note }),
  };
}

function breakerDetail(entry: BreakerEntry, now: number): string {
  if (entry.state === 'open' && entry.retryAfterMs !== undefined) {
    return `next trial in ${duration(entry.retryAfterMs)}`;
  }
  if (entry.state === 'half-open' && entry.trials !== undefined) {
    return `${entry.trials.passed} of ${entry.trials.needed} trials passed`;
  }
  return `${entry.state} for ${duration(now - entry.since)}`;
}

function bulkheadsTable(board: Board): TableView {
  const note = board.bulkheads.leftOut('bulkheads');
  return {
    id: 'bulkheads',
    title: 'Bulkheads',
    columns: BULKHEAD_COLUMNS,
    rows: [...board.bulkheads.entries.values()].map((entry) => {
      const live = entry.observed;
      const limit = live?.limit ?? entry.limit;
      const inUse =
        live === undefined
          ? NONE
          : limit === undefined
            ? String(live.active)
            : `${live.active} / ${limit}`;
      const full = live !== undefined && limit !== undefined && live.active >= limit;
      return {
        id: entry.id,
        cells: {
          name: { text: displayName(entry.name) },
          inUse: { text: inUse, ...(full ? { tone: 'warn' as const } : {}) },
          queued: { text: live === undefined ? NONE : String(live.queued) },
          queuedRate: { text: perSecond(entry.queuedRate) },
          rejected: {
            text: perSecond(entry.rejectedRate),
            ...(entry.rejectedRate > 0 ? { tone: 'bad' as const } : {}),
          },
        },
      };
    }),
    empty: 'No bulkhead reported yet.',
    ...(note === undefined ? {} : { note }),
  };
}

function budgetsTable(board: Board): TableView {
  return {
    id: 'budgets',
    title: 'Retry budgets',
    columns: BUDGET_COLUMNS,
    rows: [...board.budgets.entries].map(([name, entry]) => {
      const available = safeRead(() => entry.budget.available);
      return {
        id: entry.id,
        cells: {
          name: { text: displayName(name) },
          available: {
            text: Number.isFinite(available) ? count(available) : NONE,
            ...(available === 0 ? { tone: 'bad' as const } : {}),
          },
        },
      };
    }),
    empty: 'No retry budget observed (observeRetryBudget).',
  };
}

function endpointsTable(board: Board, now: number): TableView {
  const note = board.endpoints.leftOut('endpoints');
  return {
    id: 'endpoints',
    title: 'Endpoints',
    columns: ENDPOINT_COLUMNS,
    rows: [...board.endpoints.entries].map(([endpoint, entry]) => ({
      id: entry.id,
      cells: {
        name: { text: displayName(endpoint) },
        operation: { text: displayName(entry.operation) || NONE },
        state: entry.ejected
          ? { text: 'ejected', tone: 'bad' as const }
          : { text: 'in rotation', tone: 'ok' as const },
        since: { text: duration(now - entry.since) },
      },
    })),
    empty: 'No endpoint ejection reported.',
    ...(note === undefined ? {} : { note }),
  };
}

function serverTable(board: Board): TableView {
  const server = board.server;
  const rows: RowView[] = [];
  const reading = server.reading;
  if (reading !== undefined) {
    if (reading.inFlight !== undefined) {
      const limit = reading.limit === undefined ? '' : ` / ${count(reading.limit)}`;
      rows.push(
        serverRow('s-inflight', 'requests in flight', `${count(reading.inFlight)}${limit}`, NONE),
      );
    }
    if (reading.queued !== undefined) {
      rows.push(serverRow('s-queued', 'requests queued', count(reading.queued), NONE));
    }
    if (reading.shed !== undefined) {
      rows.push(
        serverRow(
          's-shed',
          'shed (503)',
          count(reading.shed),
          perSecond(server.shedRate),
          server.shedRate > 0 ? 'bad' : undefined,
        ),
      );
    }
    if (reading.rateLimited !== undefined) {
      rows.push(
        serverRow(
          's-limited',
          'rate-limited (429)',
          count(reading.rateLimited),
          perSecond(server.rateLimitedRate),
          server.rateLimitedRate > 0 ? 'warn' : undefined,
        ),
      );
    }
  }
  if (server.idempotencySeen) {
    for (const outcome of IDEMPOTENCY_OUTCOMES) {
      const counts = server.idempotency.get(outcome)!;
      const rate = server.idempotencyRate.get(outcome) ?? NaN;
      const tone = outcome !== 'replay' && rate > 0 ? ('warn' as const) : undefined;
      rows.push(
        serverRow(
          `s-${outcome}`,
          IDEMPOTENCY_LABELS[outcome],
          count(counts.total),
          perSecond(rate),
          tone,
        ),
      );
    }
  }
  return {
    id: 'server',
    title: 'This server',
    columns: SERVER_COLUMNS,
    rows,
    empty:
      'Not observed: call observeServer({ registry }) with the metrics registry, and give this listener to idempotency.',
  };
}

function serverRow(id: string, name: string, now: string, rate: string, tone?: Tone): RowView {
  return {
    id,
    cells: {
      name: { text: name },
      now: tone === undefined ? { text: now } : { text: now, tone },
      rate: { text: rate },
    },
  };
}

function healthTable(board: Board): TableView {
  const wallNow = board.clock.dateNow();
  const note = board.checks.leftOut('checks');
  return {
    id: 'health',
    title: 'Health checks',
    columns: HEALTH_COLUMNS,
    rows: [...board.checks.entries].map(([name, entry]) => ({
      id: entry.id,
      cells: {
        name: { text: displayName(name) },
        status: healthCell(entry.status, entry.timedOut),
        ago: { text: `${duration(wallNow - entry.at)} ago` },
        duration: { text: `${ms(entry.durationMs)} ms` },
      },
    })),
    empty: 'No health check has run yet (give this listener to healthRegistry()).',
    ...(note === undefined ? {} : { note }),
  };
}

function healthCell(status: string, timedOut: boolean): CellView {
  const text = timedOut ? `${displayName(status)} (timed out)` : displayName(status);
  if (status === 'pass') return { text, tone: 'ok' };
  return { text, tone: status === 'warn' ? 'warn' : 'bad' };
}

function safeRead(read: () => number): number {
  try {
    return read();
  } catch {
    return NaN;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
