export {
  DEFAULT_DURATION_BUCKETS,
  DEFAULT_MAX_LABEL_VALUES,
  DEFAULT_MAX_SERIES,
  DEFAULT_PREFIX,
  prometheusListener,
  type ObserveBreakersOptions,
  type ObserveBulkheadOptions,
  type ObserveEndpointsOptions,
  type ObservedBreakerView,
  type ObservedBreakers,
  type ObservedBulkhead,
  type ObservedEndpointView,
  type ObservedEndpoints,
  type PrometheusListener,
  type PrometheusListenerOptions,
  type PrometheusRegistry,
} from './prometheus-listener.js';
export { type UrlQuery } from './http-attributes.js';
export { openTelemetryListener, type OpenTelemetryListenerOptions } from './otel-listener.js';
export { tracedAttempt, type TracedAttemptOptions } from './traced-attempt.js';
export { tracedOperation, type TracedOperationOptions } from './traced-operation.js';
export type {
  BulwarkEvent,
  BulwarkListener,
  ChaosEventShape,
  EndpointEjectedShape,
  EndpointEventShape,
  EndpointReadmittedShape,
  EndpointsRefreshFailedShape,
  EndpointsUpdatedShape,
  HealthCheckEventShape,
  HealthEventShape,
  HealthReportEventShape,
  RateLimitEventShape,
  RateLimitGrantedShape,
  RateLimitQueuedShape,
  RateLimitRejectedShape,
  RateLimitStoreErrorShape,
  ShutdownEventShape,
} from './events.js';
