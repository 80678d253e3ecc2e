// `pay reconcile --download` against the real channels' sandbox simulators: orders made and paid
// through the binary, the day's bill fetched with the channel's own downloadBill, every row matched.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server.js';
import { utcToWallTime } from '../../src/core/time.js';
import { runPayJson, tempDir } from '../helpers/cli.js';

const CHANNELS: { id: string; currency: string; zone: string; method?: string }[] = [
  { id: 'alipay', currency: 'CNY', zone: 'Asia/Shanghai' },
  { id: 'wechatpay', currency: 'CNY', zone: 'Asia/Shanghai' },
  // UnionPay's default (web) is a browser form that never reaches the simulator; app mode does.
  { id: 'unionpay', currency: 'CNY', zone: 'Asia/Shanghai', method: 'app' },
  { id: 'stripe', currency: 'USD', zone: 'UTC' },
  { id: 'paypal', currency: 'USD', zone: 'UTC' },
];

describe('pay reconcile --download (sandbox)', () => {
  let sb: RunningSandbox;
  let tmp: ReturnType<typeof tempDir>;
  let config: string;

  beforeAll(async () => {
    tmp = tempDir('pay-reconcile-download-');
    sb = await startSandbox({ channels: CHANNELS.map((c) => c.id) });
    const channels = Object.fromEntries(CHANNELS.map((c) => [c.id, sb.profile(c.id)]));
    config = join(tmp.dir, 'pay.config.json');
    writeFileSync(config, JSON.stringify({ channels: {}, profiles: { sandbox: { channels } } }));
  });
  afterAll(async () => {
    await sb?.close();
    tmp?.cleanup();
  });

  for (const c of CHANNELS) {
    it(`${c.id}: the downloaded bill matches the orders paid today`, async () => {
      const db = join(tmp.dir, `${c.id}.db`);
      const pay = (args: string[]) => runPayJson(['--db', db, '--config', config, '--profile', 'sandbox', ...args]);
      const orders: string[] = [];
      for (const amount of ['12.34', '5.00']) {
        const created = await pay(['create', '--channel', c.id, '--amount', amount, '--currency', c.currency, ...(c.method ? ['--method', c.method] : [])]);
        expect(created.code, created.stdout + created.stderr).toBe(0);
        orders.push(created.json.orderNo);
        await sb.pay(c.id, created.json.orderNo);
      }
      for (const no of orders) {
        let status = '';
        for (let i = 0; i < 50 && status !== 'succeeded'; i++) {
          status = (await pay(['query', no])).json.status;
          if (status !== 'succeeded') await new Promise((r) => setTimeout(r, 100));
        }
        expect(status).toBe('succeeded');
      }
      const date = utcToWallTime(Date.now(), c.zone).slice(0, 10);
      const r = await pay(['reconcile', '--channel', c.id, '--date', date, '--download']);
      expect(r.code, JSON.stringify(r.json, null, 1)).toBe(0);
      expect(r.json.bill.source).toBe('download');
      expect(r.json.summary.matched).toBe(2);
      expect(r.json.totals.find((t: { currency: string }) => t.currency === c.currency).bill.grossMinor).toBe(1734);
    });
  }
});
