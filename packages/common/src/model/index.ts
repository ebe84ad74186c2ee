export * from './backend.js';
export * from './mlp.js';
export * from './trainer.js';
export * from './export.js';
