/**
 * The request validators of both servers (the aggregator's API and the bank console): JSON Schema
 * (Ajv 8, as Fastify's own compiler) with Fastify's options, except that a JSON body's types are
 * never coerced. Why: Fastify coerces every part by default,
 * which is right for a query string or a path (all text) but turned bodies of the wrong type
 * into changes: `{"disabled": 1}` disabled a person, `{"id": true}` made a bank called "true",
 * `{"additionalRounds": "5"}` added rounds. A body of the wrong type is now a 400 naming the field.
 *
 * Options as @fastify/ajv-compiler's defaults (useDefaults, addUsedSchema off, allErrors off
 * against denial of service), with removeAdditional off (an unknown field is refused, not
 * dropped); `strictNumbers: false` for a server that bounds numbers itself (the aggregator's
 * request-limits.ts boundRequestNumbers).
 */
import { Ajv, type Options } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';

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
  const body = new Ajv({ ...common, coerceTypes: false });
  const text = new Ajv({ ...common, coerceTypes: 'array' });
  return ({ schema, httpPart }) => (httpPart === 'body' ? body : text).compile(schema as object);
}
