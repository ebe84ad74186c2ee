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
  try {
    return write(value);
  } catch (err) {
    if (err instanceof Unwritable) throw new TypeError(`canonicalJson: ${err.what} at $${err.path.reverse().join('')}`);
    throw err;
  }
}

/**
 * What `write` throws: the path is gathered while the error unwinds, so a value that writes costs
 * no path strings (they were most of what an audit entry's hash allocated; issue 14 item 1).
 */
class Unwritable {
  readonly path: string[] = [];
  constructor(readonly what: string) {}
}

function inside(err: unknown, segment: string): unknown {
  if (err instanceof Unwritable) err.path.push(segment);
  return err;
}

function write(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new Unwritable('non-finite number');
      return JSON.stringify(value); // -0 is written as 0, like JSON.stringify
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          try {
            out += (i > 0 ? ',' : '') + write(value[i]);
          } catch (err) {
            throw inside(err, `[${i}]`);
          }
        }
        return out + ']';
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) throw new Unwritable('not a plain object');
      const record = value as Record<string, unknown>;
      let out = '{';
      for (const key of Object.keys(record).sort()) {
        const v = record[key];
        // An absent key and an undefined one are the same thing once stored.
        if (v === undefined) continue;
        try {
          out += (out.length > 1 ? ',' : '') + JSON.stringify(key) + ':' + write(v);
        } catch (err) {
          throw inside(err, `.${key}`);
        }
      }
      return out + '}';
    }
    default:
      throw new Unwritable(`${typeof value} is not JSON`);
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
