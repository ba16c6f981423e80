export {
  DEFAULT_HISTORY_SECONDS,
  DEFAULT_INTERVAL_MS,
  DEFAULT_LATENCY_WINDOW_SECONDS,
  DEFAULT_MAX_BREAKERS,
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_MAX_ENTRIES,
  DEFAULT_MAX_OPERATIONS,
  DEFAULT_MAX_VIEWERS,
  DEFAULT_PATH,
  dashboardListener,
  isLocalRequest,
  type AuthorizeArgs,
  type DashboardHandler,
  type DashboardListener,
  type DashboardOptions,
  type ObserveBreakersOptions,
  type ObserveBulkheadOptions,
  type ObserveRetryBudgetOptions,
  type ObserveServerOptions,
  type ObservedBreakerSource,
} from './dashboard-listener.js';
export type { BreakerViewLike } from './board.js';
export type { ObservedBulkheadLike, ObservedRetryBudgetLike } from './entities.js';
export type {
  DashboardEvent,
  DashboardEventListener,
  EndpointEjectionShape,
  IdempotencyShape,
} from './events.js';
export type { MetricsRegistryLike } from './server-source.js';
export type { CellView, ColumnView, History, RowView, Snapshot, TableView, Tone } from './view.js';
