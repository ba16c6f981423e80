export { FakeClock, settle, type FakeTimerHandle } from './fake-clock.js';
