/**
 * Canonical JSON for hashing: the same value always yields the same text, whichever
 * store it came back from and in whatever key order. Objects are written with keys
 * sorted by UTF-16 code units and no whitespace; numbers and strings use JSON.stringify,
 * which is ECMAScript's shortest round-trip form, so parse → canonicalJson is stable.
 * This is the JSON Canonicalization Scheme (RFC 8785) for the values we accept.
 *
 * Only JSON values are accepted. Anything JSON.stringify would silently change (NaN,
 * Infinity, undefined inside arrays, Dates, Maps, class instances, bigint) is rejected,
 * because a hash over a value that does not survive storage would later look like
 * tampering. Callers normalise first (see normaliseJson).
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export function canonicalJson(value: unknown): string {
  return write(value, '$');
}

function write(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: non-finite number at ${path}`);
      return JSON.stringify(value); // -0 is written as 0, like JSON.stringify
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v, i) => write(v, `${path}[${i}]`)).join(',')}]`;
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(`canonicalJson: not a plain object at ${path}`);
      }
      const record = value as Record<string, unknown>;
      const parts: string[] = [];
      for (const key of Object.keys(record).sort()) {
        const v = record[key];
        // An absent key and an undefined one are the same thing once stored.
        if (v === undefined) continue;
        parts.push(`${JSON.stringify(key)}:${write(v, `${path}.${key}`)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new TypeError(`canonicalJson: ${typeof value} is not JSON at ${path}`);
  }
}

/**
 * What a value becomes after a trip through JSON (NaN → null, Dates → strings,
 * undefined properties dropped). Applied to audit details before they are hashed, so
 * the entry we return is exactly the entry a later read will see.
 */
export function normaliseJson<T>(value: T): JsonValue {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError('normaliseJson: value is not representable as JSON');
  return JSON.parse(text) as JsonValue;
}
