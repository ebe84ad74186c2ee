/**
 * The configuration's errors in words for people: unknown keys with the closest known one, a
 * zod issue as "must be a whole number, got 2.5", and never a secret's value.
 */
import { editDistance } from '@finsecure/common/config';
import type { z } from 'zod';
import { BankConfig } from './schema.js';

export class BankConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BankConfigError';
  }
}

/** `dpNoiseMultiplier` → `--dp-noise-multiplier`. */
export function flagOf(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * Keys of the JSON config file of `start`: every key of the schema, plus tokenFile (read like
 * --token-file). The same file may also hold the console's keys (console/config.ts) and an
 * "accounts" object (cli/accounts-config.ts).
 */
export const BANK_FILE_KEYS: readonly string[] = [...Object.keys(BankConfig.shape), 'tokenFile'];

/** The known key closest to `key`, if it is close enough to be a typo. */
export function didYouMean(key: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/**
 * Refuses keys of a config file (or of an object in it, `where`) that no setting reads,
 * naming the file, each unknown key and the closest known one.
 */
export function checkConfigKeys(file: string, obj: Record<string, unknown>, known: Iterable<string>, where = ''): void {
  const knownSet = new Set(known);
  const unknown = Object.keys(obj).filter((k) => !knownSet.has(k));
  if (!unknown.length) return;
  const lines = unknown.map((k) => {
    const hint = didYouMean(k, knownSet);
    return `  - "${where}${k}"${hint ? ` (did you mean "${where}${hint}"?)` : ''}`;
  });
  throw new BankConfigError(
    `config file ${file}: unknown key${unknown.length > 1 ? 's' : ''}:\n${lines.join('\n')}\n` +
      `  the keys ${where ? `of "${where.slice(0, -1)}" ` : ''}are: ${[...knownSet].sort().join(', ')}`,
  );
}

/** A setting's value as an error quotes it: strings in quotes, objects as JSON. */
export function showValue(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** Settings whose values are secrets: an error about one says what kind of value it got, never the value. */
export const SECRET_SETTINGS: ReadonlySet<string> = new Set(['token', 'stateKey']);

/** What an error may say about a secret's value: its JSON type only. */
function kindOf(value: unknown): string {
  const kind =
    value === null
      ? 'null'
      : Array.isArray(value)
        ? 'an array'
        : typeof value === 'object'
          ? 'an object'
          : `a ${typeof value}`;
  return `${kind} (not shown: it is a secret)`;
}

/**
 * A zod issue in words for people: "must be a whole number, got 2.5" rather than "Invalid
 * input: expected int, received number". `value` is the value of the setting; `key` its name,
 * so that a secret's value (SECRET_SETTINGS) is never quoted.
 */
export function describeIssue(i: z.core.$ZodIssue, value: unknown, key = ''): string {
  if (SECRET_SETTINGS.has(key)) {
    if (i.code === 'invalid_type') return `must be a string, got ${kindOf(value)}`;
    return i.message;
  }
  // JSON has no Infinity or NaN, but 1e400 parses as Infinity: say what is wrong with it.
  if (typeof value === 'number' && !Number.isFinite(value)) return `must be a finite number, got ${value}`;
  const got = `, got ${showValue(value)}`;
  switch (i.code) {
    case 'invalid_type':
      if (i.expected === 'int') return `must be a whole number${got}`;
      return `must be ${i.expected === 'number' ? 'a number' : i.expected === 'string' ? 'a string' : i.expected}${got}`;
    case 'too_big':
      if (i.origin === 'number') return `must be ${i.inclusive ? '≤' : '<'} ${String(i.maximum)}${got}`;
      break;
    case 'too_small':
      if (i.origin === 'number') return `must be ${i.inclusive ? '≥' : '>'} ${String(i.minimum)}${got}`;
      break;
    case 'invalid_value':
      return `must be one of ${i.values.map(String).join(', ')}${got}`;
    default:
      break;
  }
  return i.message;
}
