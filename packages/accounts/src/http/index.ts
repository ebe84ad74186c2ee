export * from './signin-routes.js';
export * from './security.js';
