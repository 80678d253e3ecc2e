/**
 * The Stripe adapter against the Stripe simulator over real loopback HTTP: the lifecycle, the
 * currency edges, error mapping and faults (nothing lost, never two charges).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateId } from '../../../src/core/ids.js';
import { parseAmount } from '../../../src/core/money.js';
import { caught } from '../../../test/helpers/errors.js';
import { startStripeHarness, type StripeHarness } from './harness.js';

let h: StripeHarness;
beforeAll(async () => {
  h = await startStripeHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('Stripe adapter lifecycle', () => {
  it('collects with a test card, queries, refunds part and queries the refund', async () => {
    const a = await h.adapter();
    const orderNo = generateId('payment');
    const created = await a.collect({ orderNo, amountMinor: 1234, currency: 'USD', subject: 'coffee', method: 'card', extra: { test_card: 'visa' } });
    expect(created.status).toBe('succeeded');
    expect(created.channelTradeNo).toMatch(/^pi_/);
    expect(created.payload?.clientSecret).toMatch(/_secret_/);
    expect(created.paidAt).toBeDefined();
    const pi = h.sim.paymentIntents.get(created.channelTradeNo!)!;
    expect(pi.amount).toBe(1234);
    expect(pi.currency).toBe('usd');
    expect((pi.metadata as Record<string, string>).order_no).toBe(orderNo);

    const q = await a.queryCollect({ orderNo, channelTradeNo: created.channelTradeNo, amountMinor: 1234, currency: 'USD', createdAt: new Date().toISOString() });
    expect(q).toMatchObject({ status: 'succeeded', amountMinor: 1234, currency: 'USD', providerStatus: 'succeeded' });

    const refundNo = generateId('refund');
    const r = await a.refund({ orderNo, refundNo, channelTradeNo: created.channelTradeNo, amountMinor: 234, totalMinor: 1234, currency: 'USD', orderCreatedAt: new Date().toISOString() });
    expect(r.status).toBe('succeeded');
    expect(r.channelRefundNo).toMatch(/^re_/);
    const byId = await a.queryRefund({ orderNo, refundNo, channelRefundNo: r.channelRefundNo, channelTradeNo: created.channelTradeNo, amountMinor: 234, totalMinor: 1234, currency: 'USD' });
    expect(byId.status).toBe('succeeded');
    // Without the refund id (its answer was lost), it is found by metadata.
    const byMeta = await a.queryRefund({ orderNo, refundNo, channelTradeNo: created.channelTradeNo, amountMinor: 234, totalMinor: 1234, currency: 'USD' });
    expect(byMeta.channelRefundNo).toBe(r.channelRefundNo);
    const charge = h.sim.charges.get(pi.latest_charge as string)!;
    expect(charge.amount_refunded).toBe(234);
  });

  it('leaves a collect without a card pending until the payer pays, then finds it by order number', async () => {
    const a = await h.adapter();
    const orderNo = generateId('payment');
    const created = await a.collect({ orderNo, amountMinor: 5000, currency: 'EUR', subject: 'tea' });
    expect(created.status).toBe('pending');
    await h.sandbox.pay('stripe', orderNo);
    // No channelTradeNo: the search by metadata finds it.
    const q = await a.queryCollect({ orderNo, amountMinor: 5000, currency: 'EUR', createdAt: new Date().toISOString() });
    expect(q.status).toBe('succeeded');
    expect(q.channelTradeNo).toBe(created.channelTradeNo);
  });

  it('reports a declined card as a failed payment, not an error', async () => {
    const a = await h.adapter();
    const orderNo = generateId('payment');
    const r = await a.collect({ orderNo, amountMinor: 999, currency: 'USD', subject: 'x', extra: { test_card: 'chargeDeclinedInsufficientFunds' } });
    expect(r.status).toBe('failed');
    expect(r.failure).toMatchObject({ code: 'DECLINED', providerCode: 'card_declined' });
    expect(r.failure?.message).toContain('insufficient_funds');
    const q = await a.queryCollect({ orderNo, channelTradeNo: r.channelTradeNo, amountMinor: 999, currency: 'USD', createdAt: new Date().toISOString() });
    expect(q.status).toBe('failed');
  });

  it('closes an unpaid collect and reports a paid one as it is', async () => {
    const a = await h.adapter();
    const orderNo = generateId('payment');
    const c = await a.collect({ orderNo, amountMinor: 700, currency: 'USD', subject: 'x' });
    const closed = await a.closeCollect({ orderNo, channelTradeNo: c.channelTradeNo, amountMinor: 700, currency: 'USD', createdAt: new Date().toISOString() });
    expect(closed).toMatchObject({ status: 'closed', providerStatus: 'canceled' });
    const paidNo = generateId('payment');
    const paid = await a.collect({ orderNo: paidNo, amountMinor: 700, currency: 'USD', subject: 'x', extra: { test_card: 'visa' } });
    const still = await a.closeCollect({ orderNo: paidNo, channelTradeNo: paid.channelTradeNo, amountMinor: 700, currency: 'USD', createdAt: new Date().toISOString() });
    expect(still.status).toBe('succeeded');
  });

  it('pays out from the balance; the payout progresses to paid; balance reflects it', async () => {
    const a = await h.adapter();
    const before = (await a.balance()).find((b) => b.currency === 'USD')!;
    const orderNo = generateId('payout');
    const p = await a.payout({ orderNo, amountMinor: 10_000, currency: 'USD', payee: 'ba_1TestAccount' });
    expect(p.status).toBe('pending');
    expect(p.channelTradeNo).toMatch(/^po_/);
    const after = (await a.balance()).find((b) => b.currency === 'USD')!;
    expect(after.availableMinor).toBe(before.availableMinor - 10_000);
    await new Promise((r) => setTimeout(r, 1700));
    const q = await a.queryPayout({ orderNo, channelTradeNo: p.channelTradeNo, amountMinor: 10_000, currency: 'USD', createdAt: new Date().toISOString() });
    expect(q.status).toBe('succeeded');
    const byMeta = await a.queryPayout({ orderNo, amountMinor: 10_000, currency: 'USD', createdAt: new Date().toISOString() });
    expect(byMeta.channelTradeNo).toBe(p.channelTradeNo);
  });

  it('refuses a payout beyond the balance with INSUFFICIENT_BALANCE and a bad destination before any call', async () => {
    const a = await h.adapter();
    const big = await caught(a.payout({ orderNo: generateId('payout'), amountMinor: 10 ** 12, currency: 'USD', payee: 'ba_1TestAccount' }));
    expect(big.code).toBe('INSUFFICIENT_BALANCE');
    expect(big.providerCode).toBe('balance_insufficient');
    const before = h.sandbox.requests('stripe').length;
    const bad = await caught(a.payout({ orderNo: generateId('payout'), amountMinor: 100, currency: 'USD', payee: 'someone@example.com' }));
    expect(bad.code).toBe('INVALID_REQUEST');
    expect(h.sandbox.requests('stripe').length).toBe(before);
  });
});

describe('Stripe API versions', () => {
  it('sends allowed_payment_method_types under the pinned version and payment_method_types under an older one', async () => {
    const pinned = await h.adapter();
    const a = await pinned.collect({ orderNo: generateId('payment'), amountMinor: 100, currency: 'USD', subject: 'x' });
    expect(h.sim.paymentIntents.get(a.channelTradeNo!)!.allowed_payment_method_types).toEqual(['card']);
    const last = h.sandbox.requests('stripe').at(-1)!;
    expect(last.body).toContain('allowed_payment_method_types[]=card');
    const older = await h.adapter({ apiVersion: '2025-03-31.basil' });
    const b = await older.collect({ orderNo: generateId('payment'), amountMinor: 100, currency: 'USD', subject: 'x' });
    expect(h.sim.paymentIntents.get(b.channelTradeNo!)!.payment_method_types).toEqual(['card']);
    expect(h.sandbox.requests('stripe').at(-1)!.body).toContain('payment_method_types[]=card');
    // The pinned version no longer knows the old parameter, as Stripe answers.
    const res = await fetch(`${h.baseUrl}/v1/payment_intents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${String(h.profile.secretKey)}`, 'stripe-version': '2026-10-28.endive', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'amount=100&currency=usd&payment_method_types[]=card',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('parameter_unknown');
  });
});

describe('Stripe currency edges', () => {
  it('sends JPY and KRW as whole units and KWD with three decimals', async () => {
    const a = await h.adapter();
    for (const [currency, decimal, wire] of [
      ['JPY', '1500', 1500],
      ['KRW', '25000', 25000],
      ['KWD', '12.340', 12340],
      ['HUF', '2500', 250000],
    ] as const) {
      const orderNo = generateId('payment');
      const amountMinor = parseAmount(decimal, currency);
      const c = await a.collect({ orderNo, amountMinor, currency, subject: 'edge', extra: { test_card: 'visa' } });
      const pi = h.sim.paymentIntents.get(c.channelTradeNo!)!;
      expect(pi.amount, currency).toBe(wire);
      expect(pi.currency).toBe(currency.toLowerCase());
      const q = await a.queryCollect({ orderNo, channelTradeNo: c.channelTradeNo, amountMinor, currency, createdAt: new Date().toISOString() });
      expect(q.amountMinor, currency).toBe(amountMinor);
    }
  });

  it('refuses what Stripe cannot take before any call', async () => {
    const a = await h.adapter();
    const before = h.sandbox.requests('stripe').length;
    // KWD 12.345: three decimals, but Stripe wants the last one to be 0.
    const kwd = await caught(a.collect({ orderNo: generateId('payment'), amountMinor: 12345, currency: 'KWD', subject: 'x' }));
    expect(kwd.code).toBe('INVALID_REQUEST');
    expect(kwd.message).toContain('0.010');
    // TWD payouts must be whole units.
    const twd = await caught(a.payout({ orderNo: generateId('payout'), amountMinor: 10050, currency: 'TWD', payee: 'ba_1TestAccount' }));
    expect(twd.code).toBe('INVALID_REQUEST');
    expect(h.sandbox.requests('stripe').length).toBe(before);
    // More decimals than the currency has never becomes minor units at all.
    expect(() => parseAmount('12.5', 'JPY')).toThrow(/0/);
  });
});

describe('Stripe errors and faults', () => {
  it('maps a bad key to AUTHENTICATION_FAILED with Stripe\'s 401 shape', async () => {
    const a = await h.adapter({ secretKey: 'sk_test_notTheSandboxKey0000' });
    const e = await caught(a.balance());
    expect(e.code).toBe('AUTHENTICATION_FAILED');
    expect(e.exitCode).toBe(3);
    expect(e.httpStatus).toBe(401);
    expect(e.providerMessage).toMatch(/^Invalid API Key provided: sk_test_\*+0000$/);
    expect(e.message).not.toContain('notTheSandboxKey');
  });

  it('keeps idempotency_error visible when a number is reused with other parameters', async () => {
    const a = await h.adapter();
    const orderNo = generateId('payment');
    await a.collect({ orderNo, amountMinor: 1000, currency: 'USD', subject: 'x' });
    const again = await a.collect({ orderNo, amountMinor: 1000, currency: 'USD', subject: 'x' });
    expect(again.status).toBe('pending');
    const e = await caught(a.collect({ orderNo, amountMinor: 2000, currency: 'USD', subject: 'x' }));
    expect(e.code).toBe('INVALID_REQUEST');
    expect(e.providerCode).toBe('idempotency_error');
    expect(e.hint).toMatch(/same idempotency key/);
  });

  it('a create whose answer timed out, retried with the same number, charges once', async () => {
    const a = await h.adapter({ timeoutMs: 300 });
    const orderNo = generateId('payment');
    h.sandbox.fault('stripe', { kind: 'delay', delayMs: 1500, match: '^POST /v1/payment_intents$' });
    const e = await caught(a.collect({ orderNo, amountMinor: 4321, currency: 'USD', subject: 'x', extra: { test_card: 'visa' } }));
    expect(e.code).toBe('TIMEOUT');
    expect(e.exitCode).toBe(3);
    const retried = await a.collect({ orderNo, amountMinor: 4321, currency: 'USD', subject: 'x', extra: { test_card: 'visa' } });
    expect(retried.status).toBe('succeeded');
    const mine = [...h.sim.paymentIntents.values()].filter((pi) => (pi.metadata as Record<string, string>).order_no === orderNo);
    expect(mine).toHaveLength(1);
    const charges = [...h.sim.charges.values()].filter((c) => (c.metadata as Record<string, string>).order_no === orderNo);
    expect(charges).toHaveLength(1);
    const posts = h.sandbox.requests('stripe').filter((r) => r.method === 'POST' && r.body.includes(orderNo));
    expect(posts.length).toBe(2);
  });

  it('maps 429 (after retries honouring Retry-After) to RATE_LIMITED, 5xx to SYSTEM_ERROR, garbage to CHANNEL_ERROR', async () => {
    const a = await h.adapter();
    h.sandbox.fault('stripe', { kind: 'status', status: 429, retryAfter: 0, match: '^GET /v1/balance', times: 3 });
    const rl = await caught(a.balance());
    expect(rl.code).toBe('RATE_LIMITED');
    h.sandbox.fault('stripe', { kind: 'status', status: 500, match: '^GET /v1/balance', times: 1, body: '{"error":{"type":"api_error","message":"boom"}}' });
    const se = await caught(a.balance());
    expect(se.code).toBe('SYSTEM_ERROR');
    expect(se.providerCode).toBe('api_error');
    h.sandbox.fault('stripe', { kind: 'malformed', match: '^GET /v1/balance', times: 1 });
    const bad = await caught(a.balance());
    expect(bad.code).toBe('CHANNEL_ERROR');
    expect(bad.message).toMatch(/malformed/);
    // And afterwards everything works again.
    expect((await a.balance()).length).toBeGreaterThan(0);
  });
});
