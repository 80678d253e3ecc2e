/**
 * The mock channel's daily bill: a small CSV with a header block, one row per settled money
 * movement, and a footer with the row count (so truncation is detected).
 *
 *   # pay mock bill
 *   # date: 2026-11-23
 *   # time zone: UTC
 *   time,order_no,trade_no,kind,refund_no,amount,fee,currency,status
 *   2026-11-23T10:00:00.000Z,P2026...,MT...,payment,,12.34,0.07,CNY,succeeded
 *   # rows: 1
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { type BatchedBillRows, batchedBillRows, type BillReader, type BillRow, type BillSource, type ReadBillOptions, type WriteBillOptions } from '../../src/channel/contract.js';
import { readTextLineBatches } from '../../src/channel/csv.js';
import { invalid } from '../../src/core/errors.js';
import { currencyExponent, formatAmount, normalizeCurrency, parseAmount, plainMinor } from '../../src/core/money.js';
import { businessDayRange, isoUtc } from '../../src/core/time.js';
import { isPaid, type MockState } from './state.js';

const COLUMNS = ['time', 'order_no', 'trade_no', 'kind', 'refund_no', 'amount', 'fee', 'currency', 'status'] as const;
type Column = (typeof COLUMNS)[number];

/** Writes `rows` as a mock bill for `date` (the format above). */
export async function writeMockBillRows(path: string, rows: Iterable<BillRow>, options: WriteBillOptions): Promise<number> {
  const out = createWriteStream(path);
  const write = async (line: string) => {
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  };
  await write('# pay mock bill');
  await write(`# date: ${options.date}`);
  await write('# time zone: UTC');
  await write(COLUMNS.join(','));
  let count = 0;
  for (const r of rows) {
    await write(
      [r.time, r.orderNo ?? '', r.channelTradeNo ?? '', r.kind, r.refundNo ?? '', formatAmount(r.amountMinor, r.currency), formatAmount(r.feeMinor, r.currency), r.currency, r.status ?? ''].join(','),
    );
    count++;
  }
  await write(`# rows: ${count}`);
  out.end();
  await once(out, 'finish');
  return count;
}

/** Writes the bill for `date` (UTC day) from the mock's books to `path`; returns the row count. */
export async function writeMockBill(state: MockState, date: string, path: string): Promise<number> {
  const { start, end } = businessDayRange(date, 'UTC');
  const rows: BillRow[] = [];
  // Only trades that settled as paid and refunds that settled appear: a bill lists money moved.
  for (const t of state.tradesSettledBetween(start, end)) {
    if (t.kind === 'collect' && !isPaid(t, end)) continue;
    if (t.kind === 'payout' && t.outcome !== 'succeeded') continue;
    const sign = t.kind === 'collect' ? 1 : -1;
    rows.push({
      line: 0,
      time: isoUtc(t.settleMs),
      orderNo: t.orderNo,
      channelTradeNo: t.tradeNo,
      kind: t.kind === 'collect' ? 'payment' : 'payout',
      amountMinor: sign * t.amountMinor,
      feeMinor: t.feeMinor,
      currency: t.currency,
      status: 'succeeded',
    });
  }
  for (const r of state.refundsSettledBetween(start, end)) {
    rows.push({
      line: 0,
      time: isoUtc(r.settleMs),
      orderNo: r.orderNo,
      channelTradeNo: r.refundTradeNo,
      kind: 'refund',
      refundNo: r.refundNo,
      amountMinor: -r.amountMinor,
      feeMinor: 0,
      currency: r.currency,
      status: 'succeeded',
    });
  }
  return writeMockBillRows(path, rows, { date });
}

function damaged(path: string, line: number, message: string) {
  return invalid(`${path}:${line}: ${message}`, { hint: 'The bill looks damaged or is not a mock bill; download it again.' });
}

/**
 * Streams a mock bill's rows, checking header, dates and the footer count: row by row, or an
 * array per chunk of the file (`batches()`, what reconciliation takes).
 */
export function readMockBill(source: BillSource, options: ReadBillOptions): BatchedBillRows {
  return batchedBillRows(() => readMockBillChunks(source, options));
}

async function* readMockBillChunks(source: BillSource, options: ReadBillOptions): AsyncGenerator<BillRow[]> {
  let lineNo = 0;
  let width = 0;
  // Where each column is, once the header is read.
  let at: Record<Column, number> | undefined;
  let billDate: string | undefined;
  let footer: number | undefined;
  let rows = 0;
  let currencyText: string | undefined;
  let currency = '';
  let exp = 0;
  let lastTimeText: string | undefined;
  let lastIso = '';
  for await (const { lines } of readTextLineBatches(source.path, { allowUtf16: false, label: 'mock bill' })) {
    const out: BillRow[] = [];
    for (const line of lines) {
      lineNo++;
      if (lineNo === 1 && line !== '# pay mock bill') throw damaged(source.path, 1, 'first line is not "# pay mock bill"');
      if (line === '') continue;
      if (line.startsWith('#')) {
        const m = /^# (\w[\w ]*): (.*)$/.exec(line);
        if (m?.[1] === 'date') {
          billDate = m[2].trim();
          if (options.date && billDate !== options.date) {
            throw invalid(`${source.path} is the bill for ${billDate}, not ${options.date}`);
          }
        } else if (m?.[1] === 'rows') footer = Number(m[2]);
        continue;
      }
      if (footer !== undefined) throw damaged(source.path, lineNo, 'data after the footer');
      if (!at) {
        const header = line.split(',');
        const missing = COLUMNS.filter((c) => !header.includes(c));
        if (missing.length) throw damaged(source.path, lineNo, `header lacks ${missing.join(', ')}`);
        at = Object.fromEntries(COLUMNS.map((c) => [c, header.indexOf(c)])) as Record<Column, number>;
        width = header.length;
        continue;
      }
      const cells = line.split(',');
      if (cells.length !== width) throw damaged(source.path, lineNo, `expected ${width} fields, found ${cells.length}`);
      const kind = cells[at.kind];
      if (kind !== 'payment' && kind !== 'refund' && kind !== 'payout') throw damaged(source.path, lineNo, `unknown kind "${kind}"`);
      let amountMinor: number;
      let feeMinor: number;
      try {
        // The currency and time of the row before are taken again when the text is the same.
        if (cells[at.currency] !== currencyText) {
          currency = normalizeCurrency(cells[at.currency]);
          exp = currencyExponent(currency);
          currencyText = cells[at.currency];
        }
        amountMinor = plainMinor(cells[at.amount], exp);
        if (Number.isNaN(amountMinor)) amountMinor = parseAmount(cells[at.amount], currency, { allowNegative: true, allowZero: true });
        feeMinor = plainMinor(cells[at.fee], exp);
        if (Number.isNaN(feeMinor)) feeMinor = parseAmount(cells[at.fee], currency, { allowNegative: true, allowZero: true, label: 'fee' });
      } catch (err) {
        throw damaged(source.path, lineNo, (err as Error).message);
      }
      const timeText = cells[at.time];
      if (timeText !== lastTimeText) {
        const time = Date.parse(timeText);
        if (Number.isNaN(time)) throw damaged(source.path, lineNo, `"${timeText}" is not a time`);
        lastIso = isoUtc(time);
        lastTimeText = timeText;
      }
      rows++;
      out.push({
        line: lineNo,
        orderNo: cells[at.order_no] || undefined,
        channelTradeNo: cells[at.trade_no] || undefined,
        kind,
        refundNo: cells[at.refund_no] || undefined,
        amountMinor,
        feeMinor,
        currency,
        time: lastIso,
        status: cells[at.status] || undefined,
      });
    }
    if (out.length) yield out;
  }
  if (lineNo === 0) throw invalid(`${source.path} is empty`);
  if (!at) throw damaged(source.path, lineNo, 'no header row');
  if (billDate === undefined) throw damaged(source.path, lineNo, 'no "# date:" line');
  if (footer === undefined) throw damaged(source.path, lineNo, 'no "# rows:" footer (the file is truncated)');
  if (footer !== rows) throw damaged(source.path, lineNo, `footer says ${footer} rows, the file has ${rows}`);
}

export const mockBills: BillReader = {
  read: readMockBill,
  write: async (path, rows, options) => {
    await writeMockBillRows(path, rows, options);
  },
};
