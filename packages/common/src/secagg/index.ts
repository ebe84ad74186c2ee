/**
 * Secure aggregation after SecAgg+ (Bonawitz et al. 2017; Bell et al. 2020): the pure,
 * transport-free core. The aggregator sums fixed-point vectors it never sees one by
 * one; the bank and aggregator round objects only need someone to move their messages.
 *
 *   advertise_keys → share_keys → masked_fit → consistency_check → unmask
 *
 * Crypto comes from node:crypto (X25519, HKDF-SHA-256, AES-256-GCM, AES-256-CTR,
 * Ed25519, SHA-256) and the audited `shamir-secret-sharing` package; nothing here is a
 * hand-written primitive.
 *
 * Where this differs from Flower's secaggplus workflow/mod, on purpose:
 * - masks expand the full 256-bit seed with AES-256-CTR (Flower folds the seed to 32
 *   bits for NumPy's Mersenne Twister);
 * - raw 32-byte X25519 keys, HKDF bound to purpose, round and bank pair; share
 *   envelopes are AES-GCM with round and both banks as associated data;
 * - key advertisements, survivor lists and masked vectors are Ed25519-signed with the
 *   round id, and a consistency-check stage (Bonawitz et al. 2017, round 4) makes banks
 *   refuse to unmask unless t neighbours signed the same survivor list;
 * - reconstructed secrets are checked (seed commitment, advertised public key), and the
 *   fixed-point range refuses parameters that could overflow mod 2^32.
 * Unmasking removes exactly the masks that entered the sum: every survivor's self mask
 * and, for each bank that dropped after sharing keys, its pairwise mask with each
 * surviving neighbour.
 *
 * Trust assumptions: the identity directory (bank id → Ed25519 public key) is
 * registered out of band and pinned by the banks; at least t honest banks in every
 * neighbourhood (t > half of it). Randomness flows through an injectable
 * RandomSource (default node:crypto), except the Shamir package's own coefficients.
 */
export * from './errors.js';
export * from './random.js';
export { bytesEqual, canonicalBytes, fromBase64, sha256, toBase64 } from './encoding.js';
export * from './identity.js';
export * from './keys.js';
export * from './shares.js';
export * from './prg.js';
export * from './fixed-point.js';
export * from './graph.js';
export * from './masking.js';
export * from './params.js';
export * from './bank.js';
export * from './aggregator.js';
export * from './reconstruct.js';
export * from './wire.js';
export * from './fedavg.js';
export * from './distributed-dp.js';
export * from './evaluation.js';
