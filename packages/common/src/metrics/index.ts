export * from './confusion.js';
export * from './layout.js';
export * from './histogram.js';
export * from './curves.js';
export * from './exact.js';
export * from './global.js';
export * from './consistency.js';
export * from './shares.js';
