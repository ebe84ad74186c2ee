/**
 * The building blocks of secure-aggregation messages, shared by the training workflow's
 * messages (secagg-messages.ts) and the analytics jobs' secure sums (analytics-messages.ts):
 * bank ids, the session nonce, fixed-length base64 byte strings, signed key advertisements,
 * share envelopes, the neighbourhood graph and the fixed-point encoding. A leaf module (zod
 * only), so that both message modules can use it without importing each other.
 */
import { z } from 'zod';
import { base64Bytes } from './base64.js';

export const secaggBankId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'bank id may contain letters, digits, "_", "." and "-"');
/** 128-bit random nonce per round attempt, hex: a retried round never accepts the failed attempt's messages. */
export const session = z.string().regex(/^[0-9a-f]{32}$/, 'session must be 32 lowercase hex digits');

export const key32 = base64Bytes(32);
export const signature64 = base64Bytes(64);
export const share33 = base64Bytes(33);
/** nonce (12) ‖ AES-GCM of two 33-byte shares (66) ‖ tag (16). */
export const envelope94 = base64Bytes(94);
/** An envelope from its dealer, with the SHA-256 digests of the two shares inside (common/secagg/messages.ts shareDigest). */
export const incomingEnvelope = z
  .object({ from: secaggBankId, ciphertext: envelope94, seedShareHash: key32, keyShareHash: key32 })
  .strict();

export const SecAggGraph = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('complete') }).strict(),
  z.object({ kind: z.literal('harary'), degree: z.number().int().min(2).max(254), seed: key32 }).strict(),
]);

export const SecAggFixedPoint = z
  .object({
    fractionalBits: z.number().int().min(0).max(30),
    clip: z.number().finite().positive(),
    maxWeight: z.number().finite().positive(),
    maxBanks: z.number().int().min(2).max(100_000),
  })
  .strict();

export const KeyAdvertisementWire = z
  .object({ bankId: secaggBankId, cPublicKey: key32, sPublicKey: key32, signature: signature64 })
  .strict();
