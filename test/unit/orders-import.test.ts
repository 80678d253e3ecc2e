import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createContext, type Context } from '../../src/commands/context.js';
import { importOrders, parseExportTime, presentImport, type ImportOptions } from '../../src/commands/orders-import.js';
import { PayError } from '../../src/core/errors.js';
import type { Store } from '../../src/store/store.js';
import { BACKENDS, type FreshDb } from '../helpers/backends.js';
import { tempDir } from '../helpers/cli.js';

const HEADER = 'order_no,channel,kind,amount,currency,status,created_at,paid_at,channel_trade_no,refund_no';
describe.each(BACKENDS)('order import on $name', (backend) => {
  let tmp: ReturnType<typeof tempDir>;
  let fresh: FreshDb;
  let ctx: Context;
  let store: Store;
  let n = 0;

  beforeEach(async () => {
    tmp = tempDir();
    fresh = await backend.fresh();
    ctx = createContext({ db: fresh.db, cwd: tmp.dir, env: {}, stdout: new PassThrough(), stderr: new PassThrough(), interactive: false, clock: () => Date.parse('2026-11-23T00:00:00Z') });
    store = await ctx.store();
  });
  afterEach(async () => {
    await ctx.close();
    await fresh.cleanup();
    tmp.cleanup();
  });

  function file(lines: string[], header = HEADER): string {
    const path = join(tmp.dir, `export-${++n}.csv`);
    writeFileSync(path, `${[header, ...lines].join('\n')}\n`);
    return path;
  }

  async function rejected(path: string, opts: ImportOptions = {}): Promise<PayError> {
    try {
      await importOrders(path, opts, ctx);
    } catch (err) {
      if (err instanceof PayError) return err;
      throw err;
    }
    throw new Error('expected the import to be rejected');
  }

  const GOOD = [
    'P000000001,alipay,payment,12.34,CNY,succeeded,2026-11-22T10:00:00+08:00,2026-11-22T10:00:05+08:00,2026112222001,',
    'P000000002,alipay,payment,20.00,cny,pending,2026-11-22T02:00:00Z,,,',
    'T000000001,wechatpay,payout,100.00,CNY,succeeded,2026-11-22T03:00:00Z,2026-11-22T03:00:09Z,,',
    'P000000001,alipay,refund,2.34,CNY,succeeded,2026-11-22T04:00:00Z,2026-11-22T04:00:01Z,RF1,R000000001',
    'P000000003,stripe,payment,1500,JPY,refunded,2026-11-22T05:00:00Z,2026-11-22T05:00:01Z,ch_1,',
    'P000000003,stripe,refund,1500,JPY,succeeded,2026-11-22T06:00:00Z,2026-11-22T06:00:01Z,re_1,R000000002',
  ];

  describe('pay orders import', () => {
    it('imports orders, payouts and refunds with source import, in UTC, and logs each', async () => {
      const r = await importOrders(file(GOOD), {}, ctx);
      expect(r).toMatchObject({ rows: 6, ordersCreated: 4, refundsCreated: 2, updated: 0, unchanged: 0, rejected: 0, problems: [] });
      const p1 = await store.getOrder('P000000001');
      expect(p1).toMatchObject({ kind: 'collect', channel: 'alipay', status: 'succeeded', amountMinor: 1234, refundedMinor: 234, source: 'import', createdAt: '2026-11-22T02:00:00.000Z', paidAt: '2026-11-22T02:00:05.000Z', channelTradeNo: '2026112222001' });
      expect(await store.getOrder('P000000002')).toMatchObject({ status: 'pending', currency: 'CNY' });
      expect(await store.getOrder('T000000001')).toMatchObject({ kind: 'payout', amountMinor: 10000 });
      expect(await store.getOrder('P000000003')).toMatchObject({ status: 'refunded', amountMinor: 1500, refundedMinor: 1500 });
      expect(await store.getRefund('R000000001')).toMatchObject({ orderNo: 'P000000001', status: 'succeeded', amountMinor: 234, refundedAt: '2026-11-22T04:00:01.000Z', channelRefundNo: 'RF1' });
      const events = await store.listEvents({ orderNo: 'P000000001' });
      expect(events.map((e) => [e.type, e.data.source])).toEqual([
        ['order.created', 'import'],
        ['refund.created', 'import'],
      ]);
      expect(presentImport(r).exitCode).toBe(0);
    });

    it('is idempotent: importing the same file again changes nothing', async () => {
      const path = file(GOOD);
      await importOrders(path, {}, ctx);
      const before = (await store.listEvents({ limit: 10000 })).length;
      const again = await importOrders(path, {}, ctx);
      expect(again).toMatchObject({ ordersCreated: 0, refundsCreated: 0, updated: 0, unchanged: 6 });
      // Only the summary event of the second import.
      expect((await store.listEvents({ limit: 10000 })).length).toBe(before + 1);
    });

    it('reports every bad row with its line number and imports nothing', async () => {
      const err = await rejected(
        file([
          GOOD[0],
          'P000000010,alipay,payment,"1,000.00",CNY,succeeded,2026-11-22T10:00:00Z,2026-11-22T10:00:00Z,,',
          'P000000011,alipay,payment,abc,CNY,succeeded,2026-11-22T10:00:00Z,2026-11-22T10:00:00Z,,',
          'P000000012,alipay,payment,1.234,CNY,succeeded,2026-11-22T10:00:00Z,2026-11-22T10:00:00Z,,',
          'P000000013,alipay,payment,1.00,RMB,succeeded,2026-11-22T10:00:00Z,2026-11-22T10:00:00Z,,',
          'P000000014,alipay,payment,1.00,CNY,paid,2026-11-22T10:00:00Z,2026-11-22T10:00:00Z,,',
          'P000000015,alipay,payment,1.00,CNY,succeeded,2026-11-22 10:00:00,2026-11-22T10:00:00Z,,',
          'P000000016,alipay,payment,1.00,CNY,succeeded,2026-11-22T10:00:00Z,,,',
          'P 17,alipay,payment,1.00,CNY,pending,2026-11-22T10:00:00Z,,,',
          'P000000018,Alipay,payment,1.00,CNY,pending,2026-11-22T10:00:00Z,,,',
          'P000000019,alipay,sale,1.00,CNY,pending,2026-11-22T10:00:00Z,,,',
          'P000000020,alipay,refund,1.00,CNY,succeeded,2026-11-22T10:00:00Z,2026-11-22T10:00:00Z,,R000000020',
          'P000000001,alipay,payment,12.34,CNY,succeeded,2026-11-22T10:00:00+08:00,2026-11-22T10:00:05+08:00,2026112222001,',
          'P000000021,alipay,payment,1.00,CNY,failed,2026-11-22T10:00:00Z,2026-11-22T10:00:00Z,,',
          'P000000022,alipay,payment,1.00,CNY,pending,2026-02-30T10:00:00Z,,,',
          'P000000023,alipay',
        ]),
      );
      expect(err.exitCode).toBe(2);
      expect(err.message).toMatch(/^15 of 16 rows in .* cannot be imported; nothing was imported:\n  line 3: amount "1,000.00" is not a decimal number/);
      const problems = (err.details!.problems as { line: number; message: string }[]).map((p) => [p.line, p.message]);
      expect(problems).toEqual([
        [3, expect.stringMatching(/amount "1,000.00" is not a decimal number/)],
        [4, expect.stringMatching(/amount "abc" is not a decimal number/)],
        [5, expect.stringMatching(/has 3 decimal places, but CNY has 2/)],
        [6, expect.stringMatching(/unknown currency RMB/)],
        [7, expect.stringMatching(/status "paid" is not a payment status/)],
        [8, expect.stringMatching(/created_at "2026-11-22 10:00:00" has no UTC offset/)],
        [9, expect.stringMatching(/paid_at is empty/)],
        [10, expect.stringMatching(/order_no "P 17" is not valid/)],
        [11, expect.stringMatching(/channel "Alipay" is not a channel id/)],
        [12, expect.stringMatching(/kind "sale" is not payment, refund or payout/)],
        [13, expect.stringMatching(/refers to order P000000020, which is neither in the file nor in the order book/)],
        [14, expect.stringMatching(/order_no P000000001 already appears on line 2/)],
        [15, expect.stringMatching(/paid_at is set, but the payment is failed/)],
        [16, expect.stringMatching(/not a valid date and time/)],
        [17, expect.stringMatching(/expected 10 fields, found 2/)],
      ]);
      expect(await store.countOrders()).toBe(0);
    });

    it('with --partial imports the good rows, and their refunds only when the order is good', async () => {
      const r = await importOrders(
        file([GOOD[0], 'P000000030,alipay,payment,abc,CNY,succeeded,2026-11-22T10:00:00Z,2026-11-22T10:00:00Z,,', 'P000000030,alipay,refund,1.00,CNY,succeeded,2026-11-22T10:00:00Z,2026-11-22T10:00:01Z,,R000000030']),
        { partial: true },
        ctx,
      );
      expect(r).toMatchObject({ ordersCreated: 1, refundsCreated: 0, rejected: 2 });
      expect(r.problems.map((p) => p.line)).toEqual([3, 4]);
      expect(presentImport(r).exitCode).toBe(2);
      expect(await store.getOrder('P000000001')).toBeDefined();
    });

    it('reports a conflicting re-import; applies a forward move and a missing trade number', async () => {
      await importOrders(file(GOOD), {}, ctx);
      const err = await rejected(
        file([
          'P000000001,alipay,payment,12.35,CNY,succeeded,2026-11-22T10:00:00+08:00,2026-11-22T10:00:05+08:00,2026112222001,',
          'T000000001,wechatpay,payout,100.00,CNY,pending,2026-11-22T03:00:00Z,,,',
          'P000000003,mock,payment,1500,JPY,refunded,2026-11-22T05:00:00Z,2026-11-22T05:00:01Z,ch_1,',
          'P000000003,stripe,refund,1500,JPY,succeeded,2026-11-22T06:00:00Z,2026-11-22T06:00:01Z,re_1,R000000002',
        ]),
      );
      expect((err.details!.problems as { message: string }[]).map((p) => p.message)).toEqual([
        expect.stringMatching(/P000000001 is already in the order book with amount 1234 \(minor units\); the file says 1235/),
        expect.stringMatching(/T000000001 is succeeded in the order book; the file says pending \(a paid order never moves to pending\)/),
        expect.stringMatching(/P000000003 is already in the order book on channel stripe; the file says mock/),
        expect.stringMatching(/refund R000000002 refers to order P000000003 on line 4, which was rejected/),
      ]);
      const refundErr = await rejected(file(['P000000001,alipay,refund,2.34,CNY,succeeded,2026-11-22T04:00:00Z,2026-11-22T04:00:02Z,RF1,R000000001']));
      expect(refundErr.message).toMatch(/line 2: refund R000000001 was refunded at 2026-11-22T04:00:01.000Z in the order book; the file says 2026-11-22T04:00:02.000Z/);
      const r = await importOrders(file(['P000000002,alipay,payment,20.00,CNY,succeeded,2026-11-22T02:00:00Z,2026-11-22T11:00:00Z,2026112299,']), {}, ctx);
      expect(r).toMatchObject({ updated: 1, ordersCreated: 0 });
      expect(await store.getOrder('P000000002')).toMatchObject({ status: 'succeeded', paidAt: '2026-11-22T11:00:00.000Z', channelTradeNo: '2026112299' });
      expect((await store.listEvents({ orderNo: 'P000000002' })).map((e) => [e.type, e.data.to ?? null])).toEqual([
        ['order.created', null],
        ['order.status', 'succeeded'],
      ]);
    });

    it('checks refunds against their orders: paid, same channel and currency, within the amount', async () => {
      const err = await rejected(
        file([
          'P000000040,mock,payment,10.00,CNY,pending,2026-11-22T10:00:00Z,,,',
          'P000000040,mock,refund,1.00,CNY,succeeded,2026-11-22T10:00:00Z,2026-11-22T10:00:01Z,,R000000040',
          'P000000041,mock,payment,10.00,CNY,succeeded,2026-11-22T10:00:00Z,2026-11-22T10:00:01Z,,',
          'P000000041,mock,refund,6.00,CNY,succeeded,2026-11-22T10:00:00Z,2026-11-22T10:00:02Z,,R000000041',
          'P000000041,mock,refund,6.00,CNY,succeeded,2026-11-22T10:00:00Z,2026-11-22T10:00:03Z,,R000000042',
          'P000000041,mock,refund,1.00,USD,succeeded,2026-11-22T10:00:00Z,2026-11-22T10:00:03Z,,R000000043',
          'T000000044,mock,payout,10.00,CNY,succeeded,2026-11-22T10:00:00Z,2026-11-22T10:00:01Z,,',
          'T000000044,mock,refund,1.00,CNY,succeeded,2026-11-22T10:00:00Z,2026-11-22T10:00:03Z,,R000000044',
          'P000000045,mock,payment,10.00,CNY,refunded,2026-11-22T10:00:00Z,2026-11-22T10:00:01Z,,',
          'P000000045,mock,refund,4.00,CNY,succeeded,2026-11-22T10:00:00Z,2026-11-22T10:00:03Z,,R000000045',
        ]),
      );
      expect((err.details!.problems as { line: number; message: string }[]).map((p) => [p.line, p.message])).toEqual([
        [3, expect.stringMatching(/refers to order P000000040, which is pending; only a paid order can be refunded/)],
        [4, expect.stringMatching(/refunds of P000000041 total more than its amount/)],
        [5, expect.stringMatching(/refunds of P000000041 total more than its amount/)],
        [6, expect.stringMatching(/refunds of P000000041 total more than its amount/)],
        [7, expect.stringMatching(/refund R000000043 is in USD, its order P000000041 in CNY/)],
        [9, expect.stringMatching(/T000000044 is a payout; only payments can be refunded/)],
        [10, expect.stringMatching(/P000000045 is refunded, but its succeeded refunds total less than its amount/)],
        [11, expect.stringMatching(/P000000045 is refunded, but its succeeded refunds total less than its amount/)],
      ]);
    });

    it('reads times without an offset in the zone given, and checks without writing on a dry run', async () => {
      const path = file(['P000000050,alipay,payment,1.00,CNY,succeeded,2026-11-22 08:30:00,2026-11-22 08:30:05,,']);
      const dry = await importOrders(path, { timeZone: 'Asia/Shanghai', dryRun: true }, ctx);
      expect(dry).toMatchObject({ dryRun: true, ordersCreated: 1 });
      expect(await store.countOrders()).toBe(0);
      await importOrders(path, { timeZone: 'Asia/Shanghai' }, ctx);
      expect(await store.getOrder('P000000050')).toMatchObject({ createdAt: '2026-11-22T00:30:00.000Z', paidAt: '2026-11-22T00:30:05.000Z' });
      await expect(importOrders(path, { timeZone: 'Mars/Base' }, ctx)).rejects.toThrow(/--time-zone "Mars\/Base" is not a time zone/);
    });

    it('maps columns by name, ignores extras, and rejects a missing header column or an empty file', async () => {
      const r = await importOrders(file(['x,P000000060,mock,payment,1.00,CNY,pending,2026-11-22T00:00:00Z'], 'note,order_no,channel,kind,amount,currency,status,created_at'), {}, ctx);
      expect(r).toMatchObject({ ordersCreated: 1, ignoredColumns: ['note'] });
      await expect(importOrders(file([], 'order_no,channel,kind,amount'), {}, ctx)).rejects.toThrow(/the header lacks currency, status, created_at/);
      const empty = join(tmp.dir, 'empty.csv');
      writeFileSync(empty, '');
      await expect(importOrders(empty, {}, ctx)).rejects.toThrow(/is empty/);
      await expect(importOrders(join(tmp.dir, 'absent.csv'), {}, ctx)).rejects.toThrow(/does not exist/);
    });

    it('streams a large export in one transaction', async () => {
      const lines: string[] = [];
      for (let i = 0; i < 30_000; i++) lines.push(`P${String(i).padStart(9, '0')},mock,payment,${(i % 900) + 1}.00,CNY,succeeded,2026-11-22T00:00:00Z,2026-11-22T00:00:01Z,T${i},`);
      const r = await importOrders(file(lines), {}, ctx);
      expect(r).toMatchObject({ rows: 30_000, ordersCreated: 30_000 });
      expect(await store.countOrders()).toBe(30_000);
    });
  });
});

describe('export times', () => {
  it('parses export times strictly', () => {
    expect(parseExportTime('2026-11-22T10:00:00.5-05:30', 'created_at', undefined, undefined)).toBe('2026-11-22T15:30:00.500Z');
    expect(parseExportTime('2026-11-22 10:00Z', 'created_at', undefined, undefined)).toBe('2026-11-22T10:00:00.000Z');
    expect(() => parseExportTime('2026-11-22', 'paid_at', undefined, undefined)).toThrow(/paid_at "2026-11-22" is not an ISO 8601 time/);
  });
});
