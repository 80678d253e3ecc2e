/**
 * The PayPal adapter against the PayPal simulator over real loopback HTTP: OAuth2 token caching,
 * the Orders v2 lifecycle (create, approve, capture on query), refunds, payouts, balances, the
 * currency rules, error mapping and faults (nothing lost, never two orders or captures).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateId } from '../../../src/core/ids.js';
import { parseAmount } from '../../../src/core/money.js';
import { caught } from '../../../test/helpers/errors.js';
import { startPaypalHarness, type PaypalHarness } from './harness.js';

let h: PaypalHarness;
beforeAll(async () => {
  h = await startPaypalHarness({ sim: { payoutSettleMs: 600 } });
});
afterEach(() => h.sandbox.clearFaults());
afterAll(async () => {
  await h?.close();
});

const ref = (orderNo: string, channelTradeNo: string | undefined, amountMinor: number, currency: string) => ({ orderNo, channelTradeNo, amountMinor, currency, createdAt: new Date().toISOString() });

describe('PayPal lifecycle', () => {
  it('creates an order with an approve link, captures it on query once approved, refunds part', async () => {
    const a = await h.adapter();
    const orderNo = generateId('payment');
    const c = await a.collect({ orderNo, amountMinor: 1234, currency: 'USD', subject: 'coffee' });
    expect(c.status).toBe('pending');
    expect(c.payload?.redirectUrl).toBe(`${h.baseUrl}/checkoutnow?token=${c.channelTradeNo}`);
    const order = h.sim.orders.get(c.channelTradeNo!)!;
    expect((order.purchase_units as Record<string, unknown>[])[0]).toMatchObject({ invoice_id: orderNo, custom_id: orderNo, amount: { currency_code: 'USD', value: '12.34' } });

    // Not approved yet: the query leaves it pending (the capture attempt is not even made).
    expect((await a.queryCollect(ref(orderNo, c.channelTradeNo, 1234, 'USD'))).status).toBe('pending');
    await h.sandbox.pay('paypal', orderNo);
    const paid = await a.queryCollect(ref(orderNo, c.channelTradeNo, 1234, 'USD'));
    expect(paid).toMatchObject({ status: 'succeeded', amountMinor: 1234, currency: 'USD', providerStatus: 'COMPLETED/COMPLETED' });
    expect(paid.paidAt).toBeDefined();
    // Querying again neither captures twice nor changes the answer.
    expect((await a.queryCollect(ref(orderNo, c.channelTradeNo, 1234, 'USD'))).status).toBe('succeeded');
    expect([...h.sim.captures.values()].filter((x) => x.invoice_id === orderNo)).toHaveLength(1);

    const refundNo = generateId('refund');
    const r = await a.refund({ orderNo, refundNo, channelTradeNo: c.channelTradeNo, amountMinor: 234, totalMinor: 1234, currency: 'USD', reason: 'chipped mug', orderCreatedAt: new Date().toISOString() });
    expect(r).toMatchObject({ status: 'succeeded', providerStatus: 'COMPLETED' });
    const byId = await a.queryRefund({ orderNo, refundNo, channelRefundNo: r.channelRefundNo, channelTradeNo: c.channelTradeNo, amountMinor: 234, totalMinor: 1234, currency: 'USD' });
    expect(byId.status).toBe('succeeded');
    const byOrder = await a.queryRefund({ orderNo, refundNo, channelTradeNo: c.channelTradeNo, amountMinor: 234, totalMinor: 1234, currency: 'USD' });
    expect(byOrder.channelRefundNo).toBe(r.channelRefundNo);
    const over = await caught(a.refund({ orderNo, refundNo: generateId('refund'), channelTradeNo: c.channelTradeNo, amountMinor: 1001, totalMinor: 1234, currency: 'USD', orderCreatedAt: new Date().toISOString() }));
    expect(over).toMatchObject({ code: 'INVALID_REQUEST', providerCode: 'REFUND_AMOUNT_EXCEEDED', exitCode: 2 });
  });

  it('reports a declined instrument at capture as a failed payment', async () => {
    const a = await h.adapter();
    const orderNo = generateId('payment');
    const c = await a.collect({ orderNo, amountMinor: 500, currency: 'EUR', subject: 'x', returnUrl: 'https://shop.example/back' });
    expect(h.sim.orders.get(c.channelTradeNo!)!.status).toBe('PAYER_ACTION_REQUIRED');
    await h.sandbox.pay('paypal', orderNo, 'failed');
    const q = await a.queryCollect(ref(orderNo, c.channelTradeNo, 500, 'EUR'));
    expect(q).toMatchObject({ status: 'failed', failure: { code: 'DECLINED', providerCode: 'INSTRUMENT_DECLINED' } });
  });

  it('with captureOnQuery off, an approved order stays pending', async () => {
    const a = await h.adapter({ captureOnQuery: false });
    const orderNo = generateId('payment');
    const c = await a.collect({ orderNo, amountMinor: 500, currency: 'USD', subject: 'x' });
    await h.sandbox.pay('paypal', orderNo);
    expect(await a.queryCollect(ref(orderNo, c.channelTradeNo, 500, 'USD'))).toMatchObject({ status: 'pending', providerStatus: 'APPROVED' });
  });

  it('pays out to an email; the batch progresses to SUCCESS; balance drops; a failing receiver fails', async () => {
    const a = await h.adapter();
    const before = (await a.balance()).find((b) => b.currency === 'USD')!.availableMinor;
    const orderNo = generateId('payout');
    const p = await a.payout({ orderNo, amountMinor: 2500, currency: 'USD', payee: 'supplier@example.com', payeeName: 'Supplier' });
    expect(p).toMatchObject({ status: 'pending', amountMinor: 2500 });
    expect((await a.balance()).find((b) => b.currency === 'USD')!.availableMinor).toBe(before - 2500);
    await new Promise((r) => setTimeout(r, 750));
    expect(await a.queryPayout(ref(orderNo, p.channelTradeNo, 2500, 'USD'))).toMatchObject({ status: 'succeeded', providerStatus: 'SUCCESS/SUCCESS' });
    const failNo = generateId('payout');
    const f = await a.payout({ orderNo: failNo, amountMinor: 100, currency: 'USD', payee: 'will.fail@example.com' });
    await new Promise((r) => setTimeout(r, 750));
    expect(await a.queryPayout(ref(failNo, f.channelTradeNo, 100, 'USD'))).toMatchObject({ status: 'failed', failure: { providerCode: 'RECEIVER_UNREGISTERED' } });
    const big = await caught(a.payout({ orderNo: generateId('payout'), amountMinor: 200_000_000, currency: 'USD', payee: 'x@example.com' }));
    expect(big).toMatchObject({ code: 'INSUFFICIENT_BALANCE', providerCode: 'INSUFFICIENT_FUNDS' });
  });

  it('caches the OAuth2 token across calls and fetches a new one after a 401', async () => {
    const a = await h.adapter();
    const tokens = () => h.sandbox.requests('paypal').filter((r) => r.url === '/v1/oauth2/token').length;
    const start = tokens();
    await Promise.all([a.balance(), a.balance(), a.balance()]);
    await a.balance();
    expect(tokens() - start).toBe(1);
    h.sim.revokeTokens();
    expect((await a.balance()).length).toBeGreaterThan(0);
    expect(tokens() - start).toBe(2);
  });
});

describe('PayPal currencies', () => {
  it('sends JPY and HUF without decimals, TWD whole, and refuses what PayPal cannot take before any call', async () => {
    const a = await h.adapter();
    for (const [currency, decimal, wire] of [
      ['JPY', '1500', '1500'],
      ['HUF', '2500', '2500'],
      ['TWD', '300.00', '300'],
      ['GBP', '9.99', '9.99'],
    ] as const) {
      const c = await a.collect({ orderNo: generateId('payment'), amountMinor: parseAmount(decimal, currency), currency, subject: 'x' });
      const pu = (h.sim.orders.get(c.channelTradeNo!)!.purchase_units as Record<string, unknown>[])[0];
      expect(pu.amount, currency).toEqual({ currency_code: currency, value: wire });
    }
    const before = h.sandbox.requests('paypal').length;
    expect(await caught(a.collect({ orderNo: generateId('payment'), amountMinor: 10050, currency: 'TWD', subject: 'x' }))).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(await caught(a.collect({ orderNo: generateId('payment'), amountMinor: 12340, currency: 'KWD', subject: 'x' }))).toMatchObject({ code: 'INVALID_REQUEST', message: 'PayPal does not support KWD' });
    expect(h.sandbox.requests('paypal').length).toBe(before);
  });
});

describe('PayPal errors and faults', () => {
  it('bad credentials: invalid_client -> AUTHENTICATION_FAILED, exit 3, secret never shown', async () => {
    const a = await h.adapter({ clientSecret: 'EwrongSecretValue123' });
    const e = await caught(a.balance());
    expect(e).toMatchObject({ code: 'AUTHENTICATION_FAILED', exitCode: 3, providerCode: 'invalid_client', httpStatus: 401 });
    expect(JSON.stringify(e.toJSON())).not.toContain('EwrongSecretValue123');
  });

  it('unknown order -> ORDER_NOT_FOUND; a payout without a batch id -> ORDER_NOT_FOUND with the retry advice', async () => {
    const a = await h.adapter();
    expect(await caught(a.queryCollect(ref('P1', 'NOSUCHORDER000000', 1, 'USD')))).toMatchObject({ code: 'ORDER_NOT_FOUND', providerCode: 'INVALID_RESOURCE_ID' });
    const e = await caught(a.queryPayout(ref('T1', undefined, 100, 'USD')));
    expect(e.code).toBe('ORDER_NOT_FOUND');
    expect(e.hint).toMatch(/same PayPal-Request-Id/);
  });

  it('a create whose answer timed out, retried with the same number, yields one order and one capture', async () => {
    const a = await h.adapter({ timeoutMs: 300 });
    const orderNo = generateId('payment');
    h.sandbox.fault('paypal', { kind: 'delay', delayMs: 1200, match: '^POST /v2/checkout/orders$' });
    const e = await caught(a.collect({ orderNo, amountMinor: 4321, currency: 'USD', subject: 'x' }));
    expect(e).toMatchObject({ code: 'TIMEOUT', exitCode: 3 });
    // Without the order id, the query repeats the create with the same PayPal-Request-Id and
    // finds the order made by the request whose answer was lost.
    const found = await a.queryCollect(ref(orderNo, undefined, 4321, 'USD'));
    expect(found.status).toBe('pending');
    const again = await a.collect({ orderNo, amountMinor: 4321, currency: 'USD', subject: 'x' });
    expect(again.channelTradeNo).toBe(found.channelTradeNo);
    const mine = [...h.sim.orders.values()].filter((o) => (o.purchase_units as Record<string, unknown>[])[0].invoice_id === orderNo);
    expect(mine).toHaveLength(1);
    expect(again.channelTradeNo).toBe(mine[0].id);
    const posts = h.sandbox.requests('paypal').filter((r) => r.method === 'POST' && r.url === '/v2/checkout/orders' && r.body.includes(orderNo));
    expect(posts).toHaveLength(3);
    // The capture, too, survives a lost answer without charging twice.
    await h.sandbox.pay('paypal', orderNo);
    h.sandbox.fault('paypal', { kind: 'delay', delayMs: 1200, match: '/capture$' });
    expect((await caught(a.queryCollect(ref(orderNo, again.channelTradeNo, 4321, 'USD')))).code).toBe('TIMEOUT');
    expect((await a.queryCollect(ref(orderNo, again.channelTradeNo, 4321, 'USD'))).status).toBe('succeeded');
    expect([...h.sim.captures.values()].filter((c) => c.invoice_id === orderNo)).toHaveLength(1);
  });

  it('429 with Retry-After -> RATE_LIMITED after retries; 5xx -> SYSTEM_ERROR; garbage -> CHANNEL_ERROR; then recovers', async () => {
    const a = await h.adapter();
    await a.balance();
    h.sandbox.fault('paypal', { kind: 'status', status: 429, retryAfter: 0, match: '^GET /v1/reporting/balances', times: 3, body: '{"name":"RATE_LIMIT_REACHED","message":"Too many requests. Blocked due to rate limiting."}' });
    expect(await caught(a.balance())).toMatchObject({ code: 'RATE_LIMITED', exitCode: 3 });
    h.sandbox.fault('paypal', { kind: 'status', status: 500, match: '^GET /v1/reporting/balances', body: '{"name":"INTERNAL_SERVER_ERROR","message":"An internal server error occurred."}' });
    expect(await caught(a.balance())).toMatchObject({ code: 'SYSTEM_ERROR', providerCode: 'INTERNAL_SERVER_ERROR' });
    h.sandbox.fault('paypal', { kind: 'malformed', match: '^GET /v1/reporting/balances' });
    expect(await caught(a.balance())).toMatchObject({ code: 'CHANNEL_ERROR' });
    expect((await a.balance()).length).toBeGreaterThan(0);
  });

  it('a reset connection on create is retried with the same PayPal-Request-Id and creates one order', async () => {
    const a = await h.adapter();
    const orderNo = generateId('payment');
    h.sandbox.fault('paypal', { kind: 'reset', match: '^POST /v2/checkout/orders$' });
    const c = await a.collect({ orderNo, amountMinor: 800, currency: 'USD', subject: 'x' });
    expect(c.status).toBe('pending');
    expect([...h.sim.orders.values()].filter((o) => (o.purchase_units as Record<string, unknown>[])[0].invoice_id === orderNo)).toHaveLength(1);
  });
});
