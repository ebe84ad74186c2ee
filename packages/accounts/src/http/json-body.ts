/**
 * Both servers' JSON body parser (the aggregator's API and the bank console): Fastify's own
 * (secure-json-parse, prototype poisoning refused) with a message that says what is wrong.
 * Fastify's default answers every refusal "Body is not valid JSON but content-type is set to
 * 'application/json'" and drops the cause, so a body carrying a `__proto__` key was called
 * malformed JSON, and a malformed one was not told where.
 */
import { jsonSyntaxError } from '@finsecure/common/config';
import type { FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';

/** A 400 the error handler answers `bad_request` with this message (errors.ts errorAnswer). */
function refusal(message: string): Error & { statusCode: number } {
  return Object.assign(new Error(message), { statusCode: 400 });
}

/**
 * `text` (a request body) parsed as JSON; keys `__proto__`, and `constructor` holding a
 * `prototype`, refused anywhere in it (OWASP prototype pollution; secure-json-parse, Fastify's
 * default actions). Throws a 400 error whose message names the fault: the syntax error with its
 * line and column (never quoting the body), or the forbidden key.
 */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) throw refusal("the body is empty, but its content-type is 'application/json'");
  try {
    return secureJson.parse(text, null, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    const reason = (err as Error).message;
    // V8's own parser is not recursive, but secure-json-parse's scan for __proto__ is.
    if (err instanceof RangeError) throw refusal('the JSON body is nested too deeply to read');
    if (/forbidden prototype property/.test(reason))
      throw refusal(
        'the JSON body has a "__proto__" key, or a "constructor" key holding "prototype": refused, as such keys can change the server\'s objects (prototype pollution)',
      );
    // jsonSyntaxError places the fault (V8 does not always) and drops V8's quotes of the text:
    // a body may hold a password, and an answer can end up in a log.
    // A byte-order mark is not part of the JSON (secure-json-parse skips it): columns count after it.
    const { where, reason: why } = jsonSyntaxError(text.replace(/^\uFEFF/, ''), err as Error);
    const place = /^:(\d+):(\d+)$/.exec(where);
    throw refusal(`the body is not valid JSON: ${why}${place ? ` (line ${place[1]}, column ${place[2]})` : ''}`);
  }
}

/**
 * Replaces `app`'s application/json parser with parseJsonBody (before the routes). The body
 * limit stays the server's (`bodyLimit`): Fastify applies it before the parser runs.
 */
export function registerJsonBody(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      // Whatever went wrong reading a client's body is that body's fault: a 400, never a 500.
      const e = err as Error & { statusCode?: number };
      done(e.statusCode === undefined ? refusal(`the body is not valid JSON: ${e.name}`) : e, undefined);
    }
  });
}
