/**
 * The `error` name of an answer's JSON body for the client errors the framework raises (a body too
 * large, a media type it cannot parse, a malformed request): the status's reason phrase (RFC 9110
 * section 15, as Node's `http.STATUS_CODES` spells it) in snake case, such as 413 →
 * "payload_too_large". Before, both servers called every one of them "bad_request", or the console
 * passed on Fastify's internal code (FST_ERR_CTP_INVALID_MEDIA_TYPE).
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
