export * from './config.js';
export * from './client.js';
export * from './local-data.js';
export * from './round-work.js';
export * from './score.js';
