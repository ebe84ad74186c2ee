/** zod → JSON Schema, so routes validate with Fastify's ajv and document themselves in OpenAPI. */
import { z } from 'zod';

export function jsonSchema(type: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(type, {
    target: 'draft-7',
    io,
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return rest;
}

export const ErrorReply = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' } },
  required: ['error', 'message'],
} as const;

/** A request that fails a zod check of its input: the app's error handler answers 400 with the message. */
export class InputError extends Error {
  readonly statusCode = 400;
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/**
 * Parses request input with zod, throwing an InputError (400) that names each bad field the
 * way Ajv does ("params/version: …"). A route must never `.parse` request input: a ZodError is
 * an ordinary error to the error handler, which answers 500 (as for a bug), and the caller
 * learns nothing about which field was wrong.
 */
export function parseInput<T extends z.ZodType>(
  schema: T,
  value: unknown,
  part: 'body' | 'params' | 'querystring',
): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new InputError(
    result.error.issues.map((i) => `${[part, ...i.path.map(String)].join('/')}: ${i.message}`).join('; '),
  );
}
