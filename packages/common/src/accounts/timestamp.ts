/**
 * Timestamps of transaction exports, parsed strictly into wall-clock fields. We keep the
 * time as written (the bank's local time): "night" and "weekend" are about the
 * customer's clock, so an ISO offset is validated but not applied.
 *
 * Accepted:
 *   ISO 8601     2018-04-01, 2018-04-01 13:45, 2018-04-01T13:45:07.123Z, …+02:00
 *   dd-mm-yyyy   01-04-2018 13:45 (also with :SS, or '/' or '.' as the date separator)
 *   Berka        930101 (YYMMDD, 19YY: the PKDD'99 data covers 1993–1998)
 */

export interface WallClock {
  /** Days since 1970-01-01 of the written date. */
  day: number;
  /** Seconds since midnight of the written time (0 when only a date is given). */
  secondOfDay: number;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const DMY = /^(\d{2})[-/.](\d{2})[-/.](\d{4})(?: (\d{2}):(\d{2})(?::(\d{2}))?)?$/;
const YYMMDD = /^(\d{2})(\d{2})(\d{2})$/;

export const TIMESTAMP_FORMATS = 'ISO 8601 (2018-04-01 13:45:07 or 2018-04-01T13:45:07Z) or dd-mm-yyyy HH:MM';

/** Days per month (February without leap years); no Date object per row. */
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function fields(y: number, mo: number, d: number, h: number, mi: number, s: number): WallClock | string {
  if (mo < 1 || mo > 12) return `month ${mo} is out of range`;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = mo === 2 ? (leap ? 29 : 28) : DAYS_IN_MONTH[mo - 1];
  if (d < 1 || d > days) return `day ${d} does not exist in ${y}-${String(mo).padStart(2, '0')}`;
  if (h > 23) return `hour ${h} is out of range`;
  if (mi > 59) return `minute ${mi} is out of range`;
  if (s > 60) return `second ${s} is out of range`; // 60: a leap second
  const utc = Date.UTC(y, mo - 1, d);
  return { day: utc / 86_400_000, secondOfDay: h * 3600 + mi * 60 + Math.min(s, 59) };
}

/**
 * Parses `text` in one of the formats above (`berka` selects YYMMDD). Returns the wall
 * clock, or a string saying what is wrong (the caller adds file, line and column).
 */
export function parseTimestamp(text: string, format: 'auto' | 'berka' = 'auto'): WallClock | string {
  const t = text.trim();
  if (t === '') return 'empty timestamp';
  if (format === 'berka') {
    const m = YYMMDD.exec(t);
    if (!m) return `"${t}" is not a YYMMDD date`;
    return fields(1900 + +m[1], +m[2], +m[3], 0, 0, 0);
  }
  let m = ISO.exec(t);
  if (m) {
    if (m[7] && m[7] !== 'Z') {
      const off = m[7].replace(':', '');
      if (+off.slice(1, 3) > 14 || +off.slice(3) > 59) return `time zone offset ${m[7]} is out of range`;
    }
    return fields(+m[1], +m[2], +m[3], +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
  }
  m = DMY.exec(t);
  if (m) return fields(+m[3], +m[2], +m[1], +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
  return `cannot parse "${t.length > 40 ? t.slice(0, 40) + '…' : t}" as a timestamp; expected ${TIMESTAMP_FORMATS}`;
}

/** 0 = Sunday … 6 = Saturday (1970-01-01 was a Thursday). */
export function weekday(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}
