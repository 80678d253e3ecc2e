/** Reads a generic CSV bill, as a stream of normalised rows, by its mapping (see mapping.ts). */
import type { BillReader, BillRow, BillSource, ReadBillOptions } from '../channel/contract.js';
import { invalid, PayError } from '../core/errors.js';
import { normalizeCurrency, parseAmount } from '../core/money.js';
import { isoUtc, utcToWallTime, wallTimeToUtc } from '../core/time.js';
import { readCsvBatches, type CsvRecord } from '../channel/csv.js';
import type { BillMapping, MappedField, RowKind } from './mapping.js';
import { timeParser } from './mapping-time.js';
import { writeMapped } from './mapping-writer.js';

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

