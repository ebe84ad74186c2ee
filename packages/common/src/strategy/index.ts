export type * from './types.js';
export * from './selection.js';
export * from './share-cap.js';
export * from './fedavg.js';
export * from './fedmedian.js';
export * from './factory.js';
