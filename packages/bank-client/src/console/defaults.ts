/**
 * Defaults of the bank console, in a module of their own: console/config.ts (read by every
 * `finsecure-bank` command that takes console settings) needs them without loading the
 * server (Fastify, SQLite, TF.js), which only a running console does.
 */
export const DEFAULT_CONSOLE_HOST = '127.0.0.1';
export const DEFAULT_MAX_UPLOAD_BYTES = 256 * 1024 * 1024;
export const DEFAULT_MAX_BATCH = 1000;
