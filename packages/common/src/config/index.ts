/**
 * Shared pieces of the aggregator's and the bank client's configuration loading: both
 * read a JSON object from a file and environment values that must parse as numbers.
 * Errors are thrown with the `makeError` the caller passes, so each program keeps its
 * own error type (and exit code) while the wording stays the same.
 */
import { readFileSync } from 'node:fs';
import { isDecimalNotation } from '../data/numbers.js';

type MakeError = (message: string) => Error;

/** Reads a config file that must hold one JSON object. */
export function readJsonObjectFile(file: string, makeError: MakeError): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw makeError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('top level must be an object');
    return parsed as Record<string, unknown>;
  } catch (err) {
    throw makeError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Parses an environment variable that must be a finite number in plain decimal notation
 * ('0x10', 'Infinity', 'NaN' and '1e400' are refused, not read as 16, ∞ or NaN).
 */
export function envNumber(name: string, raw: string, makeError: MakeError): number {
  const n = Number(raw);
  if (!isDecimalNotation(raw) || !Number.isFinite(n)) {
    const why = n === Infinity || n === -Infinity ? 'a finite number' : 'a number';
    const hint = Number.isFinite(n) ? ' (plain decimal notation, e.g. 16 rather than 0x10)' : '';
    throw makeError(`${name} must be ${why}, got "${raw}"${hint}`);
  }
  return n;
}
