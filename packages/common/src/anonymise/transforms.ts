/**
 * The per-value transformations of the anonymisation pipeline. All pure: the key and the
 * randomness are passed in (production: a key from the bank's key file and `cryptoRng()`;
 * tests: a fixed key and a seeded `createRng`).
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
 * X = −b · sign(U) · ln(1 − 2|U|) (Dwork & Roth 2014, §3.3). The uniform comes from `rng`
 * (production: `cryptoRng()`, so the noise cannot be regenerated and subtracted).
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
