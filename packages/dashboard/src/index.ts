export {
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
export type { DashboardEvent, DashboardEventListener, IdempotencyShape } from './events.js';
export type { MetricsRegistryLike } from './server-source.js';
export type { CellView, ColumnView, History, RowView, Snapshot, TableView, Tone } from './view.js';
