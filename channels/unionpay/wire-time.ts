/**
 * UnionPay's wire times are Beijing time (UTC+8, no daylight saving): `txnTime` as
 * yyyyMMddHHmmss, `traceTime` and bill times as MMDDhhmmss (no year), `settleDate` as MMDD.
 */

const OFFSET_MS = 8 * 3600_000;

/** `yyyyMMddHHmmss` in UTC+8 for an instant. */
export function toTxnTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000 + OFFSET_MS).toISOString().slice(0, 19).replace(/[-:T]/g, '');
}

const TXN_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/;
const MONTH_DAY_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * The UTC+8 instant of a wall time, or undefined when a field is out of range (30 February,
 * 24:00...). Checked by arithmetic rather than by building a Date per call: every verified
 * notification converts several of these. Date.UTC reads years 0-99 as 1900-1999, so the leap
 * rule is applied to that year, as a round trip through Date would.
 */
function wallInstant(y: number, mo: number, d: number, h: number, mi: number, se: number): number | undefined {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59) return undefined;
  const year = y >= 0 && y <= 99 ? 1900 + y : y;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (d > (mo === 2 && leap ? 29 : DAYS_IN_MONTH[mo - 1])) return undefined;
  return Date.UTC(y, mo - 1, d, h, mi, se) - OFFSET_MS;
}

/** The instant of a `yyyyMMddHHmmss` UTC+8 time, or undefined when malformed. */
export function fromTxnTime(s: string | undefined): number | undefined {
  const m = TXN_TIME.exec(s ?? '');
  if (!m) return undefined;
  return wallInstant(+m[1], +m[2], +m[3], +m[4], +m[5], +m[6]);
}

/**
 * The instant of an `MMDDhhmmss` UTC+8 time, taking the year that puts it nearest to `nearMs`
 * (a bill for 31 December may list trades sent on 1 January and the other way round).
 */
export function fromMonthDayTime(s: string, nearMs: number): number | undefined {
  const m = MONTH_DAY_TIME.exec(s);
  if (!m) return undefined;
  const year = new Date(nearMs + OFFSET_MS).getUTCFullYear();
  const [mo, d, h, mi, se] = [+m[1], +m[2], +m[3], +m[4], +m[5]];
  let best: number | undefined;
  for (let y = year - 1; y <= year + 1; y++) {
    // Only four-digit years, as when the year is written in front of the text.
    if (y < 1000 || y > 9999) continue;
    const t = wallInstant(y, mo, d, h, mi, se);
    if (t !== undefined && (best === undefined || Math.abs(t - nearMs) < Math.abs(best - nearMs))) best = t;
  }
  return best;
}

/** `MMDDhhmmss` in UTC+8. */
export function toMonthDayTime(ms: number): string {
  return toTxnTime(ms).slice(4);
}

/** The Beijing calendar date (YYYY-MM-DD) of an instant. */
export function beijingDate(ms: number): string {
  return new Date(ms + OFFSET_MS).toISOString().slice(0, 10);
}
