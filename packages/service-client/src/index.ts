export { createServiceClient, type ServiceClient } from './service-client.js';
export type {
  CallOptions,
  Operation,
  OperationArgs,
  OperationDefinition,
  OperationFallback,
  StreamOperationDefinition,
} from './operation.js';
export type { PathParamNames, PathParams } from './path-template.js';
export {
  type BalancerOptions,
  type DnsEndpoints,
  type EndpointsOption,
  type HedgeOverrides,
  type MetricsOptions,
  type OutlierDetectionOptions,
  type RetryOverrides,
  type ServiceBulkheadOptions,
  type ServiceClientOptions,
  type SuccessRateOptions,
  type TracingOptions,
} from './options.js';
export type { DnsRecord, DnsResolver } from './sources/dns-source.js';
export type { EndpointsFn, EndpointsFnArgs } from './sources/function-source.js';
export type { EndpointView } from './views.js';
export type { EndpointState } from './endpoint.js';
export type { ReadinessCheckOptions } from './readiness.js';
export {
  NoEndpointsAvailableError,
  ServiceClientErrorCode,
  isNoEndpointsAvailableError,
} from './errors.js';
export type {
  EjectionReason,
  EndpointEjectedEvent,
  EndpointReadmittedEvent,
  EndpointsRefreshFailedEvent,
  EndpointsUpdatedEvent,
  ServiceClientEvent,
  ServiceClientListener,
} from './events.js';
