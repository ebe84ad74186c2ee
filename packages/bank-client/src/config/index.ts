/** The bank daemon's settings: schema, loader, error texts, environment table and --help texts. */
export * from './schema.js';
export * from './problems.js';
export * from './load.js';
export * from './env.js';
export * from './help.js';
