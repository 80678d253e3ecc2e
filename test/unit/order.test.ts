import { describe, expect, it } from 'vitest';
import { PayError } from '../../src/core/errors.js';
import { assertRefundable, nextOrderStatus, nextRefundStatus, refundableMinor, statusAfterRefunds, type Order } from '../../src/core/order.js';

const order = (over: Partial<Order> = {}): Order => ({
  orderNo: 'P20261123000000000ABCDEFGHJKM',
  kind: 'collect',
  channel: 'mock',
  status: 'succeeded',
  amountMinor: 1000,
  currency: 'CNY',
  refundedMinor: 0,
  source: 'cli',
  createdAt: '2026-11-23T00:00:00.000Z',
  updatedAt: '2026-11-23T00:00:00.000Z',
  ...over,
});

describe('order state machine', () => {
  it.each([
    ['created', 'pending', 'pending', true],
    ['created', 'succeeded', 'succeeded', true],
    ['pending', 'succeeded', 'succeeded', true],
    ['pending', 'failed', 'failed', true],
    ['pending', 'closed', 'closed', true],
    ['pending', 'pending', 'pending', false],
    ['succeeded', 'pending', 'succeeded', false], // a paid order never moves back
    ['succeeded', 'failed', 'succeeded', false],
    ['succeeded', 'closed', 'succeeded', false],
    ['failed', 'succeeded', 'failed', false],
    ['closed', 'pending', 'closed', false],
    ['succeeded', 'refunded', 'succeeded', false], // refunded follows from refunds only
    ['refunded', 'succeeded', 'refunded', false],
  ] as const)('%s + report %s -> %s (changed %s)', (from, reported, to, changed) => {
    const r = nextOrderStatus(from, reported);
    expect(r.status).toBe(to);
    expect(r.changed).toBe(changed);
    if (!changed && from !== reported && !(from === 'refunded' && reported === 'succeeded')) expect(r.ignored).toBeTruthy();
  });

  it('moves refunds forward only', () => {
    expect(nextRefundStatus('created', 'pending')).toMatchObject({ status: 'pending', changed: true });
    expect(nextRefundStatus('pending', 'succeeded')).toMatchObject({ status: 'succeeded', changed: true });
    expect(nextRefundStatus('succeeded', 'failed')).toMatchObject({ status: 'succeeded', changed: false });
    expect(nextRefundStatus('failed', 'succeeded').changed).toBe(false);
  });
});

describe('refunds against the paid amount', () => {
  it('counts succeeded and in-flight refunds, not failed ones', () => {
    expect(refundableMinor(order(), [])).toBe(1000);
    expect(refundableMinor(order(), [{ status: 'succeeded', amountMinor: 300 }, { status: 'pending', amountMinor: 200 }, { status: 'failed', amountMinor: 500 }])).toBe(500);
  });

  it('allows up to the remainder and refuses one minor unit more', () => {
    const refunds = [{ status: 'succeeded' as const, amountMinor: 600 }];
    expect(() => assertRefundable(order({ refundedMinor: 600 }), refunds, 400)).not.toThrow();
    let err: unknown;
    try {
      assertRefundable(order({ refundedMinor: 600 }), refunds, 401);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PayError);
    expect((err as PayError).code).toBe('INVALID_REQUEST');
    expect((err as PayError).message).toContain('exceeds what is left');
    expect((err as PayError).details).toEqual({ refundableMinor: 400 });
  });

  it('refuses unpaid orders and payouts', () => {
    expect(() => assertRefundable(order({ status: 'pending' }), [], 1)).toThrow(/only a paid order/);
    expect(() => assertRefundable(order({ status: 'failed' }), [], 1)).toThrow(/only a paid order/);
    expect(() => assertRefundable(order({ kind: 'payout' }), [], 1)).toThrow(/payout/);
  });

  it('becomes refunded exactly at the full amount', () => {
    expect(statusAfterRefunds(order(), 999)).toBe('succeeded');
    expect(statusAfterRefunds(order(), 1000)).toBe('refunded');
    expect(() => statusAfterRefunds(order(), 1001)).toThrow();
  });
});
