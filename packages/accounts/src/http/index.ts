export * from './signin-routes.js';
