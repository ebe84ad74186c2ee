/**
 * Errors raised by the frame codec. Every failure carries a stable `code` so that
 * callers (the aggregator closing a socket with CloseCode.BadFrame, a bank client
 * deciding whether to retry, tests) can branch on it without parsing messages; the
 * message itself is for humans and names the offending field, tensor or byte offset.
 */
import type { z } from 'zod';

export const FRAME_ERROR_CODES = [
  /** The frame is larger than the receiver's limit (checked before anything is parsed). */
  'FRAME_TOO_LARGE',
  /** The frame ends before the header or a tensor payload it declares. */
  'FRAME_TRUNCATED',
  /** The first four bytes are not "FSF1". */
  'BAD_MAGIC',
  /** The header is not valid UTF-8 JSON (or its padding is not zero). */
  'BAD_HEADER_JSON',
  /** The header parsed but failed validation (envelope or message schema). */
  'HEADER_INVALID',
  /** A tensor's shape, dtype and byte region do not agree with each other or with the frame. */
  'TENSOR_SHAPE_MISMATCH',
  /** A tensor holds NaN or ±Infinity (or a value that would overflow its encoding). */
  'NON_FINITE',
  /** A tensor's dtype (or a requested encoding) is not float32, float16 or int8. */
  'UNKNOWN_DTYPE',
] as const;

export type FrameErrorCode = (typeof FRAME_ERROR_CODES)[number];

export class FrameError extends Error {
  override readonly name = 'FrameError';

  constructor(
    readonly code: FrameErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True when `err` is a FrameError (optionally with the given code). */
export function isFrameError(err: unknown, code?: FrameErrorCode): err is FrameError {
  return err instanceof FrameError && (code === undefined || err.code === code);
}

/**
 * Renders a zod issue path the way a reader would write it in code, e.g.
 * `msg.config.epochs` or `tensors[0].shape[1]`, so HEADER_INVALID names the field.
 */
export function formatPath(path: ReadonlyArray<PropertyKey>, root = ''): string {
  let out = root;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out === '' ? '(root)' : out;
}

/** At most this many issues are spelled out; the rest are counted. Keeps messages log-sized. */
const MAX_ISSUES_IN_MESSAGE = 3;

/** Builds a HEADER_INVALID error whose message lists the failing field paths. */
export function headerInvalid(what: string, issues: ReadonlyArray<z.core.$ZodIssue>, root: string): FrameError {
  const shown = issues
    .slice(0, MAX_ISSUES_IN_MESSAGE)
    .map((issue) => `${formatPath(issue.path, root)}: ${issue.message}`);
  const more = issues.length > MAX_ISSUES_IN_MESSAGE ? ` (and ${issues.length - MAX_ISSUES_IN_MESSAGE} more)` : '';
  return new FrameError('HEADER_INVALID', `${what}: ${shown.join('; ')}${more}`);
}
