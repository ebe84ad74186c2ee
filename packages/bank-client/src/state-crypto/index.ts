/**
 * Encryption of the bank's state at rest: see envelope.ts (format), state.ts (start-up), files.ts
 * (whole files and models), line-logs.ts (sealed line logs), places.ts (what a file is sealed for).
 */
export * from './envelope.js';
export * from './key.js';
export * from './files.js';
export * from './line-logs.js';
export { registerStateRoot, resealInPlace } from './places.js';
export { cipherFor, openBankState, requireOpenedState, STATE_KEY_MARKER, type OpenedState } from './state.js';
