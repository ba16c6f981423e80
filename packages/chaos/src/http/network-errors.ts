import { constants } from 'node:os';
import { errors } from 'undici';

/**
 * The errors a broken connection gives an undici client, made here so that the client's
 * classification (retry or not, committed or not) meets what it meets in a real outage. Each
 * message says that it was injected, so a log line cannot pass a rehearsal off as an outage;
 * classification reads classes and codes, never messages.
 */

const INJECTED = ' (injected by chaos)';

/** What Node reports when the peer resets a TCP connection: a system error, `code` ECONNRESET. */
export function connectionReset(): Error {
  return Object.assign(new Error(`read ECONNRESET${INJECTED}`), {
    errno: -constants.errno.ECONNRESET,
    code: 'ECONNRESET',
    syscall: 'read',
  });
}

/**
 * What undici reports when a keep-alive connection closes before the body it announced has
 * arrived: a `SocketError` (`code` UND_ERR_SOCKET) saying the other side closed.
 */
export function otherSideClosed(): Error {
  return new errors.SocketError(`other side closed${INJECTED}`);
}
