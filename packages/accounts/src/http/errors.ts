/**
 * The `error` name of an answer's JSON body for the client errors the framework raises (a body too
 * large, a media type it cannot parse, a malformed request): the status's reason phrase (RFC 9110
 * section 15, as Node's `http.STATUS_CODES` spells it) in snake case, such as 413 →
 * "payload_too_large". Before, both servers called every one of them "bad_request", or the console
 * passed on Fastify's internal code (FST_ERR_CTP_INVALID_MEDIA_TYPE). The console's own 413 and
 * 415 (an upload over its limit, a request that is not multipart) carry the same names.
 */
import { STATUS_CODES } from 'node:http';

/** `status` (a 4xx) as a snake-case name; "bad_request" for a status Node does not name. */
export function clientErrorName(status: number): string {
  const phrase = STATUS_CODES[status];
  if (!phrase || status < 400 || status > 499) return 'bad_request';
  return phrase
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** What a route threw, as Fastify hands it to the error handler. */
export type RouteError = Error & { validation?: unknown; statusCode?: number; code?: unknown };

/**
 * The answer to an error a route threw, shared by the aggregator's and the bank console's error
 * handlers: a failed validation is 400 `bad_request`; an error with its own 4xx status keeps it,
 * named by `clientErrorName` (or by its own code when `ownCodes`, except the framework's internal
 * FST_ERR_… ones); anything else is 500 `internal`, its message pointing at `log` (the caller logs
 * the error itself: only the log may hold what went wrong).
 */
export function errorAnswer(
  err: RouteError,
  log: string,
  opts: { ownCodes?: boolean } = {},
): { status: number; body: { error: string; message: string } } {
  if (err.validation) return { status: 400, body: { error: 'bad_request', message: err.message } };
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
  if (status === 500) return { status, body: { error: 'internal', message: `internal error (see ${log})` } };
  const own = opts.ownCodes && typeof err.code === 'string' && !err.code.startsWith('FST_') ? err.code : null;
  return { status, body: { error: own ?? clientErrorName(status), message: err.message } };
}
