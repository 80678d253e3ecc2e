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
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { BillReader, BillRow, BillSource, ReadBillOptions, WriteBillOptions } from '../../src/channel/contract.js';
import { invalid } from '../../src/core/errors.js';
import { formatAmount, normalizeCurrency, parseAmount } from '../../src/core/money.js';
import { businessDayRange, isoUtc } from '../../src/core/time.js';
import { isPaid, type MockState } from './state.js';

const COLUMNS = ['time', 'order_no', 'trade_no', 'kind', 'refund_no', 'amount', 'fee', 'currency', 'status'] as const;

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

/** Streams a mock bill's rows, checking header, dates and the footer count. */
export async function* readMockBill(source: BillSource, options: ReadBillOptions): AsyncIterable<BillRow> {
  const input = createReadStream(source.path);
  const lines = createInterface({ input, crlfDelay: Infinity });
  let lineNo = 0;
  let header: string[] | undefined;
  let billDate: string | undefined;
  let footer: number | undefined;
  let rows = 0;
  try {
    for await (const raw of lines) {
      lineNo++;
      const line = raw.replace(/\r$/, '');
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
      if (!header) {
        header = line.split(',');
        const missing = COLUMNS.filter((c) => !header!.includes(c));
        if (missing.length) throw damaged(source.path, lineNo, `header lacks ${missing.join(', ')}`);
        continue;
      }
      const cells = line.split(',');
      if (cells.length !== header.length) throw damaged(source.path, lineNo, `expected ${header.length} fields, found ${cells.length}`);
      const get = (c: (typeof COLUMNS)[number]) => cells[header!.indexOf(c)];
      const kind = get('kind');
      if (kind !== 'payment' && kind !== 'refund' && kind !== 'payout') throw damaged(source.path, lineNo, `unknown kind "${kind}"`);
      let currency: string;
      let amountMinor: number;
      let feeMinor: number;
      try {
        currency = normalizeCurrency(get('currency'));
        amountMinor = parseAmount(get('amount'), currency, { allowNegative: true, allowZero: true });
        feeMinor = parseAmount(get('fee'), currency, { allowNegative: true, allowZero: true, label: 'fee' });
      } catch (err) {
        throw damaged(source.path, lineNo, (err as Error).message);
      }
      const time = Date.parse(get('time'));
      if (Number.isNaN(time)) throw damaged(source.path, lineNo, `"${get('time')}" is not a time`);
      rows++;
      yield {
        line: lineNo,
        orderNo: get('order_no') || undefined,
        channelTradeNo: get('trade_no') || undefined,
        kind,
        refundNo: get('refund_no') || undefined,
        amountMinor,
        feeMinor,
        currency,
        time: isoUtc(time),
        status: get('status') || undefined,
      };
    }
  } finally {
    lines.close();
    input.destroy();
  }
  if (lineNo === 0) throw invalid(`${source.path} is empty`);
  if (!header) throw damaged(source.path, lineNo, 'no header row');
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
