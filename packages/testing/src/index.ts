export { FakeClock, settle, type FakeTimerHandle } from './fake-clock.js';
export {
  fault,
  startFaultServer,
  type DripFault,
  type Fault,
  type FaultServer,
  type FaultServerOptions,
  type HangFault,
  type RawFault,
  type ReceivedRequest,
  type RecordedRequest,
  type ResetAfterHeadersFault,
  type ResetBeforeHeadersFault,
  type RespondFault,
  type ServerClock,
  type TruncatedBodyFault,
} from './fault-server.js';
export {
  latch,
  listen,
  rawRequest,
  watchRequests,
  whenSettled,
  type Listening,
  type RawResponse,
  type RequestWatch,
} from './loopback.js';
export { freePort, startRedis, unreachableRedis, type TestRedis } from './redis-server.js';
export { postgresProgram, startPostgres, type TestPostgres } from './postgres-server.js';
