/**
 * The statement `downloadBill` saves for channels whose API lists the day's transactions (Stripe
 * balance transactions, PayPal transaction search): JSON lines, streamed both ways.
 *
 *   {"object":"pay.<channel>_bill","version":1,"date":"2026-11-23","timeZone":"UTC","account":"..."}
 *   {...one API object per line, as the API returned it...}
 *   {"object":"pay.<channel>_bill_end","count":N}
 *
 * The end line and its count catch a download cut short; the header's date and account catch a
 * file for another day or merchant.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { batchedBillRows, type BatchedBillRows, type BillRow, type ReadBillOptions } from './contract.js';
import { readTextLineBatches } from './csv.js';
import { invalid } from '../core/errors.js';

/** What a channel's JSON-lines statement is called and how it maps to rows. */
export interface JsonLinesBillFormat {
  /** `object` of the header line (`pay.stripe_bill`); the end line's is this plus `_end`. */
  header: string;
  /** The provider, for messages ("Stripe"). */
  provider: string;
  /** What the file is, for messages ("Stripe balance-transaction file"). */
  label: string;
  /** Advice for a damaged or incomplete file. */
  damagedHint: string;
  /** Advice for an empty file. */
  emptyHint: string;
}

/** The header line's fields. */
export interface JsonLinesBillHeader {
  /** Business day, YYYY-MM-DD. */
  date: string;
  /** IANA zone of that day. */
  timeZone: string;
  /** The merchant account, when known. */
  account?: string;
}

/**
 * Streams the rows of a JSON-lines statement, row by row or an array per chunk of the file
 * (`batches()`), `toRow` mapping each API object (a thrown Error becomes INVALID_REQUEST naming
 * the line). Checks the header, the day and account asked for, and the end line's count.
 */
export function readJsonLinesBill(
  path: string,
  format: JsonLinesBillFormat,
  options: ReadBillOptions,
  toRow: (item: Record<string, unknown>, line: number) => BillRow,
): BatchedBillRows {
  return batchedBillRows(() => readJsonLinesBillChunks(path, format, options, toRow));
}

async function* readJsonLinesBillChunks(
  path: string,
  format: JsonLinesBillFormat,
  options: ReadBillOptions,
  toRow: (item: Record<string, unknown>, line: number) => BillRow,
): AsyncGenerator<BillRow[]> {
  const endObject = `${format.header}_end`;
  const damaged = (line: number, message: string) => invalid(`${path}:${line}: ${message}`, { hint: format.damagedHint });
  let header: Record<string, unknown> | undefined;
  let end: Record<string, unknown> | undefined;
  let rows = 0;
  let lastLine = 0;
  for await (const { lines, first } of readTextLineBatches(path, { allowUtf16: false, label: format.label })) {
    const out: BillRow[] = [];
    for (let i = 0; i < lines.length; i++) {
      const text = lines[i];
      const line = first + i;
      lastLine = line;
      if (text.trim() === '') continue;
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(text) as Record<string, unknown>;
      } catch {
        throw damaged(line, header ? 'a line is not complete JSON (the file is truncated?)' : 'not JSON');
      }
      if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw damaged(line, 'a line is not a JSON object');
      if (!header) {
        if (obj.object !== format.header) throw damaged(line, `first line is not the ${format.header} header`);
        header = obj;
        if (options.date && typeof obj.date === 'string' && obj.date !== '' && obj.date !== options.date) {
          throw invalid(`${path} is the ${format.provider} bill for ${obj.date}, not ${options.date}`, { hint: 'Download the bill for the day you reconcile.' });
        }
        if (options.merchantId && typeof obj.account === 'string' && obj.account !== '' && obj.account !== options.merchantId) {
          throw invalid(`${path} belongs to ${format.provider} account ${obj.account}, not ${options.merchantId}`);
        }
        continue;
      }
      if (end) throw damaged(line, 'data after the end line');
      if (obj.object === endObject) {
        end = obj;
        continue;
      }
      let row: BillRow;
      try {
        row = toRow(obj, line);
      } catch (err) {
        throw damaged(line, (err as Error).message);
      }
      rows++;
      out.push(row);
    }
    if (out.length) yield out;
  }
  if (!header) throw invalid(`${path} is empty`, { hint: format.emptyHint });
  if (!end) throw damaged(lastLine, `no ${endObject} line: the download was cut short`);
  if (end.count !== rows) throw damaged(lastLine, `the end line says ${String(end.count)} transactions, the file has ${rows}`);
}

/** Writes API objects (streamed) as a JSON-lines statement; returns how many. */
export async function writeJsonLinesBill(
  path: string,
  format: Pick<JsonLinesBillFormat, 'header'>,
  items: AsyncIterable<Record<string, unknown>> | Iterable<Record<string, unknown>>,
  header: JsonLinesBillHeader,
): Promise<number> {
  const out = createWriteStream(path);
  const write = async (line: string) => {
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  };
  let count = 0;
  try {
    await write(JSON.stringify({ object: format.header, version: 1, date: header.date, timeZone: header.timeZone, ...(header.account ? { account: header.account } : {}) }));
    for await (const item of items) {
      await write(JSON.stringify(item));
      count++;
    }
    await write(JSON.stringify({ object: `${format.header}_end`, count }));
  } catch (err) {
    out.destroy();
    throw err;
  }
  out.end();
  await once(out, 'finish');
  return count;
}
