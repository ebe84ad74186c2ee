/**
 * The request validators of both servers (the aggregator's API and the bank console): JSON Schema
 * (Ajv 8, as Fastify's own compiler) with Fastify's options, except that a JSON body's types are
 * never coerced. Why: Fastify coerces every part by default,
 * which is right for a query string or a path (all text) but turned bodies of the wrong type
 * into changes: `{"disabled": 1}` disabled a person, `{"id": true}` made a bank called "true",
 * `{"additionalRounds": "5"}` added rounds. A body of the wrong type is now a 400 naming the field.
 *
 * Options and formats as @fastify/ajv-compiler's defaults (useDefaults, addUsedSchema off, allErrors
 * off against denial of service, ajv-formats), with removeAdditional off (an unknown field is refused, not
 * dropped); `strictNumbers: false` for a server that bounds numbers itself (the aggregator's
 * request-limits.ts boundRequestNumbers).
 */
import { Ajv, type Options } from 'ajv';
import formats from 'ajv-formats';
import type { FastifySchemaCompiler, RouteOptions } from 'fastify';

// ajv-formats is CommonJS: under NodeNext its default import is the module object.
const addFormats = (formats as unknown as { default: typeof formats.default }).default;

const COMMON: Options = {
  useDefaults: true,
  removeAdditional: false,
  addUsedSchema: false,
  allErrors: false,
  // Fastify's schemas carry keywords for the OpenAPI document (description, example…).
  strict: false,
};

/**
 * Fastify's validator compiler (`app.setValidatorCompiler`, before the routes): one Ajv per kind
 * of part, bodies strict, text parts (query, params, headers) coerced.
 */
export function requestValidators(opts: { strictNumbers?: boolean } = {}): FastifySchemaCompiler<unknown> {
  const common = { ...COMMON, ...(opts.strictNumbers !== undefined ? { strictNumbers: opts.strictNumbers } : {}) };
  // With the formats @fastify/ajv-compiler adds (ajv-formats): without them a `format: 'date'` was
  // ignored (Ajv warned once at start), and a mistyped day became an empty alert queue.
  const body = addFormats(new Ajv({ ...common, coerceTypes: false }));
  const text = addFormats(new Ajv({ ...common, coerceTypes: 'array' }));
  return ({ schema, httpPart }) => (httpPart === 'body' ? body : text).compile(schema as object);
}

/**
 * The query schema of a route that reads its query itself (the bank console's account reports:
 * zod, strict): any parameter passes the framework, and the route names the ones it refuses.
 */
export const QUERY_READ_BY_ROUTE = { type: 'object', additionalProperties: true } as const;

/**
 * onRoute hook (before any route is declared): an `/api/` route refuses query parameters it does
 * not declare. A query schema without `additionalProperties` gets false (not JSON Schema's true),
 * and a route with no query schema gets an empty one. Why: some routes said false and some said
 * nothing, so `?limt=5` was a 400 on one route and silently the default limit on the next, and
 * `GET /api/banks?limit=5` answered every bank without a word. A route that reads its query
 * itself declares QUERY_READ_BY_ROUTE.
 */
export function refuseUnknownQuery(route: RouteOptions): void {
  const url = typeof route.url === 'string' ? route.url : '';
  if (!url.startsWith('/api/') || (route as { websocket?: boolean }).websocket) return;
  const query = route.schema?.querystring as Record<string, unknown> | undefined;
  if (query === undefined)
    route.schema = { ...route.schema, querystring: { type: 'object', properties: {}, additionalProperties: false } };
  else if (query.type === 'object' && !('additionalProperties' in query))
    route.schema = { ...route.schema, querystring: { ...query, additionalProperties: false } };
}

/** One failed check as Ajv reports it (the fields schemaErrors reads). */
interface SchemaError {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

/**
 * Both servers' `schemaErrorFormatter`: Fastify's message ("querystring/limit must be <= 1000")
 * with the name of an unknown field, which Ajv keeps out of its message: "body must NOT have
 * additional properties" did not say which one to remove. Returns the Error Fastify answers 400.
 */
export function schemaErrors(errors: readonly SchemaError[], dataVar: string): Error {
  const text = errors
    .map((e) => {
      const where = `${dataVar}${e.instancePath}`;
      const extra = e.keyword === 'additionalProperties' ? e.params.additionalProperty : undefined;
      if (typeof extra === 'string')
        return `${where} must NOT have additional properties: ${quoteName(extra)} is not one of its fields`;
      return `${where} ${e.message ?? 'is not valid'}`;
    })
    .join(', ');
  return new Error(text);
}

/** A field name from a request as a message may quote it: JSON-escaped, at most 64 characters. */
function quoteName(name: string): string {
  return JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
}
