/**
 * Shared pieces of the aggregator's and the bank client's configuration loading: both
 * read a JSON object from a file and environment values that must parse as numbers.
 * Errors are thrown with the `makeError` the caller passes, so each program keeps its
 * own error type (and exit code) while the wording stays the same.
 */
import { readFileSync } from 'node:fs';
import {
  findNodeAtLocation,
  parse as parseJsonc,
  parseTree,
  printParseErrorCode,
  type Node as JsonNode,
  type ParseError,
} from 'jsonc-parser';
import { isDecimalNotation } from '../data/numbers.js';

type MakeError = (message: string) => Error;

/**
 * Reads a JSON file an operator wrote (a config file, a column mapping). Errors, through
 * `makeError`: `cannot read ${what} ${file}: no such file` (or the system's reason), and
 * `${what} ${file}:line:column is not valid JSON: reason` (jsonSyntaxError).
 */
export function readJsonFile(file: string, makeError: MakeError, what = 'config file'): unknown {
  return parseJsonText(readText(file, makeError, what), file, makeError, what);
}

/** Reads a config file that must hold one JSON object (errors as readJsonFile's). */
export function readJsonObjectFile(file: string, makeError: MakeError): Record<string, unknown> {
  return readJsonObjectSource(file, makeError).value;
}

/** A config file's object and where each of its values is written. */
export interface JsonObjectSource {
  value: Record<string, unknown>;
  /**
   * ":line:column" (1-based, of the value's first character) of the value at `path` in the file,
   * for messages in the "file:line:column" form; "" when the file does not hold that path.
   */
  where(path: ReadonlyArray<string | number>): string;
}

/** readJsonObjectFile, keeping the text so that a bad value's message can say where it is. */
export function readJsonObjectSource(file: string, makeError: MakeError): JsonObjectSource {
  const text = readText(file, makeError, 'config file');
  const parsed = parseJsonText(text, file, makeError, 'config file');
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw makeError(`config file ${file} is not valid JSON: top level must be an object`);
  let tree: JsonNode | undefined;
  return {
    value: parsed as Record<string, unknown>,
    where: (path) => {
      tree ??= parseTree(text);
      const node = tree && findNodeAtLocation(tree, [...path]);
      return node ? lineColumn(text, node.offset) : '';
    },
  };
}

function readText(file: string, makeError: MakeError, what: string): string {
  try {
    // A byte-order mark (Windows editors write one) is not part of the JSON: JSON.parse refuses it.
    return readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'it is a directory' : e.message;
    throw makeError(`cannot read ${what} ${file}: ${why}`);
  }
}

function parseJsonText(text: string, file: string, makeError: MakeError, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const { where, reason } = jsonSyntaxError(text, err as Error);
    throw makeError(`${what} ${file}${where} is not valid JSON: ${reason}`);
  }
}

/** ":line:column" (1-based) of character `offset` of `text`. */
function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  return `:${before.split('\n').length}:${offset - (before.lastIndexOf('\n') + 1) + 1}`;
}

/**
 * Where and why `text` is not JSON, after JSON.parse refused it with `err`: `where` is ":line:column"
 * (1-based; "" when the fault cannot be placed) for a "file:line:column" message, `reason` V8's
 * wording without its character offset. V8 names a position for some faults only ("Unexpected
 * token '}', ... is not valid JSON" has none), so the place comes from jsonc-parser (VS Code's
 * JSON scanner) run as a strict JSON parser: no comments, no trailing commas.
 * @param text the file's whole text; @param err what JSON.parse threw for it.
 */
export function jsonSyntaxError(text: string, err: Error): { where: string; reason: string } {
  // V8 quotes the text itself in some messages ('Unexpected token..., "{"token": ...}" is not valid
  // JSON', '..."token": ,\n}" is not valid JSON' from further in, '..."token": fsb_9f"... is not
  // valid JSON' cut at both ends): a config file can hold secrets, and an error message ends up in
  // logs. Everything from the quote on is dropped, whatever its ends look like.
  const reason = err.message
    .replace(/, (?:\.\.\.)?"[\s\S]* is not valid JSON$/, '')
    // The unexpected character itself is kept only when it is JSON's punctuation: a letter may be
    // the second character of an unquoted secret ('"token": fsb_…' is "Unexpected token 's'").
    .replace(/^Unexpected token '[^{}[\],:"]'/, 'Unexpected token')
    .replace(/ (in JSON )?at position \d+( \(line \d+ column \d+\))?/, '');
  const errors: ParseError[] = [];
  try {
    parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  } catch (e) {
    // jsonc-parser recurses once per level: thousands of "[" overflow the stack. Not placed, then.
    if (!(e instanceof RangeError)) throw e;
    return { where: '', reason: reason || 'nested too deeply' };
  }
  const first = errors[0];
  if (!first) return { where: '', reason };
  // V8's wording is kept where it says more; jsonc-parser's code ("PropertyNameExpected") otherwise.
  return { where: lineColumn(text, first.offset), reason: reason || printParseErrorCode(first.error) };
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

/**
 * Levenshtein distance between `a` and `b` (insertions, deletions and substitutions, each 1), for
 * the "did you mean" of unknown config keys. O(|a|·|b|) time, O(|b|) memory; case-sensitive
 * (callers normalise first).
 */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}
export { isLoopbackHost, plainListenWarning } from './listen.js';
export { openDirWarning } from './dir-mode.js';
