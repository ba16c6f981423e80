import type { ContextFn } from './context.js';
import type { HttpAttemptInfo } from './events.js';

/**
 * How the function a pipeline runs can say what each attempt sent over HTTP: an HTTP client
 * puts an {@link HttpAttemptSource} on it under this key, and telemetry (a retry's `attempt`
 * events, a live attempt span) asks once an attempt has ended. Nothing is described unless
 * asked, so a call nobody observes builds nothing.
 */
export const httpAttemptSource: unique symbol = Symbol.for('bulwark.httpAttemptSource');

export interface HttpAttemptSource {
  /** The request attempt `attempt` sent (counting from 1), or undefined when it sent none. */
  httpAttempt(attempt: number): HttpAttemptInfo | undefined;
}

/** What attempt `attempt` of `fn` sent over HTTP, when `fn` describes its attempts. */
export function httpAttemptOf(fn: ContextFn, attempt: number): HttpAttemptInfo | undefined {
  const source = (fn as { [httpAttemptSource]?: HttpAttemptSource })[httpAttemptSource];
  return source === undefined ? undefined : source.httpAttempt(attempt);
}
