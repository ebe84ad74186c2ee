export * from './reputation.js';
export * from './quarantine.js';
