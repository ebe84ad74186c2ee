/**
 * Validation of a column mapping read from JSON (e.g. `--mapping mapping.json`), so a
 * typo in a key is reported instead of silently ignored.
 */
import { z } from 'zod';
import type { ColumnMapping } from './layouts.js';

const name = z.string().min(1);

export const columnMappingSchema = z.strictObject({
  label: name,
  features: z.array(name),
  categorical: z.array(name).optional(),
  categories: z.record(z.string(), z.array(z.string())).optional(),
  ignore: z.array(name).optional(),
  group: name.optional(),
  time: name.optional(),
});

/** Parses an untrusted value into a ColumnMapping; throws with every problem listed. */
export function parseColumnMapping(value: unknown, source = 'mapping'): ColumnMapping {
  const r = columnMappingSchema.safeParse(value);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`${source}: invalid column mapping: ${issues}`);
  }
  return r.data;
}
