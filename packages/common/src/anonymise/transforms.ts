/**
 * The per-value transformations of the anonymisation pipeline. All pure: the key is passed
 * in (a key from the bank's key file; tests: a fixed key). The Laplace noise of the pipeline
 * is derived from that key too (`keyedNoisyAmount`), so it repeats across exports.
 */
import { createHmac } from 'node:crypto';
import type { Rng } from '../rng/index.js';

/** Shortest HMAC key accepted: 256 bits, the output size of SHA-256 (RFC 2104 §3). */
export const MIN_KEY_BYTES = 32;

/** Checks a pseudonymisation key; throws with the reason if it is too short. */
export function checkPseudonymKey(key: Uint8Array, source = 'key'): void {
  if (key.length < MIN_KEY_BYTES)
    throw new Error(
      `${source}: the pseudonymisation key has ${key.length} bytes, at least ${MIN_KEY_BYTES} are needed (generate one with: openssl rand -hex 32 > key)`,
    );
}

/**
 * Keyed pseudonym of an identifier: the first 128 bits of HMAC-SHA-256(key, kind ‖ 0x00 ‖ value),
 * hex, prefixed by the kind ("cus_…", "acc_…", "txn_…"). Keyed (RFC 2104) rather than a
 * plain hash, because ids have few possible values and a plain hash is reversed by trying
 * them all; only the key holder can recompute it, so the bank can re-identify (see
 * `findOriginals`) and nobody else can. The kind separates domains, so customer 17 and
 * account 17 get unrelated pseudonyms. Deterministic: the same key and value give the
 * same pseudonym in every file, which keeps a customer's rows linkable across exports.
 *
 * 128 bits: collisions are negligible (birthday bound ~2^64 ids).
 */
export function pseudonym(key: Uint8Array, kind: PseudonymKind, value: string): string {
  const mac = createHmac('sha256', key).update(kind).update('\0').update(value, 'utf8').digest('hex');
  return `${PREFIX[kind]}_${mac.slice(0, 32)}`;
}
export type PseudonymKind = 'customer' | 'account' | 'transaction';
const PREFIX: Record<PseudonymKind, string> = { customer: 'cus', account: 'acc', transaction: 'txn' };

/**
 * Masks an account, IBAN or card number to its last four characters (PCI DSS 3.4 allows
 * at most the last four digits of a PAN to be shown). Spaces and dashes are removed
 * first so "DE89 3704 0044 0532 0130 00" keeps "3000"; values of four characters or
 * fewer become all-mask (showing them would show everything).
 */
export function maskLastFour(value: string): string {
  const compact = value.replace(/[\s-]/g, '');
  if (compact.length === 0) return '';
  if (compact.length <= 4) return '*'.repeat(compact.length);
  return `****${compact.slice(-4)}`;
}

/**
 * One draw from Laplace(0, b) by inversion: with U uniform on (−½, ½),
 * X = −b · sign(U) · ln(1 − 2|U|) (Dwork & Roth 2014, §3.3). The uniform comes from `rng`:
 * the pipeline passes `hmacRng` (keyed, repeatable, see `keyedNoisyAmount`); a seeded Rng
 * only in tests.
 *
 * Caveat (Mironov 2012): floating-point Laplace sampling leaks through the gaps between
 * representable values; the output is rounded to cents, which hides the low bits
 * (a partial form of his snapping mechanism), but no exact guarantee is claimed for it.
 */
export function laplace(b: number, rng: Rng): number {
  if (!(Number.isFinite(b) && b >= 0)) throw new Error(`Laplace scale must be a non-negative finite number, got ${b}`);
  let u: number;
  do u = rng.next() - 0.5;
  while (u === -0.5); // ln(0) at the open end
  return -b * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
}

export interface LaplaceAmountParams {
  /** ε spent on each transaction's amount. */
  epsilon: number;
  /** Amounts are clipped to [0, clip] first, so the sensitivity is `clip` (same currency unit). */
  clip: number;
}

/**
 * The Laplace mechanism on one amount: clip to [0, C], add Lap(C/ε), round to cents. ε-DP
 * for that transaction's amount with sensitivity C (Dwork, McSherry, Nissim & Smith 2006).
 * The released value may be negative or above C: that is the noise, and clamping it
 * would bias sums; analysts should aggregate, not read single rows.
 */
export function noisyAmount(amount: number, p: LaplaceAmountParams, rng: Rng): { value: number; clipped: boolean } {
  const clipped = amount < 0 || amount > p.clip;
  const x = Math.min(Math.max(amount, 0), p.clip);
  const v = x + laplace(p.clip / p.epsilon, rng);
  return { value: Math.round(v * 100) / 100 + 0, clipped }; // + 0 turns −0 into 0
}

/**
 * A deterministic stream of uniforms in [0, 1) behind the `Rng` API: block i is
 * HMAC-SHA-256(key, message ‖ i) (a PRF in counter mode, as the KDF in counter mode of
 * NIST SP 800-108), and each block gives one 53-bit uniform. The message is the
 * length-prefixed `parts` (then i in decimal, after the last ","), so no two part lists
 * give the same message. Without the key the
 * stream is indistinguishable from random (HMAC is a PRF); with it, it is recomputed exactly.
 */
export function hmacRng(key: Uint8Array, parts: readonly string[]): Rng {
  // Netstring-like: each part as "<UTF-8 byte length>:<part>,", then the block counter.
  let message = '';
  for (const p of parts) message += `${Buffer.byteLength(p, 'utf8')}:${p},`;
  let counter = 0;
  let spare: number | null = null;
  const next = (): number => {
    const mac = createHmac('sha256', key).update(`${message}${counter++}`, 'utf8').digest();
    // 53 bits: the top 21 bits of the first word and the 32 of the second.
    return ((mac.readUInt32BE(0) >>> 11) * 4294967296 + mac.readUInt32BE(4)) / 2 ** 53;
  };
  const rng: Rng = {
    next,
    int(n: number): number {
      if (!Number.isInteger(n) || n <= 0) throw new RangeError(`rng.int needs a positive integer, got ${n}`);
      return Math.floor(next() * n);
    },
    normal(): number {
      // Marsaglia polar method, as the other generators.
      if (spare !== null) {
        const v = spare;
        spare = null;
        return v;
      }
      let u: number, v: number, s: number;
      do {
        u = next() * 2 - 1;
        v = next() * 2 - 1;
        s = u * u + v * v;
      } while (s >= 1 || s === 0);
      const m = Math.sqrt((-2 * Math.log(s)) / s);
      spare = v * m;
      return u * m;
    },
    fork(): Rng {
      return hmacRng(key, [...parts, 'fork', String(counter++)]);
    },
  };
  return rng;
}

/** What the keyed noise of one amount is derived from (besides the key). */
export interface NoiseInput {
  /** The amount column's header (two amount columns of a row get independent noise). */
  column: string;
  /**
   * The transaction: "id:" and its original transaction id, or, in a file without one,
   * "row:" and the row's original fields other than the amounts (see the Anonymiser).
   */
  transaction: string;
}

/**
 * The Laplace mechanism of `noisyAmount` with noise that is a deterministic function of
 * (key, ε, clip, column, transaction, amount): the uniform fed to the Laplace inverse CDF
 * comes from `hmacRng(key, [domain, ε, C, column, transaction, amount])`.
 *
 * Why deterministic: pseudonyms are stable across exports (same key, same ids), so the same
 * transaction is recognisable in every safe copy the bank makes. With fresh noise per
 * export, averaging n exports divides the noise by √n and recovers the amount (ε adds up
 * over the exports: n·ε, not ε). With the noise fixed per transaction and amount, every
 * export repeats the same value: a re-export is a copy of the first release
 * (post-processing), so ε per transaction holds across any number of exports.
 *
 * What still spends more ε: another ε or clip (they are in the derivation, so the noise is
 * fresh; the same uniform under two scales would give the amount exactly), or a changed
 * amount (a new value, new noise). The noise is only as secret as the key: the key holder
 * can recompute and subtract it, as it can invert the pseudonyms (it holds the originals).
 */
export function keyedNoisyAmount(
  amount: number,
  p: LaplaceAmountParams,
  key: Uint8Array,
  input: NoiseInput,
): { value: number; clipped: boolean } {
  const rng = hmacRng(key, [
    'finsecure/anonymise/laplace-amount/v1',
    String(p.epsilon),
    String(p.clip),
    input.column,
    input.transaction,
    String(amount),
  ]);
  return noisyAmount(amount, p, rng);
}

/** Default amount bands (currency units): roughly logarithmic, 1-2-5 steps. */
export const DEFAULT_BANDS: readonly number[] = [0, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

/**
 * The band an amount falls in, as a label: "50-100" for 50 ≤ a < 100, "5000+" above the
 * last edge, "<0" below the first. `edges` must be strictly increasing.
 */
export function amountBand(amount: number, edges: readonly number[] = DEFAULT_BANDS): string {
  if (amount < edges[0]!) return `<${edges[0]}`;
  for (let i = 1; i < edges.length; i++) if (amount < edges[i]!) return `${edges[i - 1]}-${edges[i]}`;
  return `${edges[edges.length - 1]}+`;
}

export type TimeGranularity = 'hour' | 'day';

const DATETIME = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2})(?::\d{2}(?::\d{2}(?:\.\d+)?)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * Generalises a timestamp to the hour or the day (Sweeney 2002: generalisation of
 * quasi-identifiers). Accepted forms: "YYYY-MM-DD[ T]HH:MM[:SS[.fff]][zone]" (kept in its
 * own local time: "2018-04-01 13:47:10" → "2018-04-01 13:00" or "2018-04-01"), a plain
 * date, or a number of seconds (`unit: 'seconds'`, e.g. Kaggle's Time, floored to a
 * multiple of 3600 or 86400) or of days (`unit: 'days'`, floored to a whole day). Returns
 * undefined for a value it cannot read, so the caller can name the line.
 */
export function generaliseTime(
  value: string,
  granularity: TimeGranularity,
  unit: 'datetime' | 'seconds' | 'days' = 'datetime',
): string | undefined {
  const v = value.trim();
  if (unit !== 'datetime') {
    const n = Number(v);
    if (v === '' || !Number.isFinite(n)) return undefined;
    if (unit === 'days') return String(Math.floor(n));
    const step = granularity === 'hour' ? 3600 : 86400;
    return String(Math.floor(n / step) * step);
  }
  const m = DATETIME.exec(v);
  if (!m) return undefined;
  if (granularity === 'day' || m[2] === undefined) return m[1]!;
  return `${m[1]} ${m[2]}:00`;
}

/** The unit of a timestamp column, from its header: numeric seconds, numeric days or date-time text. */
export function timeUnitOf(header: string): 'datetime' | 'seconds' | 'days' {
  const h = header.toLowerCase();
  if (/days?$/.test(h)) return 'days';
  if (/seconds?$/.test(h) || h === 'time') return 'seconds';
  return 'datetime';
}
