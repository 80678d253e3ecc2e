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
 *
 * This module parses and checks the mapping; mapping-time.ts parses and formats its times,
 * mapping-reader.ts reads bills with it and mapping-writer.ts writes them.
 */
import { readFile } from 'node:fs/promises';
import type { BillRow } from '../channel/contract.js';
import { invalid } from '../core/errors.js';
import { normalizeCurrency } from '../core/money.js';
import { zoneOffsetMinutes } from '../core/time.js';
import { checkEncoding, fileError, type TextEncoding } from '../channel/csv.js';
import { compileTimeFormat } from './mapping-time.js';


/** Fields a column can feed. */
export const MAPPED_FIELDS = ['orderNo', 'channelTradeNo', 'kind', 'refundNo', 'amount', 'fee', 'currency', 'time', 'status', 'merchantId'] as const;
export type MappedField = (typeof MAPPED_FIELDS)[number];

/** The kinds of bill row. */
export type RowKind = BillRow['kind'];
/** Every row kind, in the order mappings list them. */
export const ROW_KINDS: readonly RowKind[] = ['payment', 'refund', 'payout', 'fee', 'adjustment'];

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

