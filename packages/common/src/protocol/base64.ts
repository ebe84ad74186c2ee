/**
 * Canonical base64 of exactly `n` bytes as a zod schema: the right length and padding, and the
 * unused low bits of the last character zero, so each byte string has exactly one spelling (a
 * signature over a message cannot be replayed under a second spelling of the same key).
 */
import { z } from 'zod';

export function base64Bytes(n: number) {
  const pad = (3 - (n % 3)) % 3;
  const len = 4 * Math.ceil(n / 3);
  const last = pad === 1 ? '[AEIMQUYcgkosw048]' : pad === 2 ? '[AQgw]' : '[A-Za-z0-9+/]';
  return z.string().regex(new RegExp(`^[A-Za-z0-9+/]{${len - pad - 1}}${last}={${pad}}$`), {
    message: `must be canonical base64 of ${n} bytes`,
  });
}
