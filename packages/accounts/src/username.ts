/**
 * Username rules. A username is what people type and what the audit log names, so two
 * accounts must never look alike: the input is NFKC-normalised (Unicode UAX #15, so a
 * full-width "ａｄｍｉｎ" is "admin"), lower-cased, and must then be plain ASCII letters,
 * digits, dot, dash and underscore. Anything else is refused with a reason rather than
 * silently mapped: control and invisible characters (bidi overrides, zero-width joiners)
 * and letters from other scripts that look Latin (Cyrillic "а" in "аdmin") are the
 * classic account-confusion tricks (Unicode TR #39, confusable detection).
 */

export const USERNAME_MAX = 64;
export const DISPLAY_NAME_MAX = 100;

export class InvalidInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'InvalidInputError';
  }
}

// C0/C1 controls, bidi controls, zero-width and other format characters (category Cf).
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
// A lone surrogate (category Cs; a pair is one code point): no store keeps it as written (SQLite's
// UTF-8 and MongoDB's BSON turn it into replacement characters), so an audit entry naming it as the
// actor would no longer match its hash.
const LONE_SURROGATE = /\p{Cs}/u;

/** The canonical form of a username, or an InvalidInputError naming what is wrong. */
export function normaliseUsername(input: unknown): string {
  if (typeof input !== 'string') throw new InvalidInputError('username', 'must be a string');
  // Checked before normalising so that a huge input costs nothing.
  if (input.length > USERNAME_MAX * 4)
    throw new InvalidInputError('username', `longer than ${USERNAME_MAX} characters`);
  if (INVISIBLE.test(input)) {
    throw new InvalidInputError('username', 'contains control or invisible characters');
  }
  const name = input.normalize('NFKC').trim().toLowerCase();
  if (name.length === 0) throw new InvalidInputError('username', 'is empty');
  if (name.length > USERNAME_MAX) throw new InvalidInputError('username', `longer than ${USERNAME_MAX} characters`);
  if (/[^\x20-\x7e]/.test(name)) {
    throw new InvalidInputError(
      'username',
      'contains non-ASCII letters, which can look like other letters (use a-z, 0-9, ".", "-", "_")',
    );
  }
  if (!/^[a-z0-9][a-z0-9._-]{1,63}$/.test(name)) {
    throw new InvalidInputError(
      'username',
      'must be 2 to 64 characters a-z, 0-9, ".", "-" or "_", starting with a letter or digit',
    );
  }
  return name;
}

/**
 * Display names may be any script, but not control/invisible characters, and bounded.
 * @param field the request field named in an InvalidInputError ('displayName', or 'name' for a token's).
 */
export function normaliseDisplayName(input: unknown, fallback: string, field = 'displayName'): string {
  if (input === undefined || input === null || input === '') return fallback;
  if (typeof input !== 'string') throw new InvalidInputError(field, 'must be a string');
  if (input.length > DISPLAY_NAME_MAX * 4)
    throw new InvalidInputError(field, `longer than ${DISPLAY_NAME_MAX} characters`);
  if (INVISIBLE.test(input)) throw new InvalidInputError(field, 'contains control or invisible characters');
  if (LONE_SURROGATE.test(input)) throw new InvalidInputError(field, 'is not well-formed text (a lone surrogate)');
  const name = input.normalize('NFKC').trim();
  if ([...name].length > DISPLAY_NAME_MAX) {
    throw new InvalidInputError(field, `longer than ${DISPLAY_NAME_MAX} characters`);
  }
  return name || fallback;
}
