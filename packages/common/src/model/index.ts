export * from './backend.js';
export * from './mlp.js';
export * from './trainer.js';
export * from './export.js';
export * from './forward.js';
export * from './kernel-gradient.js';
