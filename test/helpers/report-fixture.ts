/**
 * A small order book with three days of mock-channel reconciliation runs, for the report tests:
 * two currencies, every discrepancy class on the last day, an item carried over from the first
 * day and resolved on the second, and hostile bill fields (a `<script>` as an order number, markup
 * in a trade number) that must render as text.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BillRow } from '../../src/channel/contract.js';
import { mockBills } from '../../channels/mock/bill.js';
import { runPayJson } from './cli.js';

/** The order number planted in the last day's bill. */
export const HOSTILE_ORDER_NO = '<script>document.title="pwned";window.__pwned=1</script>';
/** The trade number planted beside it. */
export const HOSTILE_TRADE_NO = '<img src=x onerror=window.__pwned=2>';

export const DAYS = ['2026-11-20', '2026-11-21', '2026-11-22'] as const;

type Entry = [orderNo: string, amountMinor: number, currency: string, day: string, time: string, status?: string];

const HEADER = 'order_no,channel,kind,amount,currency,status,created_at,paid_at,channel_trade_no,refund_no';
const dec = (minor: number, currency: string) => (currency === 'JPY' ? String(minor) : (minor / 100).toFixed(2));
const at = (day: string, time: string) => `${day}T${time}.000Z`;

function bookLine([no, minor, cur, day, time, status = 'succeeded']: Entry): string {
  const paid = status === 'succeeded' ? at(day, time) : '';
  return [no, 'mock', 'payment', dec(minor, cur), cur, status, at(day, '00:00:01'), paid, `MT${no}`, ''].join(',');
}

function billRow([no, minor, cur, day, time]: Entry, trade = `MT${no}`): BillRow {
  return { line: 0, orderNo: no, channelTradeNo: trade, kind: 'payment', amountMinor: minor, feeMinor: Math.floor((minor * 6) / 1000), currency: cur, time: at(day, time), status: 'succeeded' };
}

/** Builds the database in `dir`; returns its path and the JSON of the last day's run. */
export async function buildReconcileFixture(dir: string): Promise<{ db: string; runId: number; json: any; billPath: string }> {
  const db = join(dir, 'pay.db');
  const [d1, d2, d3] = DAYS;
  const books: Entry[] = [
    // Day 1: two matches, one settled at 23:50 and billed the next day (carried over, then resolved).
    ['RPTA0001', 1234, 'CNY', d1, '09:00:00'],
    ['RPTA0002', 2000, 'USD', d1, '10:00:00'],
    ['RPTLATE1', 777, 'CNY', d1, '23:50:00'],
    // Day 2: one match.
    ['RPTB0001', 10000, 'CNY', d2, '12:00:00'],
    // Day 3: matches in two currencies, and one of each discrepancy the books can hold.
    ['RPTC0001', 3550, 'CNY', d3, '08:00:00'],
    ['RPTC0002', 99900, 'CNY', d3, '09:00:00'],
    ['RPTC0003', 1999, 'USD', d3, '10:00:00'],
    ['RPTC0004', 12500, 'USD', d3, '11:00:00'],
    ['RPTMISSCH', 5600, 'CNY', d3, '13:00:00'],
    ['RPTAMOUNT', 4321, 'CNY', d3, '14:00:00'],
    ['RPTSTATUS', 6789, 'CNY', d3, '15:00:00', 'pending'],
    // Settled at 23:55 and not in the day's bill: carried over.
    ['RPTLATE3', 888, 'CNY', d3, '23:55:00'],
  ];
  // Day 1's order missing in the books, imported before day 3: day 3's run resolves it.
  const lateImport: Entry = ['RPTX0001', 4500, 'CNY', d1, '11:00:00'];
  writeFileSync(join(dir, 'books.csv'), `${[HEADER, ...books.map(bookLine)].join('\n')}\n`);
  const imp = await runPayJson(['--db', db, 'orders', 'import', join(dir, 'books.csv')]);
  if (imp.code !== 0) throw new Error(`import failed: ${imp.stderr}${imp.stdout}`);

  const byNo = (no: string) => books.find((b) => b[0] === no)!;
  const bills: Record<string, BillRow[]> = {
    [d1]: [billRow(byNo('RPTA0001')), billRow(byNo('RPTA0002')), billRow(['RPTX0001', 4500, 'CNY', d1, '11:00:00'])],
    [d2]: [billRow(byNo('RPTB0001')), billRow(['RPTLATE1', 777, 'CNY', d2, '00:05:00'])],
    [d3]: [
      billRow(byNo('RPTC0001')),
      billRow(byNo('RPTC0002')),
      billRow(byNo('RPTC0003')),
      billRow(byNo('RPTC0004')),
      billRow(byNo('RPTC0001')), // duplicate
      billRow([HOSTILE_ORDER_NO, 4500, 'CNY', d3, '11:11:11'], HOSTILE_TRADE_NO), // missing in the books
      billRow(['RPTAMOUNT', 4322, 'CNY', d3, '14:00:00']), // amount off by 0.01
      billRow(byNo('RPTSTATUS')), // pending in the books
    ],
  };
  let json: any;
  let runId = 0;
  let billPath = '';
  for (const day of DAYS) {
    if (day === d3) {
      writeFileSync(join(dir, 'books-late.csv'), `${HEADER}\n${bookLine(lateImport)}\n`);
      const late = await runPayJson(['--db', db, 'orders', 'import', join(dir, 'books-late.csv')]);
      if (late.code !== 0) throw new Error(`import failed: ${late.stderr}${late.stdout}`);
    }
    billPath = join(dir, `bill-${day}.csv`);
    await mockBills.write!(billPath, bills[day], { date: day });
    const r = await runPayJson(['--db', db, 'reconcile', '--channel', 'mock', '--date', day, '--bill', billPath]);
    if (r.code > 1) throw new Error(`reconcile ${day} failed: ${r.stderr}${r.stdout}`);
    json = r.json;
    runId = r.json.runId;
  }
  return { db, runId, json, billPath };
}
