/**
 * Limits on what one HTTP request may be, applied to every route of the aggregator (app.ts): how
 * long it may take to arrive, and that every number it carries is one the handlers can use.
 */
import type { RouteOptions } from 'fastify';

/**
 * Node's limits on receiving one request, all from `requestTimeoutMs` (config/schema.ts).
 * Fastify's requestTimeout defaults to 0, which turns off Node's own 300 s: a client that sent
 * its headers and part of a body (Content-Length: 100, 6 bytes sent) held its request, a
 * socket and the parser's buffers for ever. Node answers 408 and closes the socket when a
 * request is not received whole in time; it checks every `connectionsCheckingInterval`
 * (default 30 s, which alone would let a 1 s limit last 30 s), here a tenth of the limit.
 * The headers must come within the same limit (Node's default is 60 s). A WebSocket is a
 * request only until its upgrade: the parser lets go of the socket then, and these limits no
 * longer apply to it (a bank connection is watched by the heartbeat). An idle keep-alive
 * connection has no request in progress either (keepAliveTimeout closes it).
 */
export function requestTimeouts(requestTimeoutMs: number): {
  requestTimeout: number;
  headersTimeout: number;
  connectionsCheckingInterval: number;
} {
  return {
    requestTimeout: requestTimeoutMs,
    headersTimeout: Math.min(60_000, requestTimeoutMs),
    connectionsCheckingInterval: Math.max(10, Math.min(30_000, Math.floor(requestTimeoutMs / 10))),
  };
}

/** The parts of a request a route schema validates. */
const REQUEST_PARTS = ['querystring', 'params', 'body', 'headers'] as const;
/** Keywords whose value is a subschema, or an array or a map of them (JSON Schema draft 7 and 2020-12). */
const SUBSCHEMA = ['additionalProperties', 'items', 'contains', 'not', 'if', 'then', 'else', 'propertyNames'];
const SUBSCHEMA_LISTS = ['items', 'prefixItems', 'allOf', 'anyOf', 'oneOf'];
const SUBSCHEMA_MAPS = ['properties', 'patternProperties', 'definitions', '$defs', 'dependencies'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A copy of `schema` in which every integer must be a safe integer and every number finite.
 * Fastify's Ajv coerces the query string, the path parameters and JSON strings to numbers:
 * "1e309" becomes Infinity, which passes `type: integer` (Ajv tests `!(x % 1) && !isNaN(x)`),
 * and with Ajv's default `strictNumbers` the limit keywords skip a non-finite number, so even
 * `maximum: 1000` let it through; "99999999999999999999999" becomes 1e23, an integer that no
 * store or zod `.int()` takes. Either then threw in a handler and the request got a 500. With
 * `strictNumbers` off, `minimum` and `maximum` see every number, so an integer without bounds
 * gets ±Number.MAX_SAFE_INTEGER and a number ±Number.MAX_VALUE (a tighter bound the route gives
 * stays): a bad value is a 400 naming the field ("querystring/before must be <= 9007199254740991").
 * NaN cannot come out of a coercion (Ajv only coerces a string equal to its number).
 */
export function boundNumbers(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(boundNumbers);
  if (!isObject(schema)) return schema;
  const out: Record<string, unknown> = { ...schema };
  for (const k of SUBSCHEMA) if (isObject(out[k])) out[k] = boundNumbers(out[k]);
  for (const k of SUBSCHEMA_LISTS) if (Array.isArray(out[k])) out[k] = (out[k] as unknown[]).map(boundNumbers);
  for (const k of SUBSCHEMA_MAPS)
    if (isObject(out[k]))
      out[k] = Object.fromEntries(Object.entries(out[k]).map(([name, sub]) => [name, boundNumbers(sub)]));
  const types = Array.isArray(out.type) ? (out.type as unknown[]) : [out.type];
  const limit = types.includes('integer')
    ? Number.MAX_SAFE_INTEGER
    : types.includes('number')
      ? Number.MAX_VALUE
      : undefined;
  if (limit !== undefined) {
    if (!(typeof out.maximum === 'number' && out.maximum <= limit)) out.maximum = limit;
    if (!(typeof out.minimum === 'number' && out.minimum >= -limit)) out.minimum = -limit;
  }
  return out;
}

/** onRoute: bounds the numbers of every request part a route validates (boundNumbers). */
export function boundRequestNumbers(route: RouteOptions): void {
  if (!route.schema) return;
  const schema: Record<string, unknown> = { ...route.schema };
  for (const part of REQUEST_PARTS) if (schema[part] !== undefined) schema[part] = boundNumbers(schema[part]);
  route.schema = schema as RouteOptions['schema'];
}
