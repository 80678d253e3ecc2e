/**
 * UnionPay's wire times are Beijing time (UTC+8, no daylight saving): `txnTime` as
 * yyyyMMddHHmmss, `traceTime` and bill times as MMDDhhmmss (no year), `settleDate` as MMDD.
 */

const OFFSET_MS = 8 * 3600_000;

/** `yyyyMMddHHmmss` in UTC+8 for an instant. */
export function toTxnTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000 + OFFSET_MS).toISOString().slice(0, 19).replace(/[-:T]/g, '');
}

/** The instant of a `yyyyMMddHHmmss` UTC+8 time, or undefined when malformed. */
export function fromTxnTime(s: string | undefined): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(s ?? '');
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number);
  const ms = Date.UTC(y, mo - 1, d, h, mi, se);
  const check = new Date(ms);
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || se > 59) return undefined;
  return ms - OFFSET_MS;
}

/**
 * The instant of an `MMDDhhmmss` UTC+8 time, taking the year that puts it nearest to `nearMs`
 * (a bill for 31 December may list trades sent on 1 January and the other way round).
 */
export function fromMonthDayTime(s: string, nearMs: number): number | undefined {
  const m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(s);
  if (!m) return undefined;
  const year = new Date(nearMs + OFFSET_MS).getUTCFullYear();
  let best: number | undefined;
  for (const y of [year - 1, year, year + 1]) {
    const t = fromTxnTime(`${y}${s}`);
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
