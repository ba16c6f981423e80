export {
  chaosHttp,
  type ChaosHttpArgs,
  type ChaosHttpInterceptor,
  type ChaosHttpOptions,
  type HttpStatusFault,
  type ResetAfterHeadersFault,
  type ResetBeforeHeadersFault,
  type SlowBodyFault,
  type TruncatedBodyFault,
} from './http/chaos-http.js';
export type {
  ChaosHttpEvent,
  ChaosHttpStatusEvent,
  ChaosResetAfterHeadersEvent,
  ChaosResetBeforeHeadersEvent,
  ChaosSlowBodyEvent,
  ChaosTruncatedBodyEvent,
  ChaosListener,
} from './events.js';
export { chaosSwitch, type ChaosSwitch } from './switch.js';
