/** A pino JSON line as the connection tests read it, and pino's numeric levels. */
export interface Line {
  level: number;
  msg: string;
  cause?: string;
  attempt?: number;
  [key: string]: unknown;
}
export const DEBUG = 20;
export const INFO = 30;
export const WARN = 40;
export const ERROR = 50;
