/**
 * Cheap looks at a frame a bank sent, for auditing what the federation itself answers
 * without recording (a second hello on an authenticated connection).
 */
import { decodeFrame } from '@finsecure/common/protocol';
import { z } from 'zod';
import { MAX_HELLO_BYTES } from './ws-limits.js';

const HelloType = z.object({ type: z.literal('hello') });

/**
 * Whether `bytes` is a well-formed frame whose message type is `hello`. Frames larger than
 * a hello can be are not looked at (no second decode of a 64 MiB update).
 */
export function isHelloFrame(bytes: Uint8Array): boolean {
  if (bytes.byteLength > MAX_HELLO_BYTES) return false;
  try {
    decodeFrame(bytes, HelloType, { maxBytes: MAX_HELLO_BYTES });
    return true;
  } catch {
    return false;
  }
}
