export * from './clip.js';
export * from './noise.js';
export * from './rdp.js';
export * from './analytic.js';
export * from './norm-bound.js';
