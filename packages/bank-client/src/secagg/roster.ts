/**
 * The secure-aggregation roster (`secaggRoster`, FINSECURE_SECAGG_ROSTER): the consortium's banks
 * and their identity public keys, exchanged out of band between the banks' operators. One JSON
 * object, bank id → that bank's identity public key, as the bank logs it at start (`identityKey`:
 * canonical base64 of the raw 32-byte Ed25519 key, the encoding of the hello and of
 * `<state-dir>/secagg-identities.json`):
 *
 *     { "bank-a": "8wZ…=", "bank-b": "Qm1…=", "bank-c": "xT4…=" }
 *
 * With a roster the bank takes part only in secure rounds whose participants are all on it, with
 * exactly these keys (identity.ts PinnedIdentities.check): the aggregator cannot invent banks whose
 * keys it holds and make them an honest bank's whole neighbourhood. The same file can be given to
 * every bank (each bank's own entry must then be its own key).
 *
 * Read by the config loader (config/load.ts) at start, so this module stays light: `--help` loads it.
 */
import { readJsonFile } from '@finsecure/common/config';

export interface SecAggRoster {
  /** The file it was read from (for the bank's own log; never sent to the aggregator). */
  readonly file: string;
  /** Bank id → identity public key, canonical base64 of 32 bytes. */
  readonly keys: Readonly<Record<string, string>>;
}

/** A bank id as the protocol spells it (common/protocol message-parts.ts `bankId`). */
const BANK_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Why `text` is not an identity public key (canonical base64 of 32 bytes), or null when it is one. */
export function identityKeyIssue(text: unknown): string | null {
  if (typeof text !== 'string') return `must be a string, got ${text === null ? 'null' : typeof text}`;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) return `is not canonical base64 (${text.length} characters)`;
  if (bytes.length !== 32) return `decodes to ${bytes.length} bytes, an Ed25519 public key has 32`;
  return null;
}

/**
 * Checks a parsed roster. Throws Error "<file>: <what is wrong>" naming the entry: not an object,
 * empty, a malformed bank id, a value that is not a base64 32-byte key, or one key under two ids
 * (two ids with one key are one party: exactly what a roster is there to rule out).
 */
export function parseSecAggRoster(json: unknown, file: string): SecAggRoster {
  const hint =
    'expected a JSON object mapping each bank id to its identity public key, e.g. {"bank-a": "<identityKey>", …} ' +
    '(each bank logs its identityKey at start)';
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new Error(`${file}: ${Array.isArray(json) ? 'an array' : json === null ? 'null' : typeof json}: ${hint}`);
  const entries = Object.entries(json as Record<string, unknown>);
  if (!entries.length) throw new Error(`${file}: lists no bank: ${hint}`);
  const keys: Record<string, string> = {};
  const owner = new Map<string, string>();
  for (const [bankId, key] of entries) {
    if (!BANK_ID.test(bankId))
      throw new Error(
        `${file}: ${JSON.stringify(bankId.slice(0, 80))} is not a bank id (1 to 64 letters, digits, "_", "." and "-", starting with a letter or digit)`,
      );
    const issue = identityKeyIssue(key);
    if (issue)
      throw new Error(
        `${file}: the key of "${bankId}" ${issue}: expected the bank's identityKey (base64 of its 32-byte Ed25519 public key)`,
      );
    const other = owner.get(key as string);
    if (other !== undefined)
      throw new Error(`${file}: "${other}" and "${bankId}" have the same key: each bank has its own identity key`);
    owner.set(key as string, bankId);
    keys[bankId] = key as string;
  }
  return { file, keys: Object.freeze(keys) };
}

/** Reads and checks a roster file; throws Error naming the file and what is wrong with it. */
export function readSecAggRoster(file: string): SecAggRoster {
  const json = readJsonFile(file, (m) => new Error(m), 'secure-aggregation roster');
  return parseSecAggRoster(json, file);
}
