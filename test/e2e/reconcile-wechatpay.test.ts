// The issue 6 reconciliation scenario on WeChat Pay's trade bill (ALL), plain and gzip, and a bill
// in the wrong encoding.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPayJson, tempDir } from '../helpers/cli.js';
import { reconcileE2E } from '../helpers/reconcile-e2e.js';

// WeChat's transaction and refund ids are digits: derive distinct ones from our numbers.
const digits = (no: string) => [...no.slice(-6)].map((c) => c.charCodeAt(0) % 10).join('');
const tradeNo = (orderNo: string) => `4200001234202611220${digits(orderNo)}000`;
const refundTradeNo = (refundNo: string) => `50300012342026112200${digits(refundNo)}000`;

reconcileE2E({ channel: 'wechatpay', billName: 'bill.csv', merchantId: '1900000109', tradeNo, refundTradeNo });
reconcileE2E({ channel: 'wechatpay', title: 'pay reconcile: wechatpay (read on a worker thread)', billName: 'bill.csv', env: { PAY_READ_WORKER: '1' }, merchantId: '1900000109', tradeNo, refundTradeNo });
reconcileE2E({ channel: 'wechatpay', title: 'pay reconcile: wechatpay (gzip)', billName: 'bill.csv.gz', lite: true, merchantId: '1900000109', tradeNo, refundTradeNo });

describe('pay reconcile: wechatpay bill in the wrong encoding', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    tmp = tempDir('pay-reconcile-wechat-');
  });
  afterAll(() => tmp.cleanup());

  it('exits 2 for a GBK file (WeChat Pay bills are UTF-8) and saves nothing', async () => {
    const { wechatpayBills } = await import('../../channels/wechatpay/bill.js');
    const utf8 = join(tmp.dir, 'utf8.csv');
    await wechatpayBills.write!(utf8, [{ line: 0, orderNo: 'WECHE2E000001', channelTradeNo: tradeNo('WECHE2E000001'), kind: 'payment', amountMinor: 100, feeMinor: 1, currency: 'CNY', time: '2026-11-22T02:00:00.000Z', status: 'SUCCESS' }], { date: '2026-11-22', merchantId: '1900000109' });
    const gbk = join(tmp.dir, 'gbk.csv');
    writeFileSync(gbk, iconv.encode(readFileSync(utf8, 'utf8'), 'gbk'));
    const db = join(tmp.dir, 'pay.db');
    const r = await runPayJson(['--db', db, 'reconcile', '--channel', 'wechatpay', '--date', '2026-11-22', '--bill', gbk]);
    expect(r.code, r.stdout).toBe(2);
    expect((await runPayJson(['--db', db, 'reconcile', 'history'])).json.runs).toEqual([]);
  });
});

describe('pay reconcile: the reading worker', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    tmp = tempDir('pay-reconcile-worker-');
  });
  afterAll(() => tmp.cleanup());

  it('gives the same report on the worker thread as on the main thread, and says which it used (-v)', async () => {
    const { wechatpayBills } = await import('../../channels/wechatpay/bill.js');
    const bill = join(tmp.dir, 'bill.csv');
    const at = (i: number) => `2026-11-22T0${i % 10}:00:00.000Z`;
    // 9,000 rows (more than two of the worker's batches), two of them duplicates, none in the books.
    const rows = Array.from({ length: 9000 }, (_, i) => ({ line: 0, orderNo: `WK${String(i % 8998).padStart(8, '0')}`, channelTradeNo: tradeNo(`WK${String(i).padStart(8, '0')}`), kind: 'payment' as const, amountMinor: 100 + i, feeMinor: 1, currency: 'CNY', time: at(i), status: 'SUCCESS' }));
    await wechatpayBills.write!(bill, rows, { date: '2026-11-22', merchantId: '1900000109' });
    const run = (worker: string) => runPayJson(['-v', '--db', join(tmp.dir, `pay-${worker}.db`), 'reconcile', '--channel', 'wechatpay', '--date', '2026-11-22', '--bill', bill, '--merchant', '1900000109'], { env: { PAY_READ_WORKER: worker } });
    const [onWorker, here] = [await run('1'), await run('0')];
    expect(onWorker.code, onWorker.stderr).toBe(1);
    expect(onWorker.stderr).toMatch(/reading bill\.csv on a worker thread/);
    expect(here.stderr).not.toMatch(/worker thread/);
    expect(onWorker.json.summary).toEqual({ matched: 0, missingLocal: 8998, missingChannel: 0, amountMismatch: 0, statusMismatch: 0, currencyMismatch: 0, duplicate: 2 });
    // Everything but the clock's readings is the same.
    const strip = (r: unknown) => JSON.parse(JSON.stringify(r, (k, v) => (/^(startedAt|finishedAt|closedAt)$/.test(k) ? '' : v)));
    expect(strip(onWorker.json)).toEqual(strip(here.json));
  });
});
