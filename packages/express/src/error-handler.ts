import type { ErrorRequestHandler } from 'express';
import { httpAnswerFor } from '@bulwark/server';

/**
 * Express error middleware that answers Bulwark's errors: 503 with Retry-After for shedding, a
 * full bulkhead or an open circuit; 504 for an exceeded deadline or timeout; 499 for a caller
 * that went away. The body is JSON, `{ statusCode, code, error, message }`, as Fastify answers
 * errors. Anything else goes on to the next error handler. Mount it after the routes.
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
    res.status(answer.statusCode);
    for (const name in answer.headers) res.setHeader(name, answer.headers[name]!);
    res.json(answer.body);
  };
}
