/**
 * Fidelity of the Stripe simulator, driven by the official `stripe` package (host/port only
 * changed): manual capture and partial capture as Stripe does them, and Stripe's refusals of
 * unknown parameters, bad enum values, bad integers and empty strings, each with `param` set.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateId } from '../../src/core/ids.js';
import { startStripeHarness, type StripeHarness } from '../../channels/stripe/test/harness.js';

let h: StripeHarness;
let sdk: Stripe;

beforeAll(async () => {
  h = await startStripeHarness();
  const url = new URL(h.baseUrl);
  sdk = new Stripe(h.profile.secretKey as string, { host: url.hostname, port: Number(url.port), protocol: 'http', maxNetworkRetries: 0 });
});

afterAll(async () => {
  await h?.close();
});

/** The error the SDK throws for a call, with the fields Stripe sets. */
async function refusal(p: Promise<unknown>): Promise<{ type: string; code?: string; param?: string; message: string; statusCode?: number }> {
  try {
    await p;
  } catch (err) {
    const e = err as { type: string; code?: string; param?: string; message: string; statusCode?: number };
    return { type: e.type, code: e.code, param: e.param, message: e.message, statusCode: e.statusCode };
  }
  throw new Error('the simulator accepted what Stripe refuses');
}

describe('Stripe manual capture', () => {
  it('capture_method=manual authorizes on confirm (requires_capture, nothing booked), and a partial capture releases the rest', async () => {
    const orderNo = generateId('payment');
    const pi = await sdk.paymentIntents.create({
      amount: 5000,
      currency: 'usd',
      capture_method: 'manual',
      allowed_payment_method_types: ['card'],
      payment_method: 'pm_card_visa',
      confirm: true,
      metadata: { order_no: orderNo },
    });
    expect(pi.status).toBe('requires_capture');
    expect(pi.capture_method).toBe('manual');
    expect(pi.amount_capturable).toBe(5000);
    expect(pi.amount_received).toBe(0);
    const held = await sdk.charges.retrieve(pi.latest_charge as string);
    expect(held).toMatchObject({ captured: false, amount_captured: 0, status: 'succeeded', balance_transaction: null });

    // More than was authorized: refused, nothing captured.
    const over = await refusal(sdk.paymentIntents.capture(pi.id, { amount_to_capture: 5001 }));
    expect(over).toMatchObject({ type: 'StripeInvalidRequestError', code: 'amount_too_large', param: 'amount_to_capture', statusCode: 400 });
    // A refund before the capture has nothing to refund.
    expect(await refusal(sdk.refunds.create({ payment_intent: pi.id }))).toMatchObject({ code: 'charge_not_refundable' });

    const captured = await sdk.paymentIntents.capture(pi.id, { amount_to_capture: 3000 });
    expect(captured).toMatchObject({ status: 'succeeded', amount: 5000, amount_received: 3000, amount_capturable: 0 });
    const charge = await sdk.charges.retrieve(pi.latest_charge as string, { expand: ['balance_transaction'] });
    expect(charge).toMatchObject({ captured: true, amount_captured: 3000, amount_refunded: 2000 });
    expect((charge.balance_transaction as Stripe.BalanceTransaction).amount).toBe(3000);

    // The released 20.00 is gone: a second capture and a refund beyond the captured 30.00 are refused.
    expect(await refusal(sdk.paymentIntents.capture(pi.id))).toMatchObject({ code: 'payment_intent_unexpected_state' });
    expect(await refusal(sdk.refunds.create({ payment_intent: pi.id, amount: 3001 }))).toMatchObject({ code: 'amount_too_large' });
    const refund = await sdk.refunds.create({ payment_intent: pi.id, amount: 3000 });
    expect(refund.status).toBe('succeeded');
  });

  it('captures the whole authorization by default; an automatic intent cannot be captured', async () => {
    const pi = await sdk.paymentIntents.create({ amount: 1200, currency: 'eur', capture_method: 'manual', allowed_payment_method_types: ['card'] });
    const confirmed = await sdk.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' });
    expect(confirmed.status).toBe('requires_capture');
    const captured = await sdk.paymentIntents.capture(pi.id);
    expect(captured).toMatchObject({ status: 'succeeded', amount_received: 1200 });

    const auto = await sdk.paymentIntents.create({ amount: 1200, currency: 'eur', allowed_payment_method_types: ['card'], payment_method: 'pm_card_visa', confirm: true });
    expect(auto.status).toBe('succeeded');
    const e = await refusal(sdk.paymentIntents.capture(auto.id));
    expect(e).toMatchObject({ code: 'payment_intent_unexpected_state' });
    expect(e.message).toContain('status of succeeded');
  });

  it('an update applies what it takes (capture_method, amount) while the intent is open, and refuses it after', async () => {
    const pi = await sdk.paymentIntents.create({ amount: 900, currency: 'usd', allowed_payment_method_types: ['card'] });
    const updated = await sdk.paymentIntents.update(pi.id, { capture_method: 'manual', amount: 1100, statement_descriptor_suffix: 'FIDELITY' });
    expect(updated).toMatchObject({ capture_method: 'manual', amount: 1100, statement_descriptor_suffix: 'FIDELITY' });
    const confirmed = await sdk.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' });
    expect(confirmed).toMatchObject({ status: 'requires_capture', amount_capturable: 1100 });
    const late = await refusal(sdk.paymentIntents.update(pi.id, { amount: 1200 }));
    expect(late).toMatchObject({ code: 'payment_intent_unexpected_state', param: 'amount' });
  });

  it('canceling an authorization releases the hold', async () => {
    const pi = await sdk.paymentIntents.create({ amount: 800, currency: 'usd', capture_method: 'manual', allowed_payment_method_types: ['card'], payment_method: 'pm_card_visa', confirm: true });
    const canceled = await sdk.paymentIntents.cancel(pi.id);
    expect(canceled).toMatchObject({ status: 'canceled', amount_capturable: 0 });
    const charge = await sdk.charges.retrieve(pi.latest_charge as string);
    expect(charge).toMatchObject({ refunded: true, amount_refunded: 800 });
  });
});

describe('Stripe parameter validation', () => {
  it('an unknown parameter is parameter_unknown with param set, at the top level, nested, and on GET', async () => {
    const top = await refusal(sdk.paymentIntents.create({ amount: 1000, currency: 'usd', colour: 'red' } as unknown as Stripe.PaymentIntentCreateParams));
    expect(top).toEqual({ type: 'StripeInvalidRequestError', code: 'parameter_unknown', param: 'colour', message: 'Received unknown parameter: colour', statusCode: 400 });
    const nested = await refusal(
      sdk.paymentIntents.create({ amount: 1000, currency: 'usd', automatic_payment_methods: { enabled: true, bogus: 'x' } } as unknown as Stripe.PaymentIntentCreateParams),
    );
    expect(nested).toMatchObject({ code: 'parameter_unknown', param: 'automatic_payment_methods[bogus]' });
    const onGet = await refusal(sdk.refunds.list({ order: 'desc' } as unknown as Stripe.RefundListParams));
    expect(onGet).toMatchObject({ code: 'parameter_unknown', param: 'order' });
    // The legacy name under an endive API version is unknown too (with Stripe's hint).
    const legacy = await refusal(sdk.paymentIntents.create({ amount: 1000, currency: 'usd', payment_method_types: ['card'] } as unknown as Stripe.PaymentIntentCreateParams));
    expect(legacy).toMatchObject({ code: 'parameter_unknown', param: 'payment_method_types' });
  });

  it('an invalid enum value is refused with Stripe\'s message and param, on every endpoint that has one', async () => {
    const capture = await refusal(sdk.paymentIntents.create({ amount: 1000, currency: 'usd', capture_method: 'later' } as unknown as Stripe.PaymentIntentCreateParams));
    expect(capture).toMatchObject({ type: 'StripeInvalidRequestError', param: 'capture_method', message: 'Invalid capture_method: must be one of automatic, automatic_async, or manual', statusCode: 400 });
    const sfu = await refusal(sdk.paymentIntents.create({ amount: 1000, currency: 'usd', setup_future_usage: 'always' } as unknown as Stripe.PaymentIntentCreateParams));
    expect(sfu).toMatchObject({ param: 'setup_future_usage', message: 'Invalid setup_future_usage: must be one of off_session or on_session' });
    const method = await refusal(sdk.payouts.create({ amount: 1000, currency: 'usd', method: 'express' } as unknown as Stripe.PayoutCreateParams));
    expect(method).toMatchObject({ param: 'method', message: 'Invalid method: must be one of standard or instant' });
    const pi = await sdk.paymentIntents.create({ amount: 1000, currency: 'usd', allowed_payment_method_types: ['card'], payment_method: 'pm_card_visa', confirm: true });
    const reason = await refusal(sdk.refunds.create({ payment_intent: pi.id, reason: 'changed_mind' } as unknown as Stripe.RefundCreateParams));
    expect(reason).toMatchObject({ param: 'reason', message: 'Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer' });
    const cancel = await refusal(sdk.paymentIntents.cancel(pi.id, { cancellation_reason: 'bored' } as unknown as Stripe.PaymentIntentCancelParams));
    expect(cancel).toMatchObject({ param: 'cancellation_reason' });
    // Nothing was refunded by the refused refund.
    const charge = await sdk.charges.retrieve(pi.latest_charge as string);
    expect(charge.amount_refunded).toBe(0);
  });

  it('bad integers, empty strings and missing parameters get parameter_invalid_integer, parameter_invalid_empty and parameter_missing', async () => {
    const int = await refusal(sdk.paymentIntents.create({ amount: '10.50', currency: 'usd' } as unknown as Stripe.PaymentIntentCreateParams));
    expect(int).toMatchObject({ code: 'parameter_invalid_integer', param: 'amount', message: 'Invalid integer: 10.50' });
    const empty = await refusal(sdk.paymentIntents.create({ amount: 1000, currency: 'usd', description: '' }));
    expect(empty).toMatchObject({ code: 'parameter_invalid_empty', param: 'description' });
    expect(empty.message).toBe(
      "You passed an empty string for 'description'. We assume empty values are an attempt to unset a parameter; however 'description' cannot be unset. You should remove 'description' from your request or supply a non-empty value.",
    );
    const nestedInt = await refusal(sdk.paymentIntents.capture('pi_whatever', { amount_to_capture: 'all' } as unknown as Stripe.PaymentIntentCaptureParams));
    expect(nestedInt).toMatchObject({ code: 'parameter_invalid_integer', param: 'amount_to_capture' });
    const missing = await refusal(sdk.paymentIntents.create({ amount: 1000 } as unknown as Stripe.PaymentIntentCreateParams));
    expect(missing).toMatchObject({ code: 'parameter_missing', param: 'currency' });
    const email = await refusal(sdk.paymentIntents.create({ amount: 1000, currency: 'usd', receipt_email: 'not-an-address' }));
    expect(email).toMatchObject({ code: 'email_invalid', param: 'receipt_email', message: 'Invalid email address: not-an-address' });
    const nestedMissing = await refusal(sdk.paymentIntents.create({ amount: 1000, currency: 'usd', automatic_payment_methods: { allow_redirects: 'never' } } as unknown as Stripe.PaymentIntentCreateParams));
    expect(nestedMissing).toMatchObject({ code: 'parameter_missing', param: 'automatic_payment_methods[enabled]' });
    // An update may unset a description with an empty string, as on Stripe.
    const pi = await sdk.paymentIntents.create({ amount: 1000, currency: 'usd', description: 'to unset' });
    const updated = await sdk.paymentIntents.update(pi.id, { description: '' });
    expect(updated.id).toBe(pi.id);
  });

  it('expanding a field that is no reference is refused before anything runs', async () => {
    const before = h.sim.paymentIntents.size;
    const create = await refusal(sdk.paymentIntents.create({ amount: 1000, currency: 'usd', expand: ['amount'] }));
    expect(create).toMatchObject({ type: 'StripeInvalidRequestError', param: 'expand', message: 'This property cannot be expanded (amount).' });
    expect(h.sim.paymentIntents.size).toBe(before);
    const list = await refusal(sdk.balanceTransactions.list({ expand: ['source'] }));
    expect(list).toMatchObject({ param: 'expand', message: 'This property cannot be expanded (source).' });
    const ok = await sdk.balanceTransactions.list({ limit: 1, expand: ['data.source'] });
    expect(ok.object).toBe('list');
  });

  it('pay\'s own adapter sends nothing Stripe refuses: collect, query, refund, payout, balance and the day\'s bill', async () => {
    const adapter = await h.adapter();
    const orderNo = generateId('payment');
    const paid = await adapter.collect({ orderNo, amountMinor: 2500, currency: 'USD', subject: 'fidelity', extra: { test_card: 'visa', receipt_email: 'a@example.com' } });
    expect(paid.status).toBe('succeeded');
    const state = await adapter.queryCollect({ orderNo, amountMinor: 2500, currency: 'USD', createdAt: new Date().toISOString() });
    expect(state.status).toBe('succeeded');
    const refund = await adapter.refund({ orderNo, refundNo: generateId('refund'), channelTradeNo: paid.channelTradeNo, amountMinor: 500, totalMinor: 2500, currency: 'USD', reason: 'fidelity', orderCreatedAt: new Date().toISOString() });
    expect(refund.status).toBe('succeeded');
    const payout = await adapter.payout({ orderNo: generateId('payout'), amountMinor: 1000, currency: 'USD', payee: 'default', remark: 'fidelity' });
    expect(['pending', 'succeeded']).toContain(payout.status);
    expect((await adapter.balance()).length).toBeGreaterThan(0);
    const dir = mkdtempSync(join(tmpdir(), 'pay-fidelity-'));
    try {
      const bill = await adapter.downloadBill({ date: new Date().toISOString().slice(0, 10), dir });
      expect(bill.format).toBeTruthy();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // An empty subject or remark is left out, not sent as Stripe's parameter_invalid_empty.
    expect((await adapter.collect({ orderNo: generateId('payment'), amountMinor: 1000, currency: 'USD', subject: '' })).status).toBe('pending');
    expect((await adapter.payout({ orderNo: generateId('payout'), amountMinor: 1000, currency: 'USD', payee: 'default', remark: '' })).status).toBe('pending');
  });
});
