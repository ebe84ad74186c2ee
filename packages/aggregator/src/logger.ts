import { pino, type Logger } from 'pino';

/** Paths that may hold secrets; pino replaces them before anything is written. */
export const REDACT = [
  'token',
  '*.token',
  'adminToken',
  'viewerToken',
  '*.adminToken',
  '*.viewerToken',
  'req.headers.authorization',
  'headers.authorization',
];

export function createLogger(level: string, name = 'aggregator'): Logger {
  return pino({ name, level, redact: { paths: REDACT, censor: '[redacted]' } });
}
