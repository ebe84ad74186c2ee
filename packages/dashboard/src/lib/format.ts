/**
 * Number formatting for people: bytes, percentages, durations, times, ε.
 *
 * Every helper takes whatever the API sent without trusting its type: null, undefined, NaN,
 * a string or an object give "—", ±Infinity (or the API's "Infinity" string) gives "∞" /
 * "−∞". None of them throws, so one odd value cannot take a view down.
 */

/** A value the API sent where a number was expected. */
export type Numberish = number | string | null | undefined;

/** The value as a number (finite or ±Infinity), or null when it is not a number at all. */
export function toNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isNaN(v) ? null : v;
  if (v === 'Infinity' || v === '+Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return null;
}

function isFiniteNumber(n: number | null): n is number {
  return n !== null && Number.isFinite(n);
}

/** What to show for a value that is not a finite number: "∞" / "−∞" for infinities, else "—". */
function special(n: number | null): string {
  if (n === Infinity) return '∞';
  if (n === -Infinity) return '−∞';
  return '—';
}

/**
 * Privacy loss ε: "∞" for a bank that added no noise (the API sends "Infinity"), "—" when
 * there is none (no DP), otherwise `digits` decimals.
 */
export function formatEpsilon(e: unknown, digits = 2): string {
  const n = toNumber(e);
  return isFiniteNumber(n) ? n.toFixed(digits) : special(n);
}

export function formatBytes(v: Numberish): string {
  const n = toNumber(v);
  if (!isFiniteNumber(n)) return special(n);
  if (n < 1024) return `${Math.round(n)} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(n < 10 * 1024 ** 2 ? 2 : 1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

export function formatPct(v: Numberish, digits = 1): string {
  const x = toNumber(v);
  return isFiniteNumber(x) ? `${(x * 100).toFixed(digits)}%` : special(x);
}

export function formatNumber(v: Numberish, digits = 0): string {
  const n = toNumber(v);
  return isFiniteNumber(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : special(n);
}

export function formatDecimal(v: Numberish, digits = 3): string {
  const n = toNumber(v);
  return isFiniteNumber(n) ? n.toFixed(digits) : special(n);
}

export function formatMs(v: Numberish): string {
  const ms = toNumber(v);
  if (!isFiniteNumber(ms)) return special(ms);
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m} min ${s} s`;
}

/** A timestamp (epoch ms) that can be shown: a positive finite number. */
function validTime(at: unknown): number | null {
  return typeof at === 'number' && Number.isFinite(at) && at > 0 ? at : null;
}

export function formatTime(v: Numberish): string {
  const at = validTime(v);
  if (at === null) return '—';
  return new Date(at).toLocaleTimeString('en-GB', { hour12: false });
}

export function formatDateTime(v: Numberish): string {
  const at = validTime(v);
  if (at === null) return '—';
  const d = new Date(at);
  return `${d.toLocaleDateString('en-CA')} ${d.toLocaleTimeString('en-GB', { hour12: false })}`;
}

export function formatAgo(v: Numberish, now: number): string {
  const at = validTime(v);
  if (at === null) return 'never';
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return formatDateTime(at);
}

export function shortHash(h: string | null | undefined, n = 10): string {
  return typeof h === 'string' && h ? `${h.slice(0, n)}…` : '—';
}
