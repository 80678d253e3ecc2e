/**
 * Generic CSV bills: any channel or bank statement described by a small JSON mapping file, read
 * into normalised bill rows as a stream. The mapping names which column holds which field, the
 * amount unit (major or minor), how signs work, the time format and zone, the words for each
 * kind, the delimiter, the encoding and the header. See README ("Generic CSV bills") for the
 * full reference; an example:
 *
 *   { "columns": { "Merchant Ref": "orderNo", "Txn Id": "channelTradeNo", "Type": "kind",
 *                  "Refund Ref": "refundNo", "Amount": "amount", "Fee": "fee", "Ccy": "currency",
 *                  "Posted": "time" },
 *     "kinds": { "payment": ["SALE"], "refund": ["REFUND"] },
 *     "amountUnit": "major", "amountSign": "kind",
 *     "timeFormat": "DD/MM/YYYY HH:mm:ss", "timeZone": "Europe/London" }
 */
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import type { BillReader, BillRow, BillSource, ReadBillOptions, WriteBillOptions } from '../channel/contract.js';
import { invalid, PayError } from '../core/errors.js';
import { formatAmount, normalizeCurrency, parseAmount } from '../core/money.js';
import { isoUtc, utcToWallTime, wallTimeToUtc, zoneOffsetMinutes } from '../core/time.js';
import { csvField } from '../output/csv.js';
import { checkEncoding, fileError, readCsvBatches, type CsvRecord, type TextEncoding } from '../channel/csv.js';

/** Fields a column can feed. */
export const MAPPED_FIELDS = ['orderNo', 'channelTradeNo', 'kind', 'refundNo', 'amount', 'fee', 'currency', 'time', 'status', 'merchantId'] as const;
export type MappedField = (typeof MAPPED_FIELDS)[number];

type RowKind = BillRow['kind'];
const ROW_KINDS: readonly RowKind[] = ['payment', 'refund', 'payout', 'fee', 'adjustment'];

/** A validated mapping. */
export interface BillMapping {
  /** Column (header name, or 1-based position without a header) -> field. */
  columns: Record<string, MappedField>;
  /** Field separator; default `,` (`"tab"` for `\t`). */
  delimiter: string;
  /** utf-8 (default), gbk, gb18030, utf-16le, utf-16be. */
  encoding: TextEncoding;
  /** The first line after `skipLines` names the columns (default true). */
  header: boolean;
  /** Lines before the header (a bank's preamble). */
  skipLines: number;
  /** Lines at the end to ignore (a totals footer). */
  skipFooterLines: number;
  /**
   * A regular expression one footer line must match, whose first group is the number of data
   * lines: a truncated file is then detected (needs skipFooterLines >= 1).
   */
  rowCount?: RegExp;
  /** Lines starting with this are ignored. */
  commentPrefix?: string;
  /** Currency of every row, when there is no currency column. */
  currency?: string;
  /** `major` (12.34, the default) or `minor` (1234). */
  amountUnit: 'major' | 'minor';
  /** `signed` (default): refunds and payouts are already negative; `kind`: amounts are magnitudes and the kind gives the sign. */
  amountSign: 'signed' | 'kind';
  /** Zone of times without an offset (default UTC). */
  timeZone: string;
  /** `iso` (default), `unix`, `unixMs`, or a pattern of YYYY MM DD HH mm ss SSS Z and literals. */
  timeFormat: string;
  /** Words in the kind column for each kind. Without a kind column: positive rows are payments, negative refunds. */
  kinds: Partial<Record<RowKind, string[]>>;
  /** Words in the kind column whose rows are ignored (balance lines, notes). */
  skipKinds: string[];
  /** A row dated outside the business day: `error` (default: a bill for another date) or `skip`. */
  outsideDay: 'error' | 'skip';
}

const bad = (where: string, message: string, hint?: string) =>
  invalid(`mapping ${where}: ${message}`, { hint: hint ?? 'See README, "Generic CSV bills", for the mapping file reference.' });

/** Validates a parsed mapping object, naming the offending key. */
export function parseMapping(raw: unknown, where = 'file'): BillMapping {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw bad(where, 'must be a JSON object');
  const o = raw as Record<string, unknown>;
  const known = ['columns', 'delimiter', 'encoding', 'header', 'skipLines', 'skipFooterLines', 'rowCount', 'commentPrefix', 'currency', 'amountUnit', 'amountSign', 'timeZone', 'timeFormat', 'kinds', 'skipKinds', 'outsideDay', '$schema', 'description'];
  const unknown = Object.keys(o).filter((k) => !known.includes(k));
  if (unknown.length) throw bad(where, `unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`, `Known keys: ${known.filter((k) => !k.startsWith('$')).join(', ')}.`);

  const cols = o.columns;
  if (!cols || typeof cols !== 'object' || Array.isArray(cols)) throw bad(where, '"columns" must be an object of column -> field');
  const columns: Record<string, MappedField> = {};
  const fields = new Set<string>();
  for (const [col, field] of Object.entries(cols as Record<string, unknown>)) {
    if (typeof field !== 'string' || !(MAPPED_FIELDS as readonly string[]).includes(field)) {
      throw bad(where, `columns["${col}"] must be one of ${MAPPED_FIELDS.join(', ')}`);
    }
    if (fields.has(field)) throw bad(where, `two columns feed "${field}"`);
    fields.add(field);
    columns[col] = field as MappedField;
  }
  if (!fields.has('amount')) throw bad(where, 'no column feeds "amount"');
  if (!fields.has('time')) throw bad(where, 'no column feeds "time"');
  if (!fields.has('orderNo') && !fields.has('channelTradeNo')) throw bad(where, 'no column feeds "orderNo" or "channelTradeNo": rows could not be matched');

  const header = o.header === undefined ? true : o.header;
  if (typeof header !== 'boolean') throw bad(where, '"header" must be true or false');
  if (!header) {
    for (const col of Object.keys(columns)) {
      if (!/^[1-9]\d*$/.test(col)) throw bad(where, `without a header, columns are 1-based positions; "${col}" is not one`);
    }
  }
  let delimiter = o.delimiter === undefined ? ',' : o.delimiter;
  if (delimiter === 'tab' || delimiter === '\\t') delimiter = '\t';
  if (typeof delimiter !== 'string' || delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw bad(where, '"delimiter" must be one character (or "tab")');
  }
  let encoding: TextEncoding;
  try {
    encoding = checkEncoding(o.encoding === undefined ? 'utf-8' : String(o.encoding));
  } catch (err) {
    throw bad(where, `"encoding": ${(err as Error).message}`);
  }
  const count = (key: string) => {
    const v = o[key] ?? 0;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 1000) throw bad(where, `"${key}" must be a whole number from 0 to 1000`);
    return v;
  };
  let currency: string | undefined;
  if (o.currency !== undefined) {
    try {
      currency = normalizeCurrency(String(o.currency));
    } catch (err) {
      throw bad(where, `"currency": ${(err as Error).message}`);
    }
  }
  if (!currency && !fields.has('currency')) throw bad(where, 'give "currency" or a column that feeds "currency"');
  const amountUnit = o.amountUnit ?? 'major';
  if (amountUnit !== 'major' && amountUnit !== 'minor') throw bad(where, '"amountUnit" must be "major" or "minor"');
  const amountSign = o.amountSign ?? 'signed';
  if (amountSign !== 'signed' && amountSign !== 'kind') throw bad(where, '"amountSign" must be "signed" or "kind"');
  const timeZone = o.timeZone === undefined ? 'UTC' : String(o.timeZone);
  try {
    zoneOffsetMinutes(timeZone, 0);
  } catch {
    throw bad(where, `"timeZone": unknown time zone "${timeZone}"`, 'Use an IANA zone such as Asia/Shanghai, Europe/London or UTC.');
  }
  const timeFormat = o.timeFormat === undefined ? 'iso' : String(o.timeFormat);
  try {
    compileTimeFormat(timeFormat);
  } catch (err) {
    throw bad(where, `"timeFormat": ${(err as Error).message}`);
  }
  const kinds: Partial<Record<RowKind, string[]>> = {};
  if (o.kinds !== undefined) {
    if (!o.kinds || typeof o.kinds !== 'object' || Array.isArray(o.kinds)) throw bad(where, '"kinds" must be an object of kind -> list of words');
    for (const [kind, words] of Object.entries(o.kinds as Record<string, unknown>)) {
      if (!(ROW_KINDS as readonly string[]).includes(kind)) throw bad(where, `"kinds" has unknown kind "${kind}" (kinds: ${ROW_KINDS.join(', ')})`);
      const list = typeof words === 'string' ? [words] : words;
      if (!Array.isArray(list) || list.some((w) => typeof w !== 'string' || w.trim() === '')) throw bad(where, `kinds.${kind} must be a list of words`);
      kinds[kind as RowKind] = (list as string[]).map((w) => w.trim());
    }
  }
  if (fields.has('kind') && Object.keys(kinds).length === 0) throw bad(where, 'a column feeds "kind", so "kinds" must give the words for each kind');
  if (amountSign === 'kind' && !fields.has('kind')) throw bad(where, '"amountSign": "kind" needs a column that feeds "kind"');
  const skipKinds = o.skipKinds === undefined ? [] : o.skipKinds;
  if (!Array.isArray(skipKinds) || skipKinds.some((w) => typeof w !== 'string')) throw bad(where, '"skipKinds" must be a list of words');
  const outsideDay = o.outsideDay ?? 'error';
  if (outsideDay !== 'error' && outsideDay !== 'skip') throw bad(where, '"outsideDay" must be "error" or "skip"');
  const commentPrefix = o.commentPrefix === undefined || o.commentPrefix === '' ? undefined : String(o.commentPrefix);
  const skipFooterLines = count('skipFooterLines');
  let rowCount: RegExp | undefined;
  if (o.rowCount !== undefined) {
    if (typeof o.rowCount !== 'string') throw bad(where, '"rowCount" must be a regular expression (a string)');
    try {
      rowCount = new RegExp(o.rowCount);
    } catch (err) {
      throw bad(where, `"rowCount" is not a regular expression: ${(err as Error).message}`);
    }
    if (skipFooterLines < 1) throw bad(where, '"rowCount" reads a footer line: set "skipFooterLines" to 1 or more');
  }
  return {
    columns,
    delimiter,
    encoding,
    header,
    skipLines: count('skipLines'),
    skipFooterLines,
    rowCount,
    commentPrefix,
    currency,
    amountUnit,
    amountSign,
    timeZone,
    timeFormat,
    kinds,
    skipKinds: (skipKinds as string[]).map((w) => w.trim()),
    outsideDay,
  };
}

/** Reads and validates a mapping file. */
export async function loadMapping(path: string): Promise<{ mapping: BillMapping; text: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw fileError(path, err);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw invalid(`mapping file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return { mapping: parseMapping(raw, path), text };
}

// ---- times ----------------------------------------------------------------------------------

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

// ---- reading --------------------------------------------------------------------------------

/** Options for {@link mappingBillReader}. */
export interface MappingReaderOptions {
  /** Zone of the business day (for the "bill for another date" check); default the mapping's. */
  businessTimeZone?: string;
  /** Receives bytes read, for progress bars. */
  onBytes?: (bytes: number) => void;
}

const SIGN: Record<RowKind, 1 | -1> = { payment: 1, adjustment: 1, refund: -1, payout: -1, fee: -1 };

/** A {@link BillReader} for files described by `mapping`. */
export function mappingBillReader(mapping: BillMapping, options: MappingReaderOptions = {}): BillReader {
  return {
    read: (source, readOptions) => readMapped(mapping, source, readOptions, options),
    write: (path, rows, writeOptions) => writeMapped(mapping, path, rows, writeOptions),
  };
}

async function* readMapped(mapping: BillMapping, source: BillSource, options: ReadBillOptions, readerOptions: MappingReaderOptions): AsyncGenerator<BillRow> {
  const path = source.path;
  const parseTime = timeParser(mapping.timeFormat, mapping.timeZone);
  const zone = readerOptions.businessTimeZone ?? mapping.timeZone;
  const dayOf = (ms: number) => utcToWallTime(ms, zone).slice(0, 10);
  let dayStart = Number.NaN;
  let dayEnd = Number.NaN;
  if (options.date) {
    dayStart = wallTimeToUtc(`${options.date} 00:00:00`, zone);
    const next = new Date(Date.parse(`${options.date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    dayEnd = wallTimeToUtc(`${next} 00:00:00`, zone);
  }
  const kindWords = new Map<string, RowKind>();
  for (const [kind, words] of Object.entries(mapping.kinds) as [RowKind, string[]][]) for (const w of words) kindWords.set(w.toLowerCase(), kind);
  const skipWords = new Set(mapping.skipKinds.map((w) => w.toLowerCase()));
  const currencies = new Map<string, string>();
  const minor = mapping.amountUnit === 'minor';
  const bySign = mapping.amountSign === 'kind';
  const fail = (line: number, message: string, hint?: string): PayError => invalid(`${path}:${line}: ${message}`, { hint: hint ?? 'Fix the file or the mapping and run again; nothing was saved.' });

  // Column positions per field (-1: no such column), from the header or the mapping's numbers.
  const at: Record<MappedField, number> = { orderNo: -1, channelTradeNo: -1, kind: -1, refundNo: -1, amount: -1, fee: -1, currency: -1, time: -1, status: -1, merchantId: -1 };
  let ready = !mapping.header;
  let width = 0;
  if (ready) {
    for (const [col, field] of Object.entries(mapping.columns)) at[field] = Number(col) - 1;
    width = Math.max(...Object.values(at)) + 1;
  }
  let records = 0;
  let dataLines = 0;
  const footer: CsvRecord[] = [];

  const amountOf = (text: string, label: string, currency: string, line: number): number => {
    if (text === '') {
      if (label === 'fee') return 0;
      throw fail(line, `${label} is empty`);
    }
    if (minor) {
      if (!/^-?\d{1,16}$/.test(text) || !Number.isSafeInteger(Number(text))) throw fail(line, `${label} "${text.slice(0, 30)}" is not a whole number of minor units`);
      return Number(text);
    }
    try {
      return parseAmount(text, currency, { allowNegative: true, allowZero: true, label });
    } catch (err) {
      throw fail(line, (err as Error).message, (err as PayError).hint);
    }
  };
  const cell = (fields: string[], i: number): string => (i === -1 ? '' : fields[i].trim());

  const toRow = (line: number, fields: string[]): BillRow | undefined => {
    if (fields.length < width) throw fail(line, `expected at least ${width} fields, found ${fields.length}`, 'The line is cut short, or "delimiter" in the mapping is wrong.');
    let kind: RowKind | undefined;
    if (at.kind !== -1) {
      const kindText = fields[at.kind].trim();
      const word = kindText.toLowerCase();
      if (skipWords.has(word)) return undefined;
      kind = kindWords.get(word);
      if (!kind) throw fail(line, `kind "${kindText.slice(0, 30)}" is not in the mapping's "kinds"`, `Add it to "kinds" (or to "skipKinds" to ignore such rows).`);
    }
    let currency = mapping.currency;
    if (at.currency !== -1) {
      const ccyText = fields[at.currency].trim();
      if (ccyText !== '') {
        currency = currencies.get(ccyText);
        if (!currency) {
          try {
            currency = normalizeCurrency(ccyText);
          } catch (err) {
            throw fail(line, (err as Error).message);
          }
          currencies.set(ccyText, currency);
        }
      }
    }
    if (!currency) throw fail(line, 'no currency');
    let amountMinor = amountOf(fields[at.amount].trim(), 'amount', currency, line);
    const feeMinor = at.fee === -1 ? 0 : amountOf(fields[at.fee].trim(), 'fee', currency, line);
    if (!kind) kind = amountMinor < 0 ? 'refund' : 'payment';
    if (bySign) amountMinor = SIGN[kind] * Math.abs(amountMinor);
    const timeText = fields[at.time].trim();
    const t = parseTime(timeText);
    if (Number.isNaN(t)) throw fail(line, `time "${timeText.slice(0, 40)}" does not fit the mapping's timeFormat "${mapping.timeFormat}"`);
    if (options.date && !(t >= dayStart && t < dayEnd)) {
      if (mapping.outsideDay === 'skip') return undefined;
      throw fail(line, `the row is dated ${dayOf(t)} (${zone}); this bill should cover ${options.date}`, 'Is this the bill for another date? Set "outsideDay": "skip" in the mapping for a file that spans several days.');
    }
    if (options.merchantId && at.merchantId !== -1) {
      const merchant = fields[at.merchantId].trim();
      if (merchant !== options.merchantId) throw fail(line, `the row belongs to merchant ${merchant.slice(0, 40)}, not ${options.merchantId}`, 'This is the bill of another merchant account.');
    }
    return {
      line,
      orderNo: cell(fields, at.orderNo) || undefined,
      channelTradeNo: cell(fields, at.channelTradeNo) || undefined,
      kind,
      refundNo: cell(fields, at.refundNo) || undefined,
      amountMinor,
      feeMinor,
      currency,
      time: isoUtc(t),
      status: cell(fields, at.status) || undefined,
    };
  };

  for await (const batch of readCsvBatches(path, {
    delimiter: mapping.delimiter,
    encoding: mapping.encoding,
    label: 'bill',
    encodingHint: mapping.encoding === 'utf-8' ? 'The file is in another encoding: set "encoding" (e.g. "gbk") in the mapping file.' : 'Check the file\'s encoding and set "encoding" accordingly.',
    onBytes: readerOptions.onBytes,
  })) {
    for (const rec of batch) {
      records++;
      if (rec.line <= mapping.skipLines) continue;
      if (mapping.commentPrefix && rec.fields[0].trimStart().startsWith(mapping.commentPrefix)) continue;
      if (!ready) {
        const names = rec.fields.map((f) => f.replace(/^\uFEFF/, '').trim());
        const missing: string[] = [];
        for (const [col, field] of Object.entries(mapping.columns)) {
          const i = names.indexOf(col);
          if (i === -1) missing.push(col);
          else at[field] = i;
        }
        if (missing.length) {
          throw fail(rec.line, `the header lacks column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `"${c}"`).join(', ')}`, `The header has: ${names.slice(0, 20).join(', ')}. Check the mapping's "columns", "skipLines", "delimiter" and "encoding".`);
        }
        width = Math.max(...Object.values(at)) + 1;
        ready = true;
        continue;
      }
      // Hold back the last skipFooterLines records: they are the footer, not rows.
      let current: CsvRecord | undefined = rec;
      if (mapping.skipFooterLines > 0) {
        footer.push(rec);
        current = footer.length > mapping.skipFooterLines ? footer.shift() : undefined;
      }
      if (!current) continue;
      dataLines++;
      const row = toRow(current.line, current.fields);
      if (row) yield row;
    }
  }
  if (records === 0) throw invalid(`${path} is empty`, { hint: 'The download failed or the file was cut off; fetch the bill again.' });
  if (!ready) throw invalid(`${path} has no header line`, { hint: 'Check "skipLines" and "commentPrefix" in the mapping.' });
  if (mapping.rowCount) {
    const damaged = 'The file is truncated or damaged; fetch it again.';
    if (footer.length < mapping.skipFooterLines) throw invalid(`${path}: the footer is missing`, { hint: damaged });
    const m = footer.map((r) => mapping.rowCount!.exec(r.fields.join(mapping.delimiter))).find((x) => x);
    if (!m || m[1] === undefined || !/^\d+$/.test(m[1])) throw invalid(`${path}: no footer line matches "rowCount" (${mapping.rowCount.source})`, { hint: damaged });
    if (Number(m[1]) !== dataLines) throw invalid(`${path}: the footer says ${m[1]} rows, the file has ${dataLines}`, { hint: damaged });
  }
}

// ---- writing --------------------------------------------------------------------------------

function wordFor(mapping: BillMapping, kind: RowKind): string {
  const words = mapping.kinds[kind];
  if (!words?.length) throw invalid(`the mapping has no word for kind ${kind}`);
  return words[0];
}

async function encoder(encoding: string): Promise<(text: string) => Buffer> {
  if (encoding === 'utf-8') return (t) => Buffer.from(t, 'utf8');
  if (encoding === 'utf-16le') return (t) => Buffer.from(t, 'utf16le');
  if (encoding === 'utf-16be') return (t) => Buffer.from(t, 'utf16le').swap16();
  const iconv = (await import('iconv-lite')).default;
  return (t) => iconv.encode(t, encoding);
}

/**
 * Writes `rows` as a file the mapping describes (header, preamble and footer lines, delimiter,
 * encoding, units, signs, time format): tests and benchmarks craft generic bills with it.
 */
async function writeMapped(mapping: BillMapping, path: string, rows: Iterable<BillRow> | BillRow[], options: WriteBillOptions): Promise<void> {
  const encode = await encoder(mapping.encoding);
  const out = createWriteStream(path);
  const write = async (text: string) => {
    if (!out.write(encode(text))) await once(out, 'drain');
  };
  const d = mapping.delimiter;
  const line = (cells: string[]) => `${cells.map((c) => (c.includes(d) ? `"${c.replace(/"/g, '""')}"` : csvField(c))).join(d)}\n`;
  const order = Object.entries(mapping.columns).sort(([a], [b]) => (mapping.header ? 0 : Number(a) - Number(b)));
  const width = mapping.header ? order.length : Math.max(...order.map(([c]) => Number(c)));
  try {
    for (let i = 0; i < mapping.skipLines; i++) await write(`${i === 0 ? `Statement ${options.date}${options.merchantId ? ` merchant ${options.merchantId}` : ''}` : `Preamble line ${i + 1}`}\n`);
    if (mapping.header) await write(line(order.map(([c]) => c)));
    let count = 0;
    for (const r of rows) {
      const cells: string[] = new Array(width).fill('');
      order.forEach(([col, field], i) => {
        const at = mapping.header ? i : Number(col) - 1;
        const amount = (minor: number) => {
          const v = mapping.amountSign === 'kind' ? Math.abs(minor) : minor;
          return mapping.amountUnit === 'minor' ? String(v) : formatAmount(v, r.currency);
        };
        let v = '';
        switch (field) {
          case 'orderNo':
            v = r.orderNo ?? '';
            break;
          case 'channelTradeNo':
            v = r.channelTradeNo ?? '';
            break;
          case 'refundNo':
            v = r.refundNo ?? '';
            break;
          case 'kind':
            v = wordFor(mapping, r.kind);
            break;
          case 'amount':
            v = amount(r.amountMinor);
            break;
          case 'fee':
            v = mapping.amountUnit === 'minor' ? String(r.feeMinor) : formatAmount(r.feeMinor, r.currency);
            break;
          case 'currency':
            v = r.currency;
            break;
          case 'time':
            v = formatTime(Date.parse(r.time), mapping.timeFormat, mapping.timeZone);
            break;
          case 'status':
            v = r.status ?? '';
            break;
          case 'merchantId':
            v = options.merchantId ?? '';
            break;
        }
        cells[at] = v;
      });
      await write(line(cells));
      count++;
    }
    for (let i = 0; i < mapping.skipFooterLines; i++) await write(i === 0 ? `Total rows${d}${count}\n` : `End of statement${d}${i}\n`);
  } finally {
    out.end();
    await once(out, 'close');
  }
}
