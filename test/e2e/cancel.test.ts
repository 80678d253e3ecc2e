/**
 * `pay cancel` against every channel's simulator: an unpaid order is closed at the channel (or in
 * the order book only, where the provider has no close, saying so), a second cancel changes
 * nothing, a cancel that meets a payment at the channel reports the order paid, and a paid order
 * is refused with exit 2 and a hint to refund. The binary is run for exit codes and --json.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPayError } from '../../src/core/errors.js';
import { generateId } from '../../src/core/ids.js';
import { cancel } from '../../src/commands/cancel.js';
import { create } from '../../src/commands/create.js';
import { query } from '../../src/commands/query.js';
import type { Context } from '../../src/commands/context.js';
import { sandboxFixture, type SandboxFixture } from '../helpers/contract-suite.js';
import { runPay, runPayJson, tempDir } from '../helpers/cli.js';

interface ChannelCase {
  id: string;
  currency: string;
  method?: string;
  /** The provider has a real close for an unpaid order (else: closed in the order book only). */
  closesAtChannel: boolean;
}

const CASES: ChannelCase[] = [
  { id: 'alipay', currency: 'CNY', closesAtChannel: true },
  { id: 'wechatpay', currency: 'CNY', closesAtChannel: true },
  { id: 'stripe', currency: 'USD', closesAtChannel: true },
  { id: 'paypal', currency: 'USD', closesAtChannel: false },
  { id: 'unionpay', currency: 'CNY', method: 'app', closesAtChannel: false },
];

async function caught(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

for (const c of CASES) {
  describe(`pay cancel on ${c.id} (simulator)`, () => {
    let fx: SandboxFixture;
    let ctx: Context;
    beforeAll(async () => {
      fx = await sandboxFixture(c.id);
      ctx = fx.context();
    }, 60_000);
    afterAll(async () => fx?.close());

    const newOrder = async () => (await create({ channel: c.id, amount: '12.34', currency: c.currency, subject: 'cancel test', method: c.method }, ctx)).order;

    it('closes an unpaid order with an event; a second cancel changes nothing', async () => {
      const order = await newOrder();
      expect(['pending', 'created']).toContain(order.status);
      const r = await cancel(order.orderNo, ctx);
      expect(r).toMatchObject({ outcome: 'closed', changed: true });
      expect(r.order.status).toBe('closed');
      if (c.closesAtChannel) expect(r.localOnly).toBeUndefined();
      else expect(r.localOnly).toMatch(/order book/);
      const store = await ctx.store();
      const events = await store.listEvents({ orderNo: order.orderNo, type: 'order.status' });
      expect(events.at(-1)?.data).toMatchObject({ to: 'closed', source: 'channel.close' });
      const all = (await store.listEvents({ orderNo: order.orderNo })).length;

      const again = await cancel(order.orderNo, ctx);
      expect(again).toMatchObject({ outcome: 'alreadyClosed', changed: false });
      expect(again.notes.join(' ')).toMatch(/already closed/);
      expect((await store.listEvents({ orderNo: order.orderNo })).length).toBe(all);
    });

    it('a cancel that races a payment reports the real state', async () => {
      const order = await newOrder();
      // The payer pays at the channel; the order book has not heard of it yet.
      await fx.sandbox.pay(c.id, order.orderNo);
      const r = await cancel(order.orderNo, ctx);
      if (c.id === 'paypal') {
        // Approved but not captured: no money has moved; pay abandons it and never captures it.
        expect(r).toMatchObject({ outcome: 'closed' });
        expect(r.localOnly).toMatch(/approved by the payer but not captured/);
        const q = await query(order.orderNo, {}, ctx);
        expect(q.order.status).toBe('closed');
        expect(q.remote?.providerStatus).toBe('APPROVED');
        return;
      }
      expect(r.outcome).toBe('paid');
      expect(r.order.status).toBe('succeeded');
      expect(r.notes.join(' ')).toMatch(/pay refund/);
    });

    it('refuses a paid order with a hint to refund (INVALID_REQUEST, exit 2)', async () => {
      const order = await newOrder();
      await fx.sandbox.pay(c.id, order.orderNo);
      const q = await query(order.orderNo, {}, ctx);
      expect(q.order.status).toBe('succeeded');
      const before = (await (await ctx.store()).listEvents({ orderNo: order.orderNo })).length;
      const err = await caught(cancel(order.orderNo, ctx));
      expect(isPayError(err) && err.code).toBe('INVALID_REQUEST');
      expect(err.exitCode ?? 2).toBe(2);
      expect(err.hint).toMatch(/pay refund/);
      expect((await (await ctx.store()).listEvents({ orderNo: order.orderNo })).length).toBe(before);
    });
  });
}

describe('pay cancel on alipay when the create got no answer (alipay.trade.cancel)', () => {
  let fx: SandboxFixture;
  let ctx: Context;
  beforeAll(async () => {
    fx = await sandboxFixture('alipay');
    ctx = fx.context();
  }, 60_000);
  afterAll(async () => fx?.close());

  /** An order the channel has (the precreate got through) while the order book still says `created`. */
  async function unanswered(): Promise<string> {
    const orderNo = generateId('payment');
    const store = await ctx.store();
    await store.createOrder({ orderNo, kind: 'collect', channel: 'alipay', amountMinor: 1234, currency: 'CNY', subject: 'lost answer', method: 'qr' });
    const ch = await ctx.channel('alipay');
    await ch.adapter.collect!({ orderNo, amountMinor: 1234, currency: 'CNY', subject: 'lost answer', method: 'qr' });
    return orderNo;
  }

  it('cancels an unpaid trade: closed at Alipay, its QR no longer payable', async () => {
    const orderNo = await unanswered();
    const r = await cancel(orderNo, ctx);
    expect(r).toMatchObject({ outcome: 'closed', remote: { providerStatus: 'TRADE_CANCEL_CLOSE' } });
    const log = fx.sandbox.requests('alipay').filter((q) => q.body.includes('alipay.trade.cancel'));
    expect(log.length).toBeGreaterThan(0);
    await expect(fx.sandbox.pay('alipay', orderNo)).rejects.toThrow(/TRADE_CLOSED/);
  });

  it('a trade found paid is refunded by the cancel and recorded as a refund', async () => {
    const orderNo = await unanswered();
    await fx.sandbox.pay('alipay', orderNo);
    const r = await cancel(orderNo, ctx);
    expect(r.outcome).toBe('paid');
    expect(r.reversal).toMatchObject({ status: 'succeeded', amountMinor: 1234 });
    expect(r.order).toMatchObject({ status: 'refunded', refundedMinor: 1234 });
  });

  it('a create that never reached Alipay is closed with nothing to cancel there', async () => {
    const orderNo = generateId('payment');
    await (await ctx.store()).createOrder({ orderNo, kind: 'collect', channel: 'alipay', amountMinor: 500, currency: 'CNY', subject: 'never sent', method: 'qr' });
    const r = await cancel(orderNo, ctx);
    expect(r).toMatchObject({ outcome: 'closed', remote: { providerStatus: 'TRADE_NOT_EXIST' } });
  });

  it('an opened, unpaid trade is closed with alipay.trade.close', async () => {
    const order = (await create({ channel: 'alipay', amount: '3.00', currency: 'CNY', subject: 'opened' }, ctx)).order;
    const qr = String(order.payload?.qrCode);
    expect((await fetch(qr)).status).toBe(200); // the payer scans: the trade now exists at Alipay
    const r = await cancel(order.orderNo, ctx);
    expect(r).toMatchObject({ outcome: 'closed', remote: { providerStatus: 'TRADE_CLOSED' } });
    const closes = fx.sandbox.requests('alipay').filter((q) => q.body.includes('alipay.trade.close'));
    expect(closes.length).toBeGreaterThan(0);
  });
});

describe('pay cancel on paypal: an authorization is voided', () => {
  let fx: SandboxFixture;
  let ctx: Context;
  beforeAll(async () => {
    fx = await sandboxFixture('paypal');
    ctx = fx.context();
  }, 60_000);
  afterAll(async () => fx?.close());

  /** Drives the simulator's AUTHORIZE flow over HTTP (the adapter does not create such orders yet). */
  async function authorizedOrder(orderNo: string): Promise<{ orderId: string; authorizationId: string; call: (method: string, path: string, body?: unknown) => Promise<any> }> {
    const base = fx.sandbox.baseUrl('paypal');
    const { clientId, clientSecret } = fx.sandbox.profile('paypal') as { clientId: string; clientSecret: string };
    const tok = await fetch(`${base}/v1/oauth2/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    }).then((r) => r.json() as Promise<{ access_token: string }>);
    const call = async (method: string, path: string, body?: unknown): Promise<any> => {
      const r = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${tok.access_token}`, 'content-type': 'application/json', prefer: 'return=representation' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return r.status === 204 ? {} : r.json();
    };
    const o = await call('POST', '/v2/checkout/orders', { intent: 'AUTHORIZE', purchase_units: [{ invoice_id: orderNo, custom_id: orderNo, amount: { currency_code: 'USD', value: '20.00' } }] });
    await fx.sandbox.pay('paypal', orderNo);
    const a = await call('POST', `/v2/checkout/orders/${o.id}/authorize`, {});
    expect(a.status).toBe('COMPLETED');
    return { orderId: o.id, authorizationId: a.purchase_units[0].payments.authorizations[0].id, call };
  }

  it('voids the open authorization (POST /v2/payments/authorizations/{id}/void) and closes the order', async () => {
    const orderNo = generateId('payment');
    const { orderId, authorizationId, call } = await authorizedOrder(orderNo);
    const store = await ctx.store();
    await store.createOrder({ orderNo, kind: 'collect', channel: 'paypal', amountMinor: 2000, currency: 'USD', subject: 'authorized' });
    await store.updateOrder(orderNo, { status: 'pending', channelTradeNo: orderId, payload: { paypalAuthorizationId: authorizationId } }, { source: 'test' });
    const r = await cancel(orderNo, ctx);
    expect(r).toMatchObject({ outcome: 'closed', remote: { providerStatus: 'VOIDED/AUTHORIZATION_VOIDED' } });
    expect(r.localOnly).toBeUndefined();
    expect((await call('GET', `/v2/payments/authorizations/${authorizationId}`)).status).toBe('VOIDED');
    expect(fx.sandbox.requests('paypal').some((q) => q.method === 'POST' && q.url === `/v2/payments/authorizations/${authorizationId}/void` && q.status === 200)).toBe(true);
  });

  it('finds the authorization in the order when the payload does not name it', async () => {
    const orderNo = generateId('payment');
    const { orderId, authorizationId, call } = await authorizedOrder(orderNo);
    const store = await ctx.store();
    await store.createOrder({ orderNo, kind: 'collect', channel: 'paypal', amountMinor: 2000, currency: 'USD', subject: 'authorized' });
    await store.updateOrder(orderNo, { status: 'pending', channelTradeNo: orderId }, { source: 'test' });
    expect((await cancel(orderNo, ctx)).outcome).toBe('closed');
    expect((await call('GET', `/v2/payments/authorizations/${authorizationId}`)).status).toBe('VOIDED');
  });
});

describe('pay cancel through the binary (mock channel)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let slow: Record<string, string>;
  let instant: Record<string, string>;
  beforeAll(() => {
    tmp = tempDir('pay-cancel-');
    const base = { PAY_DB: join(tmp.dir, 'pay.db'), XDG_CONFIG_HOME: join(tmp.dir, 'xdg'), XDG_DATA_HOME: join(tmp.dir, 'xdg-data') };
    writeFileSync(join(tmp.dir, 'slow.json'), JSON.stringify({ channels: { mock: { settleAfterMs: 600_000 } } }));
    writeFileSync(join(tmp.dir, 'instant.json'), JSON.stringify({ channels: { mock: { settleAfterMs: 0 } } }));
    writeFileSync(join(tmp.dir, 'quick.json'), JSON.stringify({ channels: { mock: { settleAfterMs: 200 } } }));
    slow = { ...base, PAY_CONFIG: join(tmp.dir, 'slow.json') };
    instant = { ...base, PAY_CONFIG: join(tmp.dir, 'instant.json') };
  });
  afterAll(() => tmp.cleanup());

  it('closes, says so on a second run, refuses a paid order with exit 2, and an unknown one with its code', async () => {
    const created = await runPayJson(['create', '--channel', 'mock', '--amount', '5.00', '--currency', 'CNY'], { env: slow });
    expect(created.code, created.stderr).toBe(0);
    const orderNo = created.json.orderNo;
    const first = await runPayJson(['cancel', orderNo], { env: slow });
    expect(first.code, first.stderr).toBe(0);
    expect(first.json).toMatchObject({ orderNo, status: 'closed', outcome: 'closed', changed: true, amount: '5.00', amountMinor: 500 });
    const second = await runPay(['cancel', orderNo, '--no-color'], { env: slow });
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/already closed; nothing changed/);
    const show = await runPayJson(['orders', 'show', orderNo], { env: slow });
    expect(show.json.events.filter((e: { type: string }) => e.type === 'order.status').map((e: { data: { to: string } }) => e.data.to)).toEqual(['pending', 'closed']);

    const paid = await runPayJson(['create', '--channel', 'mock', '--amount', '5.00', '--currency', 'CNY'], { env: instant });
    expect(paid.json.status).toBe('succeeded');
    const refused = await runPay(['cancel', paid.json.orderNo], { env: instant });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/paid order cannot be cancelled/);
    expect(refused.stderr).toMatch(/pay refund/);

    // Paid at the mock after the create answered pending; the book does not know: exit 1, recorded paid.
    const quick = { ...slow, PAY_CONFIG: join(tmp.dir, 'quick.json') };
    const raced = await runPayJson(['create', '--channel', 'mock', '--amount', '5.00', '--currency', 'CNY'], { env: quick });
    expect(raced.json.status).toBe('pending');
    await new Promise((r) => setTimeout(r, 400));
    const late = await runPayJson(['cancel', raced.json.orderNo], { env: quick });
    expect(late.code).toBe(1);
    expect(late.json).toMatchObject({ status: 'succeeded', outcome: 'paid', changed: true });

    const missing = await runPayJson(['cancel', 'NOSUCHORDER123'], { env: slow });
    expect(missing.json.error).toMatchObject({ code: 'ORDER_NOT_FOUND' });
  }, 60_000);
});
