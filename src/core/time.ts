/**
 * Time: stored as ISO 8601 UTC; Chinese channels speak UTC+8 on the wire and in bills; business
 * days are calendar days in a channel's time zone.
 */
import { invalid } from './errors.js';

/** A clock; injected wherever "now" matters so tests and `--at` can move it. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

/** ISO 8601 UTC with milliseconds (`2026-11-23T05:56:01.123Z`). */
export function isoUtc(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * Parses a moment given by a user: ISO 8601 (with offset or Z; a bare date-time is taken as UTC)
 * or unix seconds (10 digits) / milliseconds (13 digits).
 */
export function parseInstant(input: string, label = 'time'): number {
  const text = String(input ?? '').trim();
  if (/^\d{9,10}(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  if (/^\d{13}$/.test(text)) return Number(text);
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i.test(text)) {
    const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(text) && text.length > 10;
    const normal = text.replace(' ', 'T') + (hasZone ? '' : text.length === 10 ? 'T00:00:00Z' : 'Z');
    const ms = Date.parse(normal);
    if (!Number.isNaN(ms)) return ms;
  }
  throw invalid(`${label} "${text.slice(0, 40)}" is not a time`, {
    hint: 'Give ISO 8601 (2026-11-23T08:00:00+08:00 or ...Z) or unix seconds (1763884800).',
  });
}

/** Validates a `YYYY-MM-DD` calendar date. */
export function parseDate(input: string, label = 'date'): string {
  const text = String(input ?? '').trim();
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (m) {
    const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
    if (d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3])) {
      return text;
    }
  }
  throw invalid(`${label} "${text.slice(0, 20)}" is not a date`, { hint: 'Use YYYY-MM-DD, e.g. 2026-11-22.' });
}

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

/** Offset of `timeZone` from UTC at instant `ms`, in minutes (Asia/Shanghai: +480). */
export function zoneOffsetMinutes(timeZone: string, ms: number): number {
  let fmt = offsetFormatters.get(timeZone);
  if (!fmt) {
    try {
      fmt = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      });
    } catch {
      throw invalid(`unknown time zone "${timeZone}"`, { hint: 'Use an IANA zone such as Asia/Shanghai or UTC.' });
    }
    offsetFormatters.set(timeZone, fmt);
  }
  const parts: Record<string, number> = {};
  for (const p of fmt.formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const asUtc = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60000);
}

/**
 * Converts a wall-clock time in `timeZone` (`2019-09-16 10:15:01`, as in Chinese bills) to UTC ms.
 */
export function wallTimeToUtc(wall: string, timeZone: string): number {
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(wall.trim());
  if (!m) throw invalid(`"${wall.slice(0, 30)}" is not a date-time`);
  const guess = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] ?? 0));
  // Two passes settle the offset around DST changes.
  let ms = guess - zoneOffsetMinutes(timeZone, guess) * 60000;
  ms = guess - zoneOffsetMinutes(timeZone, ms) * 60000;
  return ms;
}

/** Formats a UTC instant as wall-clock `YYYY-MM-DD HH:mm:ss` in `timeZone`. */
export function utcToWallTime(ms: number, timeZone: string): string {
  const local = new Date(ms + zoneOffsetMinutes(timeZone, ms) * 60000).toISOString();
  return `${local.slice(0, 10)} ${local.slice(11, 19)}`;
}

/** The UTC range [start, end) of calendar day `date` (YYYY-MM-DD) in `timeZone`. */
export function businessDayRange(date: string, timeZone: string): { start: number; end: number } {
  parseDate(date);
  const start = wallTimeToUtc(`${date} 00:00:00`, timeZone);
  const next = new Date(Date.parse(`${date}T00:00:00Z`) + 86400000).toISOString().slice(0, 10);
  const end = wallTimeToUtc(`${next} 00:00:00`, timeZone);
  return { start, end };
}
