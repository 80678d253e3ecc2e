// `pay reconcile` and `pay orders import` through the binary: --download through the mock
// channel, report formats and --out, usage and input errors (exit 2, nothing saved).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeMockBillRows } from '../../channels/mock/bill.js';
import { runPay, runPayJson, tempDir } from '../helpers/cli.js';

let tmp: ReturnType<typeof tempDir>;
let db: string;
const D = '2026-11-22';
const HEADER = 'order_no,channel,kind,amount,currency,status,created_at,paid_at,channel_trade_no,refund_no';

beforeAll(() => {
  tmp = tempDir('pay-reconcile-cli-');
  db = join(tmp.dir, 'pay.db');
});
afterAll(() => tmp.cleanup());

const pay = (args: string[]) => runPay(['--db', db, ...args]);
const payJson = (args: string[]) => runPayJson(['--db', db, ...args]);
const runs = async () => (await payJson(['reconcile', 'history', '--limit', '1000'])).json.runs as { runId: number }[];

describe('pay reconcile --download', () => {
  it('fetches the mock channel bill for the day and matches the orders pay made', async () => {
    const dir = join(tmp.dir, 'download');
    mkdirSync(dir); // pay creates a --db file only in a folder that exists
    const config = join(tmp.dir, 'pay.config.json');
    writeFileSync(config, JSON.stringify({ channels: { mock: { settleAfterMs: 0 } } }));
    const ddb = join(dir, 'pay.db');
    const run = (args: string[]) => runPayJson(['--db', ddb, '--config', config, ...args]);
    const orders: string[] = [];
    for (const amount of ['12.34', '20.00', '0.99']) {
      const c = await run(['create', '--channel', 'mock', '--amount', amount, '--currency', 'CNY']);
      expect(c.code, c.stdout).toBe(0);
      orders.push(c.json.orderNo);
    }
    const q = await run(['query', orders[1]]);
    expect(q.json.status).toBe('succeeded');
    const rf = await run(['refund', orders[1], '--amount', '5.00']);
    expect(rf.code, rf.stdout).toBe(0);
    await run(['query', rf.json.refundNo]);
    const today = new Date().toISOString().slice(0, 10);
    const r = await run(['reconcile', '--channel', 'mock', '--date', today, '--download']);
    expect(r.code, JSON.stringify(r.json)).toBe(0);
    expect(r.json.summary).toEqual({ matched: 4, missingLocal: 0, missingChannel: 0, amountMismatch: 0, statusMismatch: 0, currencyMismatch: 0, duplicate: 0 });
    expect(r.json.bill).toMatchObject({ source: 'download', format: 'mock-csv', rows: 4 });
    expect(r.json.bill.path.startsWith(join(dir, 'bills', 'mock'))).toBe(true);
    expect(existsSync(r.json.bill.path)).toBe(true);
    // The bill's fees (0.6% in the mock) appear in the bill-side totals; the books record none.
    expect(r.json.totals[0].bill.feesMinor).toBeGreaterThan(0);
    expect(r.json.totals[0].books).toMatchObject({ grossMinor: 1234 + 2000 + 99, refundsMinor: 500 });
  });
});

describe('reports', () => {
  let bill: string;
  beforeAll(async () => {
    writeFileSync(
      join(tmp.dir, 'books.csv'),
      [HEADER, `P000000001,mock,payment,10.00,CNY,succeeded,${D}T01:00:00Z,${D}T01:00:01Z,,`, `P000000002,mock,payment,20.00,CNY,succeeded,${D}T02:00:00Z,${D}T02:00:01Z,,`].join('\n'),
    );
    expect((await pay(['orders', 'import', join(tmp.dir, 'books.csv')])).code).toBe(0);
    bill = join(tmp.dir, 'mock-bill.csv');
    await writeMockBillRows(
      bill,
      [
        { line: 0, orderNo: 'P000000001', kind: 'payment', amountMinor: 1001, feeMinor: 6, currency: 'CNY', time: `${D}T01:00:02.000Z`, status: 'succeeded' },
        { line: 0, orderNo: 'P000000003', kind: 'payment', amountMinor: 3000, feeMinor: 18, currency: 'CNY', time: `${D}T03:00:02.000Z`, status: 'succeeded' },
      ],
      { date: D },
    );
  });

  it('prints tables for people, with each discrepancy and what to do', async () => {
    const r = await pay(['reconcile', '--channel', 'mock', '--date', D, '--bill', bill]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(''); // no progress line off a terminal
    expect(r.stdout).toMatch(/Summary\nclass +count\nmatched +0\nmissingLocal +1\nmissingChannel +1\namountMismatch +1/);
    expect(r.stdout).toMatch(/Amount mismatches: 1\n.*\nP000000001 .*10\.01 CNY +10\.00 CNY .*\(\+0\.01 CNY\)/);
    expect(r.stdout).toMatch(/Missing in the books \(the channel lists them\): 1/);
    expect(r.stdout).toMatch(/CNY +bill +2 +40\.01/);
    expect(r.stdout).toMatch(/3 discrepancies to look at\.$/m);
  });

  it('prints CSV or JSON, and writes the full report with --out', async () => {
    const csv = await pay(['reconcile', '--channel', 'mock', '--date', D, '--bill', bill, '--format', 'csv']);
    expect(csv.code).toBe(1);
    const lines = csv.stdout.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines.slice(1).map((l) => l.split(',')[1])).toEqual(['amountMismatch', 'missingLocal', 'missingChannel']);

    const json = await pay(['reconcile', '--channel', 'mock', '--date', D, '--bill', bill, '--format', 'json']);
    const doc = JSON.parse(json.stdout);
    expect(doc.summary).toMatchObject({ amountMismatch: 1, missingLocal: 1, missingChannel: 1 });

    const out = join(tmp.dir, 'report.json');
    const withOut = await payJson(['reconcile', '--channel', 'mock', '--date', D, '--bill', bill, '--out', out]);
    expect(withOut.code).toBe(1);
    const file = JSON.parse(readFileSync(out, 'utf8'));
    expect(file.summary).toEqual(withOut.json.summary);
    expect(file.items).toEqual(withOut.json.items);
    expect(file.runId).toBe(withOut.json.runId);

    const outCsv = join(tmp.dir, 'items.csv');
    await pay(['reconcile', 'show', String(withOut.json.runId), '--out', outCsv]);
    expect(readFileSync(outCsv, 'utf8').trim().split('\n')).toHaveLength(4);
    // One run per channel, day and file, however often it is reconciled.
    expect((await runs()).length).toBe(1);
  });
});

describe('bad input', () => {
  it('exits 2 for usage errors', async () => {
    const cases: [string[], RegExp][] = [
      [['reconcile', '--channel', 'mock', '--date', D], /pass --bill <file> or --download/],
      [['reconcile', '--channel', 'mock', '--date', D, '--bill', 'x', '--download'], /either --bill <file> or --download/],
      [['reconcile', '--channel', 'mock', '--date', '2026-02-30', '--bill', 'x'], /--date "2026-02-30" is not a date/],
      [['reconcile', '--channel', 'mock', '--bill', 'x'], /missing required option --date/],
      [['reconcile', '--channel', 'nosuch', '--date', D, '--bill', 'x'], /unknown channel "nosuch"/],
      [['reconcile', '--channel', 'mock', '--date', D, '--bill', join(tmp.dir, 'absent.csv')], /absent.csv does not exist/],
      [['reconcile', '--channel', 'mock', '--date', D, '--bill', 'x', '--carry-window', 'soon'], /--carry-window must be/],
      [['reconcile', '--channel', 'mock', '--date', D, '--bill', 'x', '--time-zone', 'Mars/Base'], /not an IANA zone/],
      [['reconcile', 'show', '999'], /no reconciliation run 999/],
      [['reconcile', 'show', 'last'], /"last" is not a run id/],
    ];
    for (const [args, message] of cases) {
      const r = await pay(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    expect((await pay(['reconcile', '--channel', 'mock', '--date', D, '--bill', 'x', '--format', 'xml'])).code).toBe(2);
  });

  it('exits 2 for damaged bills and bad mappings, and saves nothing', async () => {
    const before = (await runs()).length;
    const mapping = join(tmp.dir, 'bank.json');
    writeFileSync(mapping, JSON.stringify({ columns: { ref: 'orderNo', amount: 'amount', time: 'time' }, currency: 'CNY', timeFormat: 'YYYY-MM-DD HH:mm:ss', timeZone: 'Asia/Shanghai' }));
    const gbk = join(tmp.dir, 'bank-gbk.csv');
    writeFileSync(gbk, iconv.encode(`ref,amount,time\n订单0001,1.00,${D} 10:00:00\n`, 'gbk'));
    const enc = await payJson(['reconcile', '--channel', 'bank-x', '--date', D, '--bill', gbk, '--mapping', mapping]);
    expect(enc.code).toBe(2);
    expect(enc.json.error.message).toMatch(/not valid UTF-8/);
    expect(enc.json.error.hint).toMatch(/"encoding"/);

    const badMap = join(tmp.dir, 'bad-map.json');
    writeFileSync(badMap, JSON.stringify({ columns: { ref: 'orderNo' } }));
    const m = await payJson(['reconcile', '--channel', 'bank-x', '--date', D, '--bill', gbk, '--mapping', badMap]);
    expect(m.code).toBe(2);
    expect(m.json.error.message).toMatch(/no column feeds "amount"/);
    const badId = await payJson(['reconcile', '--channel', 'Bank X', '--date', D, '--bill', gbk, '--mapping', mapping]);
    expect(badId.code).toBe(2);

    // A mock bill whose footer disagrees with its rows (truncated), and a bill for another day.
    const cut = join(tmp.dir, 'cut.csv');
    writeFileSync(cut, `# pay mock bill\n# date: ${D}\n# time zone: UTC\ntime,order_no,trade_no,kind,refund_no,amount,fee,currency,status\n${D}T01:00:00.000Z,P000000001,,payment,,10.00,0.06,CNY,succeeded\n# rows: 2\n`);
    const c = await payJson(['reconcile', '--channel', 'mock', '--date', D, '--bill', cut]);
    expect(c.code).toBe(2);
    expect(c.json.error.message).toMatch(/footer says 2 rows, the file has 1/);
    const other = await payJson(['reconcile', '--channel', 'mock', '--date', '2026-11-21', '--bill', cut]);
    expect(other.code).toBe(2);
    expect(other.json.error.message).toMatch(/is the bill for 2026-11-22, not 2026-11-21/);
    expect((await runs()).length).toBe(before);
  });
});

describe('pay orders import (binary)', () => {
  it('lists bad rows with line numbers, exits 2 and imports nothing', async () => {
    const idb = join(tmp.dir, 'import.db');
    const path = join(tmp.dir, 'bad-export.csv');
    writeFileSync(path, [HEADER, `P000000100,mock,payment,1.00,CNY,pending,${D}T00:00:00Z,,,`, `P000000101,mock,payment,"1,000.00",CNY,pending,${D}T00:00:00Z,,,`, `P000000102,mock,payment,abc,CNY,pending,${D}T00:00:00Z,,,`].join('\n'));
    const human = await runPay(['--db', idb, 'orders', 'import', path]);
    expect(human.code).toBe(2);
    expect(human.stderr).toMatch(/2 of 3 rows in .* cannot be imported; nothing was imported:\n {2}line 3: amount "1,000.00" is not a decimal number\n {2}line 4: amount "abc"/);
    expect(human.stderr).toMatch(/--partial/);
    const json = await runPayJson(['--db', idb, 'orders', 'import', path]);
    expect(json.json.error.details.problems.map((p: { line: number }) => p.line)).toEqual([3, 4]);
    expect((await runPayJson(['--db', idb, 'orders', 'list'])).json.total).toBe(0);
    const partial = await runPayJson(['--db', idb, 'orders', 'import', path, '--partial']);
    expect(partial.code).toBe(2);
    expect(partial.json).toMatchObject({ ordersCreated: 1, rejected: 2 });
    const again = await runPay(['--db', idb, 'orders', 'import', path, '--partial']);
    expect(again.stdout).toMatch(/unchanged +1/);
  });
});
