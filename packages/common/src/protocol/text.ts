/**
 * Free text on the wire (reasons, messages, versions, names): bounded, and well-formed UTF-16.
 *
 * JSON can carry a lone surrogate (`"\ud800"`), but neither store can keep one: SQLite's UTF-8
 * text and MongoDB's BSON both turn it into replacement characters on the way in. A bank's decline reason is
 * written into the round record that the commit seals by hash, so a lone surrogate would make the
 * stored round differ from what was sealed, and every read of it fail as tampered (and an audit
 * entry quoting it fail verification). Each lone surrogate is therefore replaced by U+FFFD where
 * the frame is parsed, as the WHATWG encoding standard's UTF-8 encoder does (TextEncoder), so what
 * is stored is what was hashed.
 */
import { z } from 'zod';

/**
 * `s` with each lone surrogate replaced by U+FFFD: the platform's String.prototype.toWellFormed
 * (ES2024, in Node since 20.0; the TypeScript lib this repository targets does not type it yet).
 */
export function wellFormed(s: string): string {
  return (s as string & { toWellFormed(): string }).toWellFormed();
}

/** A string of at most `max` UTF-16 code units, parsed to its well-formed form. */
export function text(max: number) {
  return z.string().max(max).transform(wellFormed);
}
