/** Times in generic CSV bills: the mapping's `timeFormat` tokens and `timeZone`, parsed and formatted. */
import { isoUtc, utcToWallTime, wallTimeToUtc, zoneOffsetMinutes } from '../core/time.js';

type TimeParser = (text: string) => number;

const TOKENS: [string, string][] = [
  ['YYYY', '(\\d{4})'],
  ['SSS', '(\\d{1,9})'],
  ['MM', '(\\d{2})'],
  ['DD', '(\\d{2})'],
  ['HH', '(\\d{2})'],
  ['mm', '(\\d{2})'],
  ['ss', '(\\d{2})'],
  ['M', '(\\d{1,2})'],
  ['D', '(\\d{1,2})'],
  ['H', '(\\d{1,2})'],
  ['Z', '(Z|[+-]\\d{2}:?\\d{2})'],
];

interface CompiledFormat {
  regex: RegExp;
  /** Token of each capture group. */
  groups: string[];
}

/** Compiles a time pattern (`YYYY-MM-DD HH:mm:ss`, `DD/MM/YYYY H:mm`, ...). */
export function compileTimeFormat(format: string): CompiledFormat | 'iso' | 'unix' | 'unixMs' {
  if (format === 'iso' || format === 'unix' || format === 'unixMs') return format;
  let regex = '';
  const groups: string[] = [];
  let i = 0;
  outer: while (i < format.length) {
    for (const [tok, re] of TOKENS) {
      if (format.startsWith(tok, i)) {
        if (groups.includes(tok[0] === 'S' ? 'SSS' : tok.slice(0, 1))) throw new Error(`"${tok}" appears twice in "${format}"`);
        regex += re;
        groups.push(tok[0] === 'S' ? 'SSS' : tok.slice(0, 1));
        i += tok.length;
        continue outer;
      }
    }
    regex += format[i].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    i++;
  }
  for (const need of ['Y', 'M', 'D']) if (!groups.includes(need)) throw new Error(`"${format}" has no ${need === 'Y' ? 'YYYY' : need === 'M' ? 'MM' : 'DD'}`);
  return { regex: new RegExp(`^${regex}$`), groups };
}

/**
 * A fast wall-clock -> UTC converter for one zone: `wallMs` is the wall-clock time written as if
 * it were UTC (Date.UTC of its fields). Offsets are cached per wall-clock hour, so millions of
 * rows cost one Intl lookup per hour of the day rather than two per row.
 */
export function zoneConverter(zone: string): (wallMs: number) => number {
  if (zone === 'UTC' || zone === 'Etc/UTC') return (w) => w;
  const cache = new Map<number, number>();
  return (wallMs) => {
    const hour = Math.floor(wallMs / 3_600_000);
    let offset = cache.get(hour);
    if (offset === undefined) {
      const start = hour * 3_600_000;
      const wall = new Date(start).toISOString();
      offset = start - wallTimeToUtc(`${wall.slice(0, 10)} ${wall.slice(11, 19)}`, zone);
      cache.set(hour, offset);
    }
    return wallMs - offset;
  };
}

/** Builds a parser for the mapping's time format in its zone. */
export function timeParser(format: string, zone: string): TimeParser {
  const compiled = compileTimeFormat(format);
  const toUtc = zoneConverter(zone);
  if (compiled === 'unix' || compiled === 'unixMs') {
    const scale = compiled === 'unix' ? 1000 : 1;
    return (text) => {
      if (!/^\d{1,16}(\.\d{1,3})?$/.test(text)) return Number.NaN;
      return Math.round(Number(text) * scale);
    };
  }
  if (compiled === 'iso') {
    return (text) => {
      const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/i.exec(text);
      if (!m) return Number.NaN;
      return assemble(+m[1], +m[2], +m[3], +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0), m[7] ?? '', m[8], toUtc);
    };
  }
  const { regex, groups } = compiled;
  const at = (t: string) => groups.indexOf(t) + 1;
  const [y, mo, d, h, mi, s, f, z] = ['Y', 'M', 'D', 'H', 'm', 's', 'SSS', 'Z'].map(at);
  return (text) => {
    const m = regex.exec(text);
    if (!m) return Number.NaN;
    return assemble(+m[y], +m[mo], +m[d], h ? +m[h] : 0, mi ? +m[mi] : 0, s ? +m[s] : 0, f ? m[f] : '', z ? m[z] : undefined, toUtc);
  };
}

function assemble(y: number, mo: number, d: number, h: number, mi: number, s: number, frac: string, zone: string | undefined, toUtc: (w: number) => number): number {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return Number.NaN;
  const ms = frac ? Number(frac.padEnd(3, '0').slice(0, 3)) : 0;
  const wall = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  if (new Date(wall).getUTCDate() !== d) return Number.NaN; // 31 April and the like
  if (zone === undefined) return toUtc(wall);
  if (zone === 'Z' || zone === 'z') return wall;
  const sign = zone[0] === '-' ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return wall - sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
}

/** Formats a UTC instant in the mapping's time format and zone (for the writer). */
export function formatTime(ms: number, format: string, zone: string): string {
  const compiled = compileTimeFormat(format);
  if (compiled === 'unix') return String(Math.floor(ms / 1000));
  if (compiled === 'unixMs') return String(ms);
  if (compiled === 'iso') return isoUtc(ms);
  const wall = utcToWallTime(ms, zone); // YYYY-MM-DD HH:mm:ss
  const offset = zoneOffsetMinutes(zone, ms);
  const p2 = (n: number) => String(n).padStart(2, '0');
  const values: Record<string, string> = {
    YYYY: wall.slice(0, 4),
    MM: wall.slice(5, 7),
    DD: wall.slice(8, 10),
    HH: wall.slice(11, 13),
    mm: wall.slice(14, 16),
    ss: wall.slice(17, 19),
    SSS: String(((ms % 1000) + 1000) % 1000).padStart(3, '0'),
    M: String(Number(wall.slice(5, 7))),
    D: String(Number(wall.slice(8, 10))),
    H: String(Number(wall.slice(11, 13))),
    Z: offset === 0 ? 'Z' : `${offset < 0 ? '-' : '+'}${p2(Math.floor(Math.abs(offset) / 60))}:${p2(Math.abs(offset) % 60)}`,
  };
  let out = '';
  let i = 0;
  outer: while (i < format.length) {
    for (const [tok] of TOKENS) {
      if (format.startsWith(tok, i)) {
        out += values[tok];
        i += tok.length;
        continue outer;
      }
    }
    out += format[i++];
  }
  return out;
}

