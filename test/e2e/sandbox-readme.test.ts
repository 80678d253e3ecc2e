/**
 * The README's sandbox steps, as written, for every simulated channel and its default method:
 * `pay create --profile sandbox --channel <id>`, the payer pays with `POST /__sandbox/pay
 * {"orderNo"}` (the body curl -d sends), and `pay query` sees the payment. And a fault whose
 * `match` names an Alipay OpenAPI method (carried in the form body, not the path) hits only that
 * method. Through the real binary (`npm run build` first).
 */
import { describe, expect, it } from 'vitest';
import { eventually, sandboxFixture, type SandboxFixture } from '../helpers/contract-suite.js';
import { runPayJson } from '../helpers/cli.js';

const pay = (fx: SandboxFixture, args: string[]) => runPayJson(args, { env: fx.env, cwd: fx.dir });

/** What `curl -X POST <url> -d '<json>'` sends: a form content type around a JSON body. */
function curlPost(url: string, json: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: JSON.stringify(json) });
}

describe('README: the sandbox payer pays an order made with the default method', () => {
  it.each([
    ['alipay', 'CNY', '0.01'],
    ['wechatpay', 'CNY', '0.01'],
    ['unionpay', 'CNY', '0.01'],
    ['stripe', 'USD', '1.00'],
    ['paypal', 'USD', '1.00'],
  ])('%s', async (channel, currency, amount) => {
    const fx = await sandboxFixture(channel);
    try {
      const created = await pay(fx, ['create', '--profile', 'sandbox', '--channel', channel, '--amount', amount, '--currency', currency]);
      expect(created.code, created.stderr).toBe(0);
      const orderNo: string = created.json.orderNo;
      const res = await curlPost(`${fx.sandbox.channels[channel].baseUrl}/__sandbox/pay`, { orderNo });
      expect(res.status, await res.clone().text()).toBe(200);
      expect(await res.json()).toMatchObject({ ok: true, orderNo });
      const paid = await eventually(`${channel} order ${orderNo} paid`, async () => {
        const q = await pay(fx, ['query', orderNo]);
        expect(q.code, q.stderr).toBe(0);
        return q.json.status === 'succeeded' ? q : undefined;
      });
      expect(paid.json).toMatchObject({ orderNo, status: 'succeeded' });
    } finally {
      await fx.close();
    }
  });
});

describe('README: sandbox faults match Alipay method names', () => {
  it('"match": "alipay.trade.precreate" hits the precreate, not a query on the same path', async () => {
    const fx = await sandboxFixture('alipay');
    try {
      const base = fx.sandbox.channels.alipay.baseUrl;
      const create = () => pay(fx, ['create', '--channel', 'alipay', '--amount', '0.01', '--currency', 'CNY']);
      const first = await create();
      expect(first.code, first.stderr).toBe(0);

      const added = await curlPost(`${base}/__sandbox/faults`, { kind: 'status', status: 500, match: 'alipay.trade.precreate' });
      expect(added.status).toBe(201);
      // A query goes to the same path (POST /gateway.do): the fault is not for it.
      const q = await pay(fx, ['query', first.json.orderNo]);
      expect(q.code, q.stderr).toBe(0);
      expect(((await (await fetch(`${base}/__sandbox/faults`)).json()) as { faults: unknown[] }).faults).toHaveLength(1);

      const failed = await create();
      expect(failed.code).toBe(3);
      expect(failed.json.error.code).toBe('SYSTEM_ERROR');
      expect(((await (await fetch(`${base}/__sandbox/faults`)).json()) as { faults: unknown[] }).faults).toHaveLength(0);
      const hit = fx.sandbox.requests('alipay').filter((r) => r.fault === 'status');
      expect(hit).toHaveLength(1);
      expect(hit[0].body).toMatch(/method=alipay\.trade\.precreate/);
    } finally {
      await fx.close();
    }
  });
});
