/**
 * What the aggregator trusts a member bank's claims for, and how far (issue 12, part A):
 * feature statistics for the scaler, example counts for FedAvg weights, update norms
 * under declared DP, and how often it may send frames; plus audit coalescing. Pure
 * functions and classes with injected clocks; the federation wires them in.
 * (Evaluation checks live in common/metrics: consistency.ts, shares.ts.)
 */
export * from './robust.js';
export * from './feature-bands.js';
export * from './feature-stats.js';
export * from './weight-bound.js';
export * from './update-norm.js';
export * from './rate-limit.js';
export * from './audit-coalescer.js';
export * from './rules.js';
