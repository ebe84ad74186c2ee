/** Encryption of the bank's state at rest: see envelope.ts (format), state.ts (start-up), files.ts (files). */
export * from './envelope.js';
export * from './key.js';
export * from './files.js';
export { cipherFor, openBankState, requireOpenedState, STATE_KEY_MARKER, type OpenedState } from './state.js';
