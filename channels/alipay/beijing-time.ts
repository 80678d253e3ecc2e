/**
 * Beijing wall time (UTC+8, no daylight saving) for Alipay's wire timestamps and bill rows.
 */
// Beijing time has been UTC+8 without daylight saving since 1991, so bill times convert with a
// fixed offset: per-row time-zone lookups would dominate the cost of a million-row bill.
const BEIJING_OFFSET_MS = 8 * 3_600_000;
const WALL = /^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/;

/** Beijing wall time (`2019-09-16 10:55:23`, `.320` milliseconds allowed) to UTC ms; NaN when unreadable. */
export function beijingToUtc(wall: string): number {
  const m = WALL.exec(wall);
  if (!m) return Number.NaN;
  const [mo, d, h, mi, s] = [+m[2], +m[3], +m[4], +m[5], +m[6]];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return Number.NaN;
  const ms = m[7] ? Number(m[7].padEnd(3, '0')) : 0;
  return Date.UTC(+m[1], mo - 1, d, h, mi, s, ms) - BEIJING_OFFSET_MS;
}

/** UTC ms to Beijing wall time `YYYY-MM-DD HH:mm:ss`. */
export function utcToBeijing(ms: number): string {
  const iso = new Date(ms + BEIJING_OFFSET_MS).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}
