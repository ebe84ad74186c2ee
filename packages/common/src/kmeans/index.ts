export * from './lloyd.js';
export * from './init.js';
export * from './privacy.js';
export * from './federated.js';
export * from './features.js';
export * from './segments.js';
export * from './secure-layout.js';
export * from './suppress.js';
