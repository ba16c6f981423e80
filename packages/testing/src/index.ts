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
  type ListenAt,
  type Listening,
  type RawResponse,
  type RequestWatch,
} from './loopback.js';
export { startDnsServer, type DnsAnswer, type DnsQuery, type DnsServer } from './dns-server.js';
export { freePort, startRedis, unreachableRedis, type TestRedis } from './redis-server.js';
export { CHROMIUM_ARGS, CHROMIUM_PATH, startChromium, type TestBrowser } from './chromium.js';
export { postgresProgram, startPostgres, type TestPostgres } from './postgres-server.js';
