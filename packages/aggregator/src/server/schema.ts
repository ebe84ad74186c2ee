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
