export * from './signin-routes.js';
export * from './security.js';
export * from './access-hook.js';
export * from './validators.js';
export * from './errors.js';
export * from './json-body.js';
