export * from './reputation.js';
export * from './quarantine.js';
export * from './quarantine-ledger.js';
