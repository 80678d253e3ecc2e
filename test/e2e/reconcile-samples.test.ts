// Real bills from ../shared/samples through the binary: reconciled against empty books every row
// is missing locally (exit 1); against books built from the same rows (imported with `pay orders
// import`), every row matches (exit 0). The channel engineers own the parsers; this checks the
// whole pipeline on real files. Skipped, with a notice, when ../shared is absent.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BillRow, ChannelModule } from '../../src/channel/contract.js';
import { formatAmount } from '../../src/core/money.js';
import { HAS_SHARED, runPayJson, SHARED_DIR, sharedNotice, tempDir } from '../helpers/cli.js';

const SAMPLES: { channel: string; file: string; date: string }[] = [
  { channel: 'alipay', file: 'alipay-trade-20190916.gbk.csv', date: '2019-09-16' },
  { channel: 'alipay', file: 'alipay-trade-20190916.utf8-with-tabs.csv', date: '2019-09-16' },
  { channel: 'wechatpay', file: 'wechat-tradebill-all.csv', date: '2021-01-28' },
];

sharedNotice('real bill samples (reconcile end to end)');

describe.skipIf(!HAS_SHARED)('pay reconcile on the real samples', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    tmp = tempDir('pay-reconcile-samples-');
  });
  afterAll(() => tmp.cleanup());

  for (const [i, s] of SAMPLES.entries()) {
    it(`${s.file}: all missing against empty books, all matched against books built from it`, async () => {
      const { loadChannelModule } = await import('../../src/channel/registry.js');
      const mod: ChannelModule = await loadChannelModule(s.channel);
      const path = join(SHARED_DIR, 'samples', s.file);
      const rows: BillRow[] = [];
      for await (const r of mod.bill!.read({ path }, { date: s.date })) rows.push(r);
      const settled = rows.filter((r) => r.kind === 'payment' || r.kind === 'refund');
      expect(settled.length).toBeGreaterThan(0);

      const db = join(tmp.dir, `samples-${i}.db`);
      const args = ['--db', db, 'reconcile', '--channel', s.channel, '--date', s.date, '--bill', path];
      const empty = await runPayJson(args);
      expect(empty.code, empty.stdout).toBe(1);
      expect(empty.json.summary).toMatchObject({ matched: 0, missingLocal: settled.length, missingChannel: 0, duplicate: 0 });

      // The books as the merchant would have them: every payment, and every refund with its order.
      const lines = ['order_no,channel,kind,amount,currency,status,created_at,paid_at,channel_trade_no,refund_no'];
      const refunds = new Map<string, number>();
      for (const r of settled) if (r.kind === 'refund') refunds.set(r.orderNo!, (refunds.get(r.orderNo!) ?? 0) + Math.abs(r.amountMinor));
      const payments = new Map<string, BillRow>();
      for (const r of settled) if (r.kind === 'payment') payments.set(r.orderNo!, r);
      for (const [orderNo, refunded] of refunds) {
        // A refund of an earlier day's payment: that payment is in the books from its own day.
        if (!payments.has(orderNo)) payments.set(orderNo, { ...settled.find((r) => r.orderNo === orderNo)!, kind: 'payment', amountMinor: refunded, time: new Date(Date.parse(`${s.date}T00:00:00Z`) - 3 * 86_400_000).toISOString() });
      }
      for (const p of payments.values()) {
        const status = refunds.get(p.orderNo!) === p.amountMinor ? 'refunded' : 'succeeded';
        lines.push([p.orderNo, s.channel, 'payment', formatAmount(p.amountMinor, p.currency), p.currency, status, p.time, p.time, p.channelTradeNo ?? '', ''].join(','));
      }
      for (const r of settled.filter((x) => x.kind === 'refund')) {
        lines.push([r.orderNo, s.channel, 'refund', formatAmount(Math.abs(r.amountMinor), r.currency), r.currency, 'succeeded', r.time, r.time, '', r.refundNo].join(','));
      }
      writeFileSync(join(tmp.dir, `books-${i}.csv`), `${lines.join('\n')}\n`);
      const imp = await runPayJson(['--db', db, 'orders', 'import', join(tmp.dir, `books-${i}.csv`)]);
      expect(imp.code, imp.stdout).toBe(0);

      const full = await runPayJson(args);
      expect(full.code, JSON.stringify(full.json.items)).toBe(0);
      expect(full.json.summary).toEqual({ matched: settled.length, missingLocal: 0, missingChannel: 0, amountMismatch: 0, statusMismatch: 0, currencyMismatch: 0, duplicate: 0 });
      expect(full.json.replacedRun).toBe(empty.json.runId);
      const gross = settled.filter((r) => r.kind === 'payment').reduce((a, r) => a + r.amountMinor, 0);
      expect(full.json.totals[0].bill.grossMinor).toBe(gross);
    });
  }
});
