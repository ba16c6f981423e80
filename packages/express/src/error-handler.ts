import type { ErrorRequestHandler } from 'express';
import { httpAnswerFor } from '@bulwark/server';
import { send } from './capture-response.js';

/**
 * Express error middleware that answers the errors of Bulwark and of `@bulwark/http-client` as
 * `application/problem+json` (RFC 9457) with nothing internal in the body: 502 for a dependency
 * that failed, 504 for an exceeded deadline or timeout, 503 with Retry-After for an open circuit,
 * a full bulkhead, shedding or a dependency's rate limit, 499 for a caller that went away. Anything
 * else goes on to the next error handler. Mount it after the routes.
 *
 * @example
 * app.use(bulwark());
 * app.get('/users/:id', getUser);
 * app.use(bulwarkErrorHandler());
 */
export function bulwarkErrorHandler(): ErrorRequestHandler {
  return (error: unknown, _req, res, next) => {
    const answer = httpAnswerFor(error);
    // Once the response has started, only Express's own handler can end it (by closing the socket).
    if (answer === undefined || res.headersSent) {
      next(error);
      return;
    }
    send(res, answer.statusCode, answer.headers, JSON.stringify(answer.body));
  };
}
