/**
 * applyCallback against a real SQLite store, with verdicts from the mock channel's verifier on
 * callbacks it signed: refunds (the order becomes refunded at the full amount), payouts, lookup
 * by trade number, refusals that record nothing, events that concern no order, replays.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawRequest } from '../../src/channel/contract.js';
import { buildCallback, mockCallbacks, type MockEventData, type MockEventType } from '../../channels/mock/callback.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { applyCallback } from '../../src/verify/apply.js';
import { tempDir } from '../helpers/cli.js';

const SECRET = 'whsec_apply_unit_test_only';
let dir = '';
let cleanup = () => {};
let store: SqliteStore;

async function verdictOf(type: MockEventType, data: MockEventData, id?: string): Promise<{ request: RawRequest; verdict: Awaited<ReturnType<typeof mockCallbacks.verify>> }> {
  const now = Date.now();
  const request = buildCallback(SECRET, type, data, { nowMs: now, id });
  const verdict = await mockCallbacks.verify(request, { webhookSecret: SECRET }, { at: now });
  expect(verdict.valid).toBe(true);
  return { request, verdict };
}

async function apply(type: MockEventType, data: MockEventData, id?: string) {
  const { request, verdict } = await verdictOf(type, data, id);
  return applyCallback(store, verdict, request);
}

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('pay-apply-'));
  store = SqliteStore.open(join(dir, 'pay.db'));
  await store.createOrder({ orderNo: 'PAIDORDER001', kind: 'collect', channel: 'mock', amountMinor: 10000, currency: 'CNY', status: 'succeeded', channelTradeNo: 'MTPAID1' });
  await store.createRefund({ refundNo: 'REFUND000001', orderNo: 'PAIDORDER001', amountMinor: 4000 });
  await store.createRefund({ refundNo: 'REFUND000002', orderNo: 'PAIDORDER001', amountMinor: 6000 });
  await store.createOrder({ orderNo: 'PAYOUT000001', kind: 'payout', channel: 'mock', amountMinor: 500, currency: 'JPY', status: 'pending' });
  await store.createOrder({ orderNo: 'BYTRADENO001', kind: 'collect', channel: 'mock', amountMinor: 123, currency: 'KWD', status: 'pending', channelTradeNo: 'MTBYTRADE' });
  await store.createOrder({ orderNo: 'OTHERCHAN001', kind: 'collect', channel: 'stripe', amountMinor: 100, currency: 'USD', status: 'pending' });
});
afterAll(async () => {
  await store.close();
  cleanup();
});

describe('applyCallback', () => {
  it('applies refunds; the order becomes refunded when refunds reach its amount', async () => {
    const first = await apply('refund.succeeded', { orderNo: 'PAIDORDER001', refundNo: 'REFUND000001', amount: '40.00', currency: 'CNY', status: 'succeeded' });
    expect(first).toMatchObject({ outcome: 'applied', from: 'created', to: 'succeeded', refundNo: 'REFUND000001', recorded: true });
    expect((await store.getOrder('PAIDORDER001'))?.status).toBe('succeeded');
    const second = await apply('refund.succeeded', { orderNo: 'PAIDORDER001', refundNo: 'REFUND000002', amount: '60.00', currency: 'CNY', status: 'succeeded' });
    expect(second.outcome).toBe('applied');
    const order = await store.getOrder('PAIDORDER001');
    expect(order).toMatchObject({ status: 'refunded', refundedMinor: 10000 });
  });

  it('refuses a refund callback with the wrong amount or an unknown refund number, recording nothing', async () => {
    await store.createOrder({ orderNo: 'PAIDORDER002', kind: 'collect', channel: 'mock', amountMinor: 1000, currency: 'CNY', status: 'succeeded' });
    await store.createRefund({ refundNo: 'REFUND000003', orderNo: 'PAIDORDER002', amountMinor: 500 });
    const wrong = await apply('refund.succeeded', { orderNo: 'PAIDORDER002', refundNo: 'REFUND000003', amount: '5.01', currency: 'CNY', status: 'succeeded' }, 'evt_refund_wrong');
    expect(wrong).toMatchObject({ outcome: 'mismatch', recorded: false });
    expect(wrong.message).toMatch(/says 5\.01 CNY; refund REFUND000003 is 5\.00 CNY/);
    expect((await store.getRefund('REFUND000003'))?.status).toBe('created');
    expect(await store.getCallback('mock', 'evt_refund_wrong')).toBeUndefined();
    const unknown = await apply('refund.succeeded', { orderNo: 'PAIDORDER002', refundNo: 'NOSUCHREFUND', amount: '5.00', currency: 'CNY', status: 'succeeded' });
    expect(unknown).toMatchObject({ outcome: 'unknown-order', recorded: false });
    const otherOrder = await apply('refund.succeeded', { orderNo: 'PAIDORDER001', refundNo: 'REFUND000003', amount: '5.00', currency: 'CNY', status: 'succeeded' });
    expect(otherOrder.outcome).toBe('mismatch');
    expect(otherOrder.message).toMatch(/is of order PAIDORDER002/);
  });

  it('applies payouts in currencies without minor units', async () => {
    const r = await apply('payout.succeeded', { orderNo: 'PAYOUT000001', amount: '500', currency: 'JPY', status: 'succeeded' });
    expect(r).toMatchObject({ outcome: 'applied', from: 'pending', to: 'succeeded' });
    // A payment callback naming a payout is refused.
    await store.createOrder({ orderNo: 'PAYOUT000002', kind: 'payout', channel: 'mock', amountMinor: 500, currency: 'JPY', status: 'pending' });
    const kind = await apply('payment.succeeded', { orderNo: 'PAYOUT000002', amount: '500', currency: 'JPY', status: 'succeeded' });
    expect(kind.outcome).toBe('mismatch');
    expect(kind.message).toMatch(/is a payout, the callback is about a payment/);
  });

  it('finds an order by trade number when the order number is absent; three-decimal currencies', async () => {
    const r = await apply('payment.succeeded', { orderNo: '', tradeNo: 'MTBYTRADE', amount: '0.123', currency: 'KWD', status: 'succeeded' });
    expect(r).toMatchObject({ outcome: 'applied', orderNo: 'BYTRADENO001', to: 'succeeded' });
  });

  it('refuses a callback for an order of another channel', async () => {
    const r = await apply('payment.succeeded', { orderNo: 'OTHERCHAN001', amount: '1.00', currency: 'USD', status: 'succeeded' });
    expect(r.outcome).toBe('mismatch');
    expect(r.message).toMatch(/belongs to channel stripe/);
    expect((await store.getOrder('OTHERCHAN001'))?.status).toBe('pending');
  });

  it('a stale report is recorded as unchanged; a replay is a duplicate', async () => {
    await store.createOrder({ orderNo: 'STALEORDER01', kind: 'collect', channel: 'mock', amountMinor: 100, currency: 'CNY', status: 'succeeded' });
    const { request, verdict } = await verdictOf('payment.failed', { orderNo: 'STALEORDER01', amount: '1.00', currency: 'CNY', status: 'failed' }, 'evt_stale_1');
    const first = await applyCallback(store, verdict, request);
    expect(first).toMatchObject({ outcome: 'unchanged', recorded: true });
    expect(first.message).toMatch(/stays succeeded: a paid order never moves to failed/);
    const again = await applyCallback(store, verdict, request);
    expect(again).toMatchObject({ outcome: 'duplicate', recorded: false });
    expect((await store.getCallback('mock', 'evt_stale_1'))?.outcome).toMatch(/^unchanged/);
  });

  it('an invalid verdict or an event without an order is not applied', async () => {
    const { request, verdict } = await verdictOf('payment.succeeded', { orderNo: 'STALEORDER01', amount: '1.00', currency: 'CNY', status: 'succeeded' });
    expect(await applyCallback(store, { ...verdict, valid: false }, request)).toMatchObject({ outcome: 'not-applicable', recorded: false });
    expect(await applyCallback(store, { ...verdict, dedupKey: 'evt_other', event: { type: 'ping', kind: 'other' } }, request)).toMatchObject({ outcome: 'not-applicable' });
  });
});
