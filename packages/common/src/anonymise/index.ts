export * from './roles.js';
export * from './transforms.js';
export * from './kanon.js';
export * from './people-k.js';
export * from './plan.js';
export * from './file.js';
