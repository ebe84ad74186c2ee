/**
 * The frame header's envelope, `{ msg, tensors }`: its schema (the definition) and a plain fast
 * path for the envelopes every honest frame has (frame-decode.ts reads the header with both).
 */
import { z } from 'zod';

const TensorDescriptorSchema = z.object({
  name: z.string().min(1).max(256),
  shape: z.array(z.number().int().nonnegative()).max(32),
  // Any string here: an unrecognised dtype gets its own error code (UNKNOWN_DTYPE, frame-decode.ts).
  dtype: z.string(),
  byteOffset: z.number().int().nonnegative(),
  byteLength: z.number().int().nonnegative(),
  scale: z.number().nonnegative().optional(),
});

export const HeaderSchema = z
  .object({ msg: z.unknown(), tensors: z.array(TensorDescriptorSchema).max(1024) })
  .superRefine((h, ctx) => {
    const seen = new Set<string>();
    h.tensors.forEach((t, i) => {
      if (seen.has(t.name))
        ctx.addIssue({ code: 'custom', path: ['tensors', i, 'name'], message: `duplicate tensor name "${t.name}"` });
      seen.add(t.name);
    });
  });

export type Header = z.infer<typeof HeaderSchema>;
/** One entry of the header's `tensors`, as the schema returns it (its dtype not yet narrowed). */
export type WireDescriptor = Header['tensors'][number];

/**
 * The envelope exactly as `HeaderSchema` would return it, when it is plainly valid (an object
 * with `msg` and at most 1,024 descriptors, each with exactly the schema's keys, well typed and
 * named once); otherwise null, and the schema is run to name what is wrong. Why: the schema's
 * generic machinery was about a seventh of a frame's decoding in a steady 10-bank round, where
 * every frame's envelope is valid (issue 14 item 1). The schema stays the definition: this
 * accepts a subset of what it accepts, with the same result (protocol-frame-envelope.test.ts checks both
 * on valid and broken envelopes).
 */
export function plainHeader(json: unknown): Header | null {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return null;
  const o = json as Record<string, unknown>;
  const raw = o.tensors;
  if (!('msg' in o) || !Array.isArray(raw) || raw.length > 1024) return null;
  const tensors: Header['tensors'] = [];
  const names = raw.length > 1 ? new Set<string>() : null;
  for (const t of raw as unknown[]) {
    const d = plainDescriptor(t);
    if (!d) return null;
    if (names) {
      if (names.has(d.name)) return null;
      names.add(d.name);
    }
    tensors.push(d);
  }
  return { msg: o.msg, tensors };
}

const count = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const DESCRIPTOR_KEYS = new Set(['name', 'shape', 'dtype', 'byteOffset', 'byteLength', 'scale']);

/** One descriptor as TensorDescriptorSchema returns it, or null (see plainHeader). */
function plainDescriptor(t: unknown): Header['tensors'][number] | null {
  if (typeof t !== 'object' || t === null || Array.isArray(t)) return null;
  const d = t as Record<string, unknown>;
  for (const key in d) if (!DESCRIPTOR_KEYS.has(key)) return null; // the schema strips them: let it
  const { name, shape, dtype, byteOffset, byteLength, scale } = d;
  if (typeof name !== 'string' || name.length < 1 || name.length > 256 || typeof dtype !== 'string') return null;
  if (!Array.isArray(shape) || shape.length > 32 || !shape.every(count)) return null;
  if (!count(byteOffset) || !count(byteLength)) return null;
  if ('scale' in d && !(typeof scale === 'number' && Number.isFinite(scale) && scale >= 0)) return null;
  return {
    name,
    shape: [...(shape as number[])],
    dtype,
    byteOffset,
    byteLength,
    ...(scale !== undefined ? { scale: scale as number } : {}),
  };
}
